"""Integration tests of the simulated source and `xvr_render` (MuJoCo offscreen through EGL)."""
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pytest

from xvr.sources.sim import general_scene, robot_episode, load_sim
from xvr.projection import backproject, visible, on_surface

SMALL = ["--scenes", "2", "--episodes", "2", "--views", "4", "--height", "60", "--width", "80",
         "--robot-height", "48", "--robot-width", "64", "--duration", "2", "--fps", "5"]


def cli(*args):
    return subprocess.run([sys.executable, "-c", "from xvr.sources.sim import xvr_render_cli; xvr_render_cli()", *args],
                          capture_output=True, text=True, timeout=600)


def test_help():
    r = cli("--help")
    assert r.returncode == 0 and "--scenes" in r.stdout


@pytest.mark.parametrize("bad", [["--views", "2"], ["--fps", "0"], ["--height", "-1"]])
def test_bad_arguments_exit_with_one_line_reason(tmp_path, bad):
    r = cli("--out", str(tmp_path), *bad)
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1


def test_render_resume_and_determinism(tmp_path):
    r = cli("--out", str(tmp_path / "a"), *SMALL)
    assert r.returncode == 0, r.stderr
    assert "views/s" in r.stdout
    r2 = cli("--out", str(tmp_path / "a"), *SMALL)
    assert "4 already there" in r2.stdout
    # a killed run leaves no partial item: simulate one by removing an item, then resume
    import shutil; shutil.rmtree(tmp_path / "a" / "robotic" / "00001")
    assert "3 already there" in cli("--out", str(tmp_path / "a"), *SMALL).stdout
    r3 = cli("--out", str(tmp_path / "b"), *SMALL)
    for dom in ("general", "robotic"):
        files = sorted(f for ext in ("*.png", "*.npy") for f in (tmp_path / "a" / dom).rglob(ext))
        assert any(f.suffix == ".npy" for f in files), dom           # the uncompressed storage, by default
        for fa in files:
            fb = tmp_path / "b" / fa.relative_to(tmp_path / "a")
            assert fa.read_bytes() == fb.read_bytes(), f"{fa} differs between identical runs"
    eps = list(load_sim(tmp_path / "a", "robotic"))
    assert [e.states.shape for e in eps] == [(10, 15)] * 2
    assert all(set(e.cameras) == {"fix_left", "fix_center", "fix_right", "wrist"} for e in eps)


def test_scene_depth_consistent_with_cameras():
    scene = general_scene(5, seed=1, n_views=8, height=120, width=160)
    v0 = scene.views[0]
    P0 = backproject(v0.depth, v0.camera, stride=2)
    checked = 0
    for v in scene.views[1:]:
        vis = visible(P0, v, tol=0.005, margin=2)
        if vis.sum() < 50: continue
        assert on_surface(P0[vis], v).mean() > 0.98
        checked += 1
    assert checked >= 3
    # the fused cloud re-projects onto the surfaces of every view
    for v in scene.views:
        vis = visible(scene.points, v, tol=0.01, margin=2)
        assert on_surface(scene.points[vis], v, tol=0.006).mean() > 0.95


def test_episode_shapes_and_seed():
    a = robot_episode(1, seed=3, duration=2, fps=5, height=48, width=64)
    b = robot_episode(1, seed=3, duration=2, fps=5, height=48, width=64)
    assert a.states.shape == (10, 15) and a.actions.shape == (10, 7) and len(a.timestamps) == 10
    assert all(a.poses[c].shape == (10, 4, 4) for c in a.cameras)
    for c in a.cameras: assert np.array_equal(np.asarray(a.frames[c]), np.asarray(b.frames[c]))
    assert a.embodiment != robot_episode(0, seed=3, duration=2, fps=5, height=48, width=64).embodiment


def test_missing_robosuite_is_a_clear_error(monkeypatch):
    import importlib.util
    from xvr.core import DataError
    from xvr.sources import sim
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"pip install --no-deps robosuite==1.5.2"):
        sim.robosuite_assets()


def test_general_samples_mark_objects_not_the_table():
    "Point, directional and spatial samples on a sim scene mark object points; the support share stays near 20%."
    from xvr.tasks.common import Reject, point_kinds
    from xvr.tasks.point import point_correspondence
    from xvr.tasks.directional import directional_correspondence
    from xvr.tasks.spatial import spatial_verification
    scene = general_scene(0, seed=2, n_views=6, height=96, width=128)
    obj, sup = point_kinds(scene)
    assert obj.sum() > 100 and sup.sum() > 100 and (scene.points[obj, 2] > 0.004).all()
    on_table, n = 0, 0
    for gen in (point_correspondence, directional_correspondence, spatial_verification):
        for seed in range(25):
            try: s = gen(scene, np.random.default_rng(seed), **({"p_free": 0.0} if gen is point_correspondence else {}))
            except Reject: continue
            n += 1; on_table += s.meta["on_support"]
            assert s.meta["on_support"] == bool(abs(s.meta["point"][2]) <= 0.005)   # point_kinds tol
    assert n >= 40 and on_table / n <= 0.35, (n, on_table)
