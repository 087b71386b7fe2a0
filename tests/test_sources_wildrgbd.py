"""WildRGB-D loader on fixtures written in the official layout: the camera/depth convention on every pair of views,
the density rule, bad files, and the general-domain task generators running on the loaded scenes."""
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from xvr.core import DataError
from xvr.sources.wildrgbd import (write_wildrgbd_fixture, load_wildrgbd_scene, iter_wildrgbd, read_metadata, read_cam_poses,
                                  reprojection_errors, select_frames)
from xvr.tasks.common import Reject, task_generator
from xvr.toy import toy_scene
from xvr.validate import check_sample

GENERAL = ["point_correspondence", "directional_correspondence", "spatial_verification", "viewpoint_localization"]


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("wild") / "WildRGB-D"
    dirs = write_wildrgbd_fixture(root, category="mug", n_scenes=1, n_frames=12, height=120, width=160, seed=0)
    return root, dirs[0], load_wildrgbd_scene(dirs[0], n_views=8, min_points=10_000)


def test_layout_and_encodings(fixture):
    root, d, _ = fixture
    assert (d / "metadata").is_file() and not (d / "metadata").suffix
    import cv2
    dep = cv2.imread(str(d / "depth" / "00000.png"), cv2.IMREAD_UNCHANGED)
    assert dep.dtype == np.uint16 and dep.ndim == 2 and 100 < np.median(dep[dep > 0]) < 5000   # millimetres
    assert len((d / "cam_poses.txt").read_text().split("\n")[0].split()) == 17
    K = json.loads((d / "metadata").read_text())["K"]
    assert K[2] == 0 and K[6] > 0                                                                # column-major: cx at index 6


def test_cameras_and_depth_match_truth(fixture):
    _, _, scene = fixture
    truth = toy_scene(n_views=12, height=120, width=160, seed=0)
    for i, v in zip(scene.meta["frames"], scene.views):
        assert np.allclose(v.camera.cam_from_world, truth.views[i].camera.cam_from_world, atol=1e-6)
        ok = v.depth > 0
        assert np.abs(v.depth[ok] - truth.views[i].depth[ok]).max() <= 5e-4 + 1e-6


def test_reprojection_convention_every_pair(fixture):
    "A point lifted from one frame lands on the same surface in another frame, within 1.5 px, for every pair."
    _, _, scene = fixture
    errs, checked = [], 0
    for a in range(len(scene.views)):
        for b in range(len(scene.views)):
            if a == b: continue
            err, frac = reprojection_errors(scene.views[a], scene.views[b])
            if len(err) < 30: continue   # cameras facing away from each other's surfaces
            assert np.median(err) < 0.3 and np.mean(err < 1.5) > 0.99, (a, b, np.median(err), np.mean(err < 1.5))
            errs.append(err); checked += 1
    e = np.concatenate(errs)
    assert checked >= 20 and len(e) > 5000
    assert np.mean(e < 1.5) > 0.999 and np.median(e) < 0.1, (np.mean(e < 1.5), np.median(e))   # a few at depth edges only


def test_frames_spread_around_orbit(fixture):
    _, _, scene = fixture
    az = sorted(np.degrees(np.arctan2(*v.camera.center[[1, 0]])) % 360 for v in scene.views)
    gaps = np.diff(az + [az[0] + 360])
    assert gaps.max() < 100, gaps   # 8 of 12 views: no large hole in the orbit
    assert select_frames(np.random.default_rng(0).normal(size=(50, 3)), 5) == sorted(select_frames(np.random.default_rng(0).normal(size=(50, 3)), 5))


def test_density_rule_is_a_counted_skip(fixture):
    root, _, _ = fixture
    c = Counter()
    assert list(iter_wildrgbd(root, counts=c, progress=False)) == []
    assert c == Counter(sparse_point_cloud=1)
    c = Counter()
    got = list(iter_wildrgbd(root, counts=c, progress=False, min_points=10_000, n_views=4))
    assert [s.id for s in got] == ["mug_000"] and c == Counter(ok=1) and got[0].category == "mug"


@pytest.mark.parametrize("task", GENERAL)
def test_general_tasks_run_on_wildrgbd(fixture, task):
    _, _, scene = fixture
    gen, got, rejects = task_generator(task), [], Counter()
    for k in range(40):
        try: got.append(gen(scene, np.random.default_rng(k)))
        except Reject as e: rejects[e.reason] += 1
        if len(got) >= 3: break
    assert got, f"{task}: only rejects {dict(rejects)}"
    for s in got:
        assert s.source == "wildrgbd" and s.scene == "mug_000"
        assert check_sample(s) == [], check_sample(s)


def _copy(d, tmp_path):
    import shutil
    dst = tmp_path / "mug" / "scenes" / d.name; shutil.copytree(d, dst); return dst


def test_bad_files_name_the_file(fixture, tmp_path):
    _, d, _ = fixture
    s = _copy(d, tmp_path)
    (s / "metadata").write_text(json.dumps({"K": [1, 0, 0, 0, 1, 0, 0, 0, 1], "w": 160}))
    with pytest.raises(DataError, match=r"metadata: metadata is missing key 'h'"): read_metadata(s / "metadata")
    lines = (d / "cam_poses.txt").read_text().splitlines()
    (s / "cam_poses.txt").write_text("\n".join(l.rsplit(" ", 1)[0] for l in lines))
    with pytest.raises(DataError, match=r"cam_poses.txt: each line needs a frame id and 16 numbers"): read_cam_poses(s / "cam_poses.txt")
    bad = lines[0].split(); bad[1] = str(-float(bad[1])); bad[5] = str(-float(bad[5])); bad[9] = str(-float(bad[9]))   # flip x axis: a reflection
    (s / "cam_poses.txt").write_text("\n".join([" ".join(bad)] + lines[1:]))
    with pytest.raises(DataError, match=r"cam_poses.txt: rotation of line 1 has determinant"): read_cam_poses(s / "cam_poses.txt")
    (s / "cam_poses.txt").write_text("\n".join(lines)); (s / "metadata").write_text((d / "metadata").read_text())
    (s / "rgb" / "00005.png").unlink()
    with pytest.raises(DataError, match=r"rgb/00005.png: image is missing"): load_wildrgbd_scene(s, min_points=0, n_views=12)
    with pytest.raises(DataError, match="scene folder not found"): load_wildrgbd_scene(tmp_path / "nope")
