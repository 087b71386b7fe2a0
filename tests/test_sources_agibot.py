"""AgiBot-World loader on fixtures in the raw release layout: AV1 videos, proprioception, calibration, depth, counted
rules, bad files, and the robotic task generators running on the loaded episodes."""
import json
from collections import Counter

import numpy as np
import pytest

from xvr.core import DataError
from xvr.sources.agibot import (write_agibot_fixture, load_agibot_episode, iter_agibot, read_proprio, read_extrinsics,
                                AGIBOT_CAMERAS, episode_paths)
from xvr.tasks.common import Reject, task_generator
from xvr.validate import check_sample
from xvr.video import video_info, write_video

ROBOTIC = ["temporal_verification", "directional_view_localization", "cross_scenario_localization", "language_conditioned_localization"]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("agibot") / "AgiBotWorld-Alpha"
    write_agibot_fixture(root, task_id=327, episode_ids=(648642, 648643), n_frames=90, height=120, width=160)
    trajs = list(iter_agibot(root, progress=False, min_duration=2.0, stride=3))
    return root, trajs


def test_episodes_load(release):
    root, trajs = release
    assert [t.id for t in trajs] == ["agibot_327_648642", "agibot_327_648643"]
    t = trajs[0]
    assert t.cameras == ["head", "hand_left", "hand_right"] and t.fps == 10 and len(t) == 30 and t.duration >= 2.9
    assert t.states.shape == (30, 20) and t.actions.shape == (30, 22)
    assert np.asarray(t.frames["head"]).shape == (30, 120, 160, 3)
    assert t.descriptions["head"] == AGIBOT_CAMERAS["head"][1]
    assert t.meta["camera_layout"] == {"head": "center", "hand_left": "left", "hand_right": "right"}
    assert t.camera("head", 5) is not None and t.camera("hand_left", 5) is None
    assert np.asarray(t.meta["end_position"]).shape == (30, 6)


def test_frames_follow_the_video(release):
    root, trajs = release
    v = video_info(episode_paths(root, 327, 648642)["videos"] / "hand_left_color.mp4")
    assert (v.codec, v.fps, v.n_frames, v.height, v.width) == ("av1", 30.0, 90, 120, 160)
    from xvr.toy import toy_trajectory
    truth = toy_trajectory(n_steps=90, fps=30, height=30, width=40, seed=0, cameras=("fix_center", "fix_left"))
    t = trajs[0]
    for k in (0, 10, 29):
        big = np.repeat(np.repeat(truth.frames["fix_left"][3 * k], 4, 0), 4, 1).astype(float)
        assert np.abs(np.asarray(t.frames["hand_left"][k], float) - big).mean() < 4, k      # AV1 is lossy
    assert np.abs(np.asarray(t.frames["hand_left"][10], float) - np.asarray(t.frames["hand_left"][0], float)).mean() > 1


@pytest.mark.parametrize("task", ROBOTIC)
def test_robotic_tasks_run_on_agibot(release, task):
    _, trajs = release
    gen, got, rejects = task_generator(task), [], Counter()
    for k in range(60):
        kw = dict(pool=trajs) | (dict(tau_act=None) if task == "temporal_verification" else {})
        try: got.append(gen(trajs[k % 2], np.random.default_rng(k), **kw))
        except Reject as e: rejects[e.reason] += 1
        if len(got) >= 2: break
    assert got, f"{task}: only rejects {dict(rejects)}"
    for s in got:
        assert s.source == "agibot" and check_sample(s) == [], check_sample(s)


def test_rules_counted(release):
    root, _ = release
    c = Counter()
    assert list(iter_agibot(root, counts=c, progress=False)) == [] and c == Counter(too_short=2)
    c = Counter()
    assert list(iter_agibot(root, counts=c, progress=False, min_duration=1.0, min_motion=100.0)) == [] and c == Counter(too_little_motion=2)
    c = Counter()
    assert len(list(iter_agibot(root, counts=c, progress=False, min_duration=1.0, cameras=("head", "hand_left")))) == 0 and c == Counter(too_few_cameras=2)


def test_depth_and_calibration(release):
    root, _ = release
    t = load_agibot_episode(root, 327, 648642, depth=True, stride=10)
    assert t.depth["head"].shape == (9, 120, 160) and t.depth["head"].dtype == np.float32
    assert 0.2 < np.median(t.depth["head"][0][t.depth["head"][0] > 0]) < 3
    c2w = read_extrinsics(episode_paths(root, 327, 648642)["extrinsics"])
    assert c2w.shape == (90, 4, 4) and np.allclose(np.linalg.inv(c2w[10]), t.poses["head"][1], atol=1e-9)


def test_bad_files(release, tmp_path):
    import shutil
    root, _ = release
    r = tmp_path / "rel"; shutil.copytree(root, r)
    p = episode_paths(r, 327, 648643)
    import h5py
    with h5py.File(p["proprio"], "a") as f: del f["state/waist/position"]
    with pytest.raises(DataError, match=r"proprio_stats.h5: missing datasets \['state/waist/position'\]"): read_proprio(p["proprio"])
    p["proprio"].write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"proprio_stats.h5: not a readable HDF5 file"): load_agibot_episode(r, 327, 648643)
    p = episode_paths(r, 327, 648642)
    p["extrinsics"].write_text(json.dumps([{"rotation": 1}]))
    with pytest.raises(DataError, match=r"head_extrinsic_params_aligned.json: cannot read extrinsics"): load_agibot_episode(r, 327, 648642)
    (r / "task_info" / "task_327.json").write_text("{")
    with pytest.raises(DataError, match=r"task_327.json: invalid JSON"): list(iter_agibot(r, progress=False))
    with pytest.raises(DataError, match="download AgiBot-World from"): list(iter_agibot(tmp_path / "none", progress=False))


def test_not_downloaded_episodes_are_counted(release, tmp_path):
    import shutil
    root, _ = release
    r = tmp_path / "rel"; shutil.copytree(root, r); shutil.rmtree(r / "observations" / "327" / "648643")
    c = Counter(); got = list(iter_agibot(r, counts=c, progress=False, min_duration=1.0))
    assert len(got) == 1 and c == Counter(ok=1, not_downloaded=1)


def test_frame_count_mismatch(release, tmp_path):
    import shutil
    root, _ = release
    r = tmp_path / "rel"; shutil.copytree(root, r)
    write_video(episode_paths(r, 327, 648642)["videos"] / "head_color.mp4", np.zeros((30, 120, 160, 3), np.uint8))
    with pytest.raises(DataError, match=r"videos have 10 frames \(stride 3\) but proprio_stats has 30"): load_agibot_episode(r, 327, 648642, stride=3)


def test_cut_av1_video_is_a_counted_bad_file(release, tmp_path, caplog):
    "An AV1 video cut short (a partial download) names itself and its episode is skipped and counted, not misread."
    import shutil
    root, _ = release
    r = tmp_path / "rel"
    shutil.copytree(root, r)
    v = episode_paths(r, 327, 648643)["videos"] / "head_color.mp4"
    v.write_bytes(v.read_bytes()[: v.stat().st_size // 2])
    with pytest.raises(DataError, match=r"648643/videos/head_color.mp4: cannot open video: .*MP4 cut short"):
        load_agibot_episode(r, 327, 648643)
    c = Counter()
    got = list(iter_agibot(r, counts=c, progress=False, min_duration=1.0))
    assert [t.id for t in got] == ["agibot_327_648642"] and c == Counter(ok=1, bad_file=1)
    assert any("head_color.mp4" in m for m in caplog.messages)
