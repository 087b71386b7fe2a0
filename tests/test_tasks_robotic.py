"""The four robotic-domain generators (temporal, directional view, cross-scenario, language) on toy episodes:
invariants over many seeds, determinism, rejections, answer balance, answers re-derived independently from meta."""
import json
import numpy as np
import pytest

from xvr.core import Camera, Trajectory, Sample
from xvr.filtering import ssim, to_gray, pair_filter
from xvr.tasks.common import Reject, TASK_INFO, IMAGE_TOKEN
from xvr.tasks.temporal import temporal_verification
from xvr.tasks.dirview import directional_view_localization, lateral_side
from xvr.tasks.cross_scenario import cross_scenario_localization
from xvr.tasks.language import language_conditioned_localization, camera_kind, PHRASES
from xvr.toy import toy_trajectory
from xvr.validate import check_sample

N = 60


@pytest.fixture(scope="module")
def pool(): return [toy_trajectory(n_steps=30, seed=s) for s in range(3)]


def gen(task, traj, seed, pool):
    rng = np.random.default_rng(seed)
    if task == "temporal_verification": return temporal_verification(traj, rng, pool, tau_act=0.05)
    return {"directional_view_localization": directional_view_localization, "cross_scenario_localization": cross_scenario_localization,
            "language_conditioned_localization": language_conditioned_localization}[task](traj, rng, pool)


def samples(task, pool, n=N, allowed=("similar_frames", "small_motion")):
    "(seed, traj, sample) for seeds 0..n-1 that give a sample; the temporal filters may reject a few, counted."
    out, rej = [], {}
    for seed in range(n):
        traj = pool[seed % 3]
        try: out.append((seed, traj, gen(task, traj, seed, pool)))
        except Reject as e: rej[e.reason] = rej.get(e.reason, 0) + 1
    assert set(rej) <= set(allowed) and len(out) >= 0.8 * n, rej
    return out


TASKS = ["temporal_verification", "directional_view_localization", "cross_scenario_localization", "language_conditioned_localization"]


def check_invariants(s: Sample, task, traj):
    assert s.task == task and (s.category, s.domain) == (TASK_INFO[task]["category"], TASK_INFO[task]["domain"]) == (s.category, "robotic")
    assert s.source == traj.source and s.scene == traj.id and s.id == f"{task}/{traj.source}/{traj.id}/0"
    assert s.images == [] and len(s.pixels) == len(s.meta["views"]) == s.question.count(IMAGE_TOKEN) >= 3
    assert all(p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3 for p in s.pixels)
    assert s.answer in s.options and all(o.isdigit() and 1 <= int(o) <= len(s.pixels) for o in s.options)
    assert s.options[s.meta["answer_index"]] == s.answer
    for k, v in enumerate(s.meta["views"]):
        assert set(v) >= {"camera", "timestamp", "role", "camera_id", "episode", "step", "markers"}
        assert v["role"] in ("reference", "target", "candidate", "scenario1", "scenario2")
        # the image is exactly that episode's frame of that camera at that step
        src = traj if v["episode"] == traj.id else None
        if src is not None:
            np.testing.assert_array_equal(s.pixels[k], np.asarray(src.frames[v["camera_id"]][v["step"]]))
            cam = Camera.from_dict(v["camera"])
            np.testing.assert_allclose(cam.cam_from_world, traj.poses[v["camera_id"]][v["step"]], atol=1e-9)
            assert v["timestamp"] == pytest.approx(float(traj.timestamps[v["step"]]))
    json.dumps(s.to_dict())                                   # meta is JSON-serialisable
    assert check_sample(s) == []                              # the independent validator agrees


@pytest.mark.parametrize("task", TASKS)
def test_invariants_many_seeds(task, pool):
    for seed, traj, s in samples(task, pool): check_invariants(s, task, traj)


@pytest.mark.parametrize("task", TASKS)
def test_deterministic(task, pool):
    for seed in (1, 7, 123):
        a, b = gen(task, pool[0], seed, pool), gen(task, pool[0], seed, pool)
        assert a.to_dict() == b.to_dict()
        assert all(np.array_equal(x, y) for x, y in zip(a.pixels, b.pixels))
    qs = {x.question for _, _, x in samples(task, pool, 30)}
    assert len(qs) >= 3                                       # several paraphrases / contents


@pytest.mark.parametrize("task", TASKS)
def test_reject_two_cameras(task, pool):
    ep = pool[0]
    two = Trajectory("two", {k: ep.frames[k] for k in ("fix_left", "wrist")}, ep.timestamps, ep.states, ep.actions,
                     fps=ep.fps, descriptions=ep.descriptions, intrinsics={k: ep.intrinsics[k] for k in ("fix_left", "wrist")},
                     poses={k: ep.poses[k] for k in ("fix_left", "wrist")})
    with pytest.raises(Reject) as e: gen(task, two, 0, [two] + pool[1:])
    assert e.value.reason == "too_few_cameras"


@pytest.mark.parametrize("task", TASKS)
def test_answer_positions_balanced(task, pool):
    counts, fair = {}, {}
    for seed, traj, s in samples(task, pool, 150):
        counts[s.meta["answer_index"]] = counts.get(s.meta["answer_index"], 0) + 1
        for k in range(len(s.options)): fair[k] = fair.get(k, 0) + 1 / len(s.options)   # 3 or 4 images (temporal)
    assert set(counts) == set(fair), (counts, fair)
    assert all(counts[k] <= 1.5 * fair[k] for k in counts), (counts, fair)


# ---------- task-specific checks, answers re-derived from meta / pixels ----------
def test_temporal_odd_frame_passes_filters(pool):
    for seed, traj, s in samples("temporal_verification", pool):
        V = s.meta["views"]; steps = [v["step"] for v in V]
        odd = [k for k, t in enumerate(steps) if steps.count(t) == 1]
        assert odd == [int(s.answer) - 1] and len(set(steps)) == 2
        assert len({v["camera_id"] for v in V}) == len(V)
        assert V[odd[0]]["role"] == "target" and all(v["role"] == "reference" for k, v in enumerate(V) if k != odd[0])
        base = [t for t in steps if t != steps[odd[0]]][0]
        cam = V[odd[0]]["camera_id"]
        sim = ssim(np.asarray(traj.frames[cam][base]), np.asarray(traj.frames[cam][steps[odd[0]]]))
        assert s.meta["ssim"] == pytest.approx(sim, abs=1e-9) and sim <= 0.9
        ds = np.linalg.norm(traj.states[base] - traj.states[steps[odd[0]]])
        assert s.meta["state_displacement"] == pytest.approx(ds) and ds > 0.05 and s.meta["tau_act"] == 0.05
        assert abs(base - steps[odd[0]]) >= round(traj.fps)       # at least min_gap = 1 s apart
        for k in range(len(V)): assert f"Image {k + 1} ({V[k]['camera_id']}): {traj.descriptions[V[k]['camera_id']]}" in s.question


def test_temporal_without_tau_uses_ssim_08(pool):
    got = 0
    for seed in range(20):
        try: s = temporal_verification(pool[0], np.random.default_rng(seed), pool)
        except Reject as e: assert e.reason == "similar_frames"; continue
        got += 1
        assert s.meta["tau_act"] is None and s.meta["ssim"] <= 0.8
    assert got >= 5                        # fixed toy cameras change little: the 0.8 rule rejects often


def test_temporal_rejects_static_episode(pool):
    ep = pool[0]
    still = {k: np.repeat(np.asarray(ep.frames[k][:1]), len(ep), axis=0) for k in ep.cameras}
    st = Trajectory("still", still, ep.timestamps, np.zeros_like(ep.states), ep.actions, fps=ep.fps)
    with pytest.raises(Reject) as e: temporal_verification(st, np.random.default_rng(0), tau_act=0.05)
    assert e.value.reason == "small_motion"
    with pytest.raises(Reject) as e: temporal_verification(st, np.random.default_rng(0))
    assert e.value.reason == "similar_frames"


def centre_x_in_ref(ref: Camera, other: Camera):
    "x coordinate (and distance) of other's centre in ref's camera frame, computed here from scratch."
    p = ref.R @ other.center + ref.t
    return p[0], np.linalg.norm(p)


def test_dirview_answer_from_poses(pool):
    for seed in range(N):
        traj = pool[seed % 3]
        s = gen("directional_view_localization", traj, seed, pool)
        V = s.meta["views"]; ref = Camera.from_dict(V[0]["camera"])
        assert V[0]["role"] == "reference" and [v["role"] for v in V[1:]] == ["candidate", "candidate"]
        assert s.options == ["2", "3"] and s.meta["relation"] in ("left", "right") and s.meta["relation"] in s.question
        for k in (1, 2):
            x, d = centre_x_in_ref(ref, Camera.from_dict(V[k]["camera"]))
            side = "left" if x < 0 else "right"
            assert abs(x) >= 0.3 * d                               # clearly to one side
            assert (side == s.meta["relation"]) == (k == int(s.answer) - 1)
        assert "wrist" not in {v["camera_id"] for v in V}         # moving cameras have no fixed side
        assert len({v["step"] for v in V}) == 1


def test_dirview_not_decided_by_names(pool):
    "Renaming cameras misleadingly does not change the answer: it comes from poses."
    ep = pool[0]
    ren = {"fix_left": "fix_right", "fix_right": "fix_left", "fix_center": "fix_center", "wrist": "wrist"}
    sw = Trajectory("swapped", {ren[k]: v for k, v in ep.frames.items()}, ep.timestamps, ep.states, ep.actions, fps=ep.fps,
                    intrinsics={ren[k]: v for k, v in ep.intrinsics.items()}, poses={ren[k]: v for k, v in ep.poses.items()})
    for seed in range(20):
        s = directional_view_localization(sw, np.random.default_rng(seed))
        a = s.meta["views"][int(s.answer) - 1]["camera_id"]
        # the camera called "fix_left" is physically on the right
        assert s.meta["views"][0]["camera_id"] == "fix_center"
        assert a == ("fix_right" if s.meta["relation"] == "left" else "fix_left")


def test_dirview_uncalibrated_and_layout(pool):
    ep = pool[0]
    bare = Trajectory("bare", dict(ep.frames), ep.timestamps, ep.states, ep.actions, fps=ep.fps, descriptions=ep.descriptions)
    with pytest.raises(Reject) as e: directional_view_localization(bare, np.random.default_rng(0))
    assert e.value.reason == "uncalibrated"
    lay = Trajectory("lay", dict(ep.frames), ep.timestamps, ep.states, ep.actions, fps=ep.fps, descriptions=ep.descriptions,
                     meta={"camera_layout": {"fix_left": "left", "fix_center": "center", "fix_right": "right"}})
    for seed in range(10):
        s = directional_view_localization(lay, np.random.default_rng(seed))
        V = s.meta["views"]
        assert V[0]["camera_id"] == "fix_center" and V[0]["camera"] is None and s.meta["decided_by"] == "layout"
        assert check_sample(s) == []
        assert V[int(s.answer) - 1]["camera_id"] == "fix_" + s.meta["relation"]


def test_cross_scenario_answer(pool):
    for seed in range(N):
        traj = pool[seed % 3]
        s = gen("cross_scenario_localization", traj, seed, pool)
        V = s.meta["views"]
        assert [v["role"] for v in V] == ["scenario1"] * 3 + ["scenario2"] * 3
        assert {v["episode"] for v in V[:3]} == {traj.id} and len({v["episode"] for v in V[3:]}) == 1
        assert V[3]["episode"] != traj.id and V[3]["episode"] == s.meta["other_episode"]
        assert sorted(v["camera_id"] for v in V[:3]) == sorted(v["camera_id"] for v in V[3:])
        q = V[s.meta["query_image"] - 1]; a = V[int(s.answer) - 1]
        assert q["camera_id"] == a["camera_id"] and a["role"] == "scenario2" and s.options == ["4", "5", "6"]
        other = next(o for o in pool if o.id == V[3]["episode"])
        for v, p in zip(V[3:], s.pixels[3:]): np.testing.assert_array_equal(p, np.asarray(other.frames[v["camera_id"]][v["step"]]))
        s2_text = s.question.split("Scenario 2:")[-1]
        assert not any(f"({v['camera_id']})" in s2_text for v in V[3:])   # scenario-2 images are unnamed


def test_cross_scenario_needs_other_episode(pool):
    with pytest.raises(Reject) as e: cross_scenario_localization(pool[0], np.random.default_rng(0), pool[:1])
    assert e.value.reason == "no_other_scenario"
    with pytest.raises(Reject): cross_scenario_localization(pool[0], np.random.default_rng(0), ())


def test_language_answer(pool):
    for seed in range(N):
        traj = pool[seed % 3]
        s = gen("language_conditioned_localization", traj, seed, pool)
        V = s.meta["views"]; a = V[int(s.answer) - 1]; o = [v for k, v in enumerate(V[1:], 1) if k != int(s.answer) - 1][0]
        assert a["camera_id"] == s.meta["camera"] and s.meta["description"] in s.question
        assert s.meta["description"] in PHRASES.get(camera_kind(a["camera_id"]), []) + [traj.descriptions.get(a["camera_id"])]
        assert camera_kind(o["camera_id"]) != camera_kind(a["camera_id"])  # the description names exactly one candidate
        assert V[0]["role"] == "reference" and camera_kind(V[0]["camera_id"]) in ("center", "high")


def test_language_phrase_table_covers_common_ids():
    kinds = {c: camera_kind(c) for c in ["fix_left", "fix_center", "fix_right", "wrist", "ego_left", "cam_high", "cam_left_wrist",
                                         "cam_right_wrist", "exterior_image_2_left", "image_top", "hand_camera"]}
    assert kinds == {"fix_left": "left", "fix_center": "center", "fix_right": "right", "wrist": "wrist", "ego_left": "left",
                     "cam_high": "high", "cam_left_wrist": "left_wrist", "cam_right_wrist": "right_wrist",
                     "exterior_image_2_left": "left", "image_top": "high", "hand_camera": "wrist"}
    assert all(len(PHRASES[k]) >= 2 for k in set(kinds.values()))


def test_language_rejects_without_centre(pool):
    ep = pool[0]
    names = {"fix_left": "cam_a", "fix_center": "cam_b", "fix_right": "cam_c", "wrist": "cam_d"}
    t = Trajectory("anon", {names[k]: v for k, v in ep.frames.items()}, ep.timestamps, ep.states, ep.actions, fps=ep.fps)
    with pytest.raises(Reject) as e: language_conditioned_localization(t, np.random.default_rng(0))
    assert e.value.reason == "no_center_camera"
