"""The paper's filters (xvr.filtering, Appendix 10): pre-filter, M1sec, tau_act percentiles, exact fast SSIM, pair and source rules."""
import time
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from xvr.core import Trajectory
from xvr.filtering import (action_energy, prefilter, m1sec, motion_thresholds, ssim, to_gray, pair_filter,
                           trajectory_rule, scene_rule, RuleCounter)
from xvr.toy import toy_trajectory, toy_scene


def sk_ssim(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)


def traj_with_actions(i, actions, T=10, fps=5.0):
    return Trajectory(f"ep{i}", {}, np.arange(T) / fps, np.zeros((T, 3)), actions, fps=fps)


# ---------- V(T) pre-filter ----------
def test_action_energy_and_prefilter_bottom_20_percent():
    rng = np.random.default_rng(0)
    scales = rng.permutation(np.arange(1, 21))          # 20 trajectories, distinct energies
    trajs = [traj_with_actions(i, np.full((10, 7), float(s))) for i, s in enumerate(scales)]
    E = [action_energy(t) for t in trajs]
    np.testing.assert_allclose(E, [10 * 7 * s ** 2 for s in scales])
    keep = prefilter(E)
    assert keep.sum() == 16
    dropped = sorted(int(s) for s, k in zip(scales, keep) if not k)
    assert dropped == [1, 2, 3, 4]                     # exactly the bottom 20% by energy


def test_prefilter_rounding_and_nan():
    assert prefilter([3, 1, 2]).tolist() == [True, True, True]              # floor(0.6) = 0 dropped
    assert prefilter([5, 1, 3, 2, 4]).tolist() == [True, False, True, True, True]
    no_act = Trajectory("n", {}, np.arange(4.), np.zeros((4, 2)))
    assert np.isnan(action_energy(no_act))
    k = prefilter([np.nan] + list(range(1, 11)))
    assert k[0] and k.sum() == 9 and not k[1] and not k[2]
    assert prefilter([]).tolist() == []


# ---------- M1sec and tau_act ----------
def test_m1sec_known_trajectory():
    t = np.arange(11.)
    q = Trajectory("q", {}, t / 2, np.c_[t ** 2, np.zeros(11)], fps=2)    # f = 2 steps
    assert m1sec(q) == pytest.approx(10 ** 2 - 8 ** 2)                      # 36, at the end
    q3 = Trajectory("q3", {}, t / 3, np.c_[3 * t, 4 * t], fps=3)            # 5 per step, f = 3
    assert m1sec(q3) == pytest.approx(15.0)
    assert m1sec(Trajectory("r", {}, t / 2.4, np.c_[t, t * 0], fps=2.4)) == pytest.approx(2.0)   # round(2.4) = 2
    short = Trajectory("s", {}, np.arange(3) / 10, np.c_[[0., 1, 3]], fps=10)  # shorter than one second
    assert m1sec(short) == pytest.approx(3.0)
    # only a slice of the state (e.g. end-effector position)
    st = np.c_[t, 100 * t]
    assert m1sec(Trajectory("p", {}, t, st, fps=1), state_dims=slice(0, 1)) == pytest.approx(1.0)


def test_motion_thresholds_percentiles():
    rng = np.random.default_rng(3)
    v = rng.gamma(2., 1., 200)
    th = motion_thresholds(v)
    assert sorted(th["percentiles"]) == list(range(10, 100, 10))
    for p, x in th["percentiles"].items(): assert x == pytest.approx(np.percentile(v, p))
    assert th["tau_act"] == th["percentiles"][80]
    assert sum(v > th["tau_act"]) == pytest.approx(0.2 * len(v), abs=1)
    assert list(th["percentiles"].values()) == sorted(th["percentiles"].values())


# ---------- SSIM ----------
@pytest.mark.parametrize("shape", [(11, 11), (12, 17), (64, 80), (97, 131), (240, 320)])
def test_ssim_matches_skimage(shape):
    rng = np.random.default_rng(shape[0])
    for noise in (3, 30, 120):
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        b = np.clip(a + rng.normal(0, noise, shape), 0, 255).astype(np.uint8)
        assert abs(ssim(a, b) - sk_ssim(a, b)) < 1e-6
    c = np.full(shape, 77, np.uint8)
    assert abs(ssim(c, c) - 1.0) < 1e-12 and abs(ssim(c, a) - sk_ssim(c, a)) < 1e-6


def test_ssim_matches_skimage_on_rendered_rgb_frames():
    ep = toy_trajectory(n_steps=12, seed=4)
    for cam in ep.cameras:
        for t0, t1 in [(0, 5), (3, 11), (7, 7)]:
            a, b = np.asarray(ep.frames[cam][t0]), np.asarray(ep.frames[cam][t1])
            ga, gb = to_gray(a), to_gray(b)
            assert ga.dtype == np.uint8 and ga.shape == a.shape[:2]
            assert abs(ssim(a, b) - sk_ssim(ga, gb)) < 1e-6
    with pytest.raises(ValueError, match="different shapes"): ssim(np.zeros((20, 20), np.uint8), np.zeros((20, 21), np.uint8))


def test_ssim_faster_than_skimage():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (480, 640), dtype=np.uint8); b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    ssim(a, b); sk_ssim(a, b)
    def best(f, n=5):
        ts = []
        for _ in range(n): t = time.perf_counter(); f(a, b); ts.append(time.perf_counter() - t)
        return min(ts)
    assert best(ssim) < best(sk_ssim)


# ---------- frame-pair validation ----------
def test_pair_filter_rules():
    ep = toy_trajectory(n_steps=40, seed=0)
    keep, why, nums = pair_filter(ep, "wrist", 3, 3, tau_act=0.0)
    assert (keep, why) == (False, "small_motion") and nums["state_displacement"] == 0
    ds = float(np.linalg.norm(ep.states[30] - ep.states[5]))
    assert pair_filter(ep, "wrist", 5, 30, tau_act=ds)[1] == "small_motion"            # strict: > tau_act
    keep, why, nums = pair_filter(ep, "wrist", 5, 30, tau_act=ds * 0.999)
    assert nums["ssim"] == pytest.approx(sk_ssim(to_gray(ep.frames["wrist"][5]), to_gray(ep.frames["wrist"][30])), abs=1e-6)
    assert (keep, why) == ((nums["ssim"] <= 0.9), "ok" if nums["ssim"] <= 0.9 else "similar_frames")
    assert nums["tau_act"] == ds * 0.999
    # a static camera whose frames barely change: large motion but similar frames
    f = np.repeat(np.asarray(ep.frames["fix_center"][:1]), 3, axis=0)
    still = Trajectory("still", {"a": f, "b": f, "c": f}, np.arange(3.), np.c_[[0., 5, 10]], np.ones((3, 2)))
    assert pair_filter(still, "a", 0, 2, tau_act=1.0)[:2] == (False, "similar_frames")


def test_pair_filter_without_actions_uses_ssim_08():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)      # SSIM between 0.8 and 0.9
    c = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)                        # unrelated, SSIM ~ 0
    fr = np.stack([a, b, c])
    s_ab = ssim(a, b); assert 0.8 < s_ab <= 0.9, s_ab
    no_act = Trajectory("na", {"x": fr}, np.arange(3.), np.zeros((3, 2)))        # no actions, no motion
    assert pair_filter(no_act, "x", 0, 1, tau_act=1.0)[:2] == (False, "similar_frames")
    assert pair_filter(no_act, "x", 0, 2, tau_act=1.0)[:2] == (True, "ok")
    act = Trajectory("a", {"x": fr}, np.arange(3.), np.c_[[0., 2, 4]], np.ones((3, 2)))
    assert pair_filter(act, "x", 0, 1, tau_act=1.0)[:2] == (True, "ok")         # 0.9 rule with actions
    assert pair_filter(act, "x", 0, 1, tau_act=None)[:2] == (False, "similar_frames")   # tau unknown: SSIM-only 0.8


# ---------- source rules ----------
def test_trajectory_rules_counted():
    ep = toy_trajectory(n_steps=40, seed=0)                      # 4 cameras, 8 s at 5 fps
    rc = RuleCounter()
    assert rc.keep(trajectory_rule(ep, min_duration=5))
    assert not rc.keep(trajectory_rule(ep))                      # 20 s in the paper
    two = Trajectory("two", {k: ep.frames[k] for k in ("fix_left", "wrist")}, ep.timestamps, ep.states)
    assert not rc.keep(trajectory_rule(two, min_duration=0))
    bad = Trajectory("bad", {k: ep.frames[k] for k in ep.cameras}, ep.timestamps, ep.states)
    bad.frames["wrist"] = np.asarray(ep.frames["wrist"])[:10]   # a camera that drops out (the constructor refuses this)
    assert not rc.keep(trajectory_rule(bad, min_duration=0))
    assert not rc.keep(trajectory_rule(ep, min_duration=0, min_motion=1e6))
    assert rc == {"ok": 1, "too_short": 1, "too_few_cameras": 1, "inconsistent_camera_ids": 1, "too_little_motion": 1}


def test_scene_rules():
    sc = toy_scene(n_views=4, height=60, width=80, seed=0)
    assert scene_rule(sc, min_points=10) == "ok"
    assert scene_rule(sc) == "sparse_point_cloud"               # 1M points in the paper
    from xvr.core import Scene
    assert scene_rule(Scene(sc.id, sc.views[:2], sc.points, sc.colors), min_points=10) == "too_few_views"
    from dataclasses import replace
    nodepth = [replace(v, depth=None) for v in sc.views]
    assert scene_rule(Scene(sc.id, nodepth, sc.points, sc.colors), min_points=10) == "no_valid_depth"
