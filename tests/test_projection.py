"""Projection, back-projection, fusion, visibility and camera relations (xvr.projection), on random cameras and the toy scene."""
import cv2
import numpy as np
import pytest

from xvr.core import Camera, View, look_at, intrinsics_from_fov, DataError
from xvr.projection import (project, project_many, unproject, backproject, fuse_views, voxel_downsample, _voxel_downsample_np,
                            in_image, visible, on_surface, relative_pose, camera_direction, project_direction)
from xvr.toy import toy_scene, toy_trajectory
from xvr.draw import PALETTE, draw_dot, draw_arrow, marker_radius


def random_camera(rng, w=400, h=300):
    K = np.array([[rng.uniform(200, 800), rng.uniform(-2, 2), rng.uniform(100, 300)],
                  [0, rng.uniform(200, 800), rng.uniform(100, 200)], [0, 0, 1]])
    return Camera(K, look_at(rng.normal(size=3) * 3, rng.normal(size=3) * .2), w, h, "rand")


@pytest.fixture(scope="module")
def scene(): return toy_scene(n_views=8, height=120, width=160, seed=1)


def test_round_trip_random_cameras():
    rng = np.random.default_rng(0)
    for _ in range(50):
        c = random_camera(rng)
        px = rng.uniform(-0.5, 399.5, (1000, 2)); d = rng.uniform(.1, 20, 1000)
        uv, z = project(unproject(px, d, c), c)
        np.testing.assert_allclose(uv, px, atol=1e-6, rtol=0)
        np.testing.assert_allclose(z, d, atol=1e-9, rtol=0)


def test_backproject_depth_map_round_trip():
    rng = np.random.default_rng(1)
    c = random_camera(rng, 80, 60); dep = rng.uniform(.5, 4, (60, 80)); dep[rng.random((60, 80)) < .1] = 0
    P = backproject(dep, c)
    assert len(P) == (dep > 0).sum()
    uv, z = project(P, c)
    vs, us = np.nonzero(dep > 0)
    np.testing.assert_allclose(uv, np.stack([us, vs], -1), atol=1e-6, rtol=0)
    np.testing.assert_allclose(z, dep[dep > 0], atol=1e-9)
    assert len(backproject(dep, c, stride=2)) == (dep[::2, ::2] > 0).sum()
    Q = backproject(dep, c, pixels=np.array([[3.0, 4.0]]))
    np.testing.assert_allclose(project(Q, c)[1], [dep[4, 3]])


def test_project_matches_cv2():
    rng = np.random.default_rng(2)
    for _ in range(10):
        c = random_camera(rng)
        c = Camera(c.K * [[1, 0, 1], [1, 1, 1], [1, 1, 1]], c.cam_from_world, c.width, c.height)  # cv2 ignores skew
        P = rng.normal(size=(2000, 3)) * 2
        ref, _ = cv2.projectPoints(P, cv2.Rodrigues(c.R)[0], c.t, c.K, None)
        uv, z = project(P, c)
        ok = z > 0
        np.testing.assert_allclose(uv[ok], ref[:, 0][ok], atol=1e-6, rtol=0)
        assert np.isnan(uv[~ok]).all()


def test_project_many_equals_project():
    rng = np.random.default_rng(3)
    cams = [random_camera(rng) for _ in range(5)]; P = rng.normal(size=(300, 3))
    uvs, zs = project_many(P, cams)
    assert uvs.shape == (5, 300, 2) and zs.shape == (5, 300)
    for c, uv, z in zip(cams, uvs, zs):
        np.testing.assert_array_equal(np.isnan(uv), np.isnan(project(P, c)[0]))
        np.testing.assert_allclose(np.nan_to_num(uv), np.nan_to_num(project(P, c)[0]))
        np.testing.assert_allclose(z, project(P, c)[1])


def test_fused_points_reproject_on_surface(scene):
    "A point lifted from one view's depth lands, in every other view where it is visible, within 1.5 px of the same surface."
    for i in (0, 3):
        src = scene.views[i]
        P = backproject(src.depth, src.camera, stride=2)
        for j, v in enumerate(scene.views):
            if j == i: continue
            vis = visible(P, v, tol=0.005, margin=2)
            assert vis.sum() > 100, (i, j)
            assert on_surface(P[vis], v, radius=1.5).mean() > 0.99, (i, j)


def test_scene_point_cloud_reprojects(scene):
    "The scene's fused (voxel-downsampled) cloud is consistent with each view's depth where visible."
    for v in scene.views:
        vis = visible(scene.points, v, tol=0.01, margin=2)
        assert vis.mean() > 0.2
        uv, z = project(scene.points[vis], v.camera)
        d = v.depth[np.round(uv[:, 1]).astype(int), np.round(uv[:, 0]).astype(int)]
        assert np.median(np.abs(d - z)) < 0.01


def test_fuse_views_shapes_and_voxel(scene):
    P, C = fuse_views(scene.views, voxel=0.02)
    assert P.shape[1] == 3 and C.shape == P.shape and C.dtype == np.uint8
    P2, _ = fuse_views(scene.views, voxel=0.01)
    assert len(P2) > len(P)
    P3, C3 = fuse_views(scene.views, voxel=0.02, max_points=500)
    assert len(P3) == 500 and len(C3) == 500
    with pytest.raises(DataError, match="no view has depth"):
        fuse_views([View(v.image, v.camera) for v in scene.views])


def test_voxel_fallback_matches_open3d():
    rng = np.random.default_rng(4)
    P = rng.uniform(-1, 1, (20000, 3)); C = rng.integers(0, 256, (20000, 3)).astype(np.uint8)
    a, ca = voxel_downsample(P, C, 0.1); b, cb = _voxel_downsample_np(P, C, 0.1)
    assert len(a) == len(b)
    oa, ob = np.lexsort(a.T), np.lexsort(b.T)
    np.testing.assert_allclose(a[oa], b[ob], atol=1e-9)
    assert np.abs(ca[oa].astype(int) - cb[ob].astype(int)).max() <= 1


def test_visibility_behind_occluder(scene):
    "A point behind a sphere is hidden; the sphere's surface point in front of it is visible."
    c = Camera(intrinsics_from_fov(64, 48, 60), look_at([0, 0, 0], [0, 0, 1], up=[0, -1, 0]), 64, 48)
    wall = View(np.zeros((48, 64, 3), np.uint8), c, depth=np.full((48, 64), 2.0))
    got = visible(np.array([[0, 0, 1.0], [0, 0, 2.0], [0, 0, 2.02], [0, 0, 2.5], [0, 0, -1.0], [50, 0, 1.0]]), wall)
    assert got.tolist() == [True, True, True, False, False, False]
    # on the toy scene: push visible surface points 5 cm further along the viewing ray -> hidden
    v = scene.views[0]
    P = backproject(v.depth, v.camera, stride=4)
    assert visible(P, v, tol=0.005).all()
    ray = P - v.camera.center; ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    assert not visible(P + 0.05 * ray, v, tol=0.005).any()
    with pytest.raises(DataError, match="needs depth"):
        visible(P, View(v.image, v.camera))


def test_invalid_depth_is_not_visible():
    c = Camera(intrinsics_from_fov(64, 48, 60), look_at([0, 0, 0], [0, 0, 1], up=[0, -1, 0]), 64, 48)
    assert not visible(np.array([[0, 0, 1.0]]), View(np.zeros((48, 64, 3), np.uint8), c, depth=np.zeros((48, 64)))).any()


def test_in_image_margin():
    c = Camera(intrinsics_from_fov(640, 480, 60), np.eye(4), 640, 480)
    uv = np.array([[-0.5, 0], [-0.6, 0], [639.5, 479.5], [639.6, 0], [np.nan, 3], [20, 20]])
    assert in_image(uv, c).tolist() == [True, False, True, False, False, True]
    assert in_image(uv, c, margin=25).tolist() == [False] * 6


def test_camera_direction_constructed():
    ref = Camera(np.eye(3), look_at([0, -2, 1], [0, 0, 1]), 4, 4)     # looks along world +y, image-right is world +x
    mk = lambda eye: Camera(np.eye(3), look_at(eye, [0, 0, 1]), 4, 4)
    assert camera_direction(ref, mk([-1.5, -2, 1])) == "left"
    assert camera_direction(ref, mk([1.5, -2.3, 1])) == "right"
    assert camera_direction(ref, mk([0.3, 1, 1])) == "front"
    assert camera_direction(ref, mk([0.3, -4, 1])) == "back"
    T = relative_pose(ref, mk([1.5, -2.3, 1]))
    np.testing.assert_allclose(T[:3, 3], ref.R @ (np.array([1.5, -2.3, 1]) - ref.center), atol=1e-12)
    np.testing.assert_allclose(T @ relative_pose(mk([1.5, -2.3, 1]), ref), np.eye(4), atol=1e-12)


def test_toy_trajectory_left_right():
    traj = toy_trajectory(n_steps=4, height=48, width=64)
    c0 = traj.camera("fix_center", 0)
    assert camera_direction(c0, traj.camera("fix_left", 0)) == "left"
    assert camera_direction(c0, traj.camera("fix_right", 0)) == "right"
    assert traj.states.shape == (4, 8) and traj.actions.shape == (4, 7)


def test_project_direction():
    c = Camera(intrinsics_from_fov(64, 48, 60), look_at([0, 0, 0], [0, 0, 1], up=[0, -1, 0]), 64, 48)
    s, e = project_direction([0, 0, 2], [1, 0, 0], c, length=0.2)
    np.testing.assert_allclose(s, project(np.array([[0, 0, 2.]]), c)[0][0])
    assert e[0] > s[0] and abs(e[1] - s[1]) < 1e-9
    s2, e2 = project_direction([0, 0, 2], [0, 0, 5], c)      # along the optical axis: zero-length arrow
    np.testing.assert_allclose(s2, e2, atol=1e-9)


def test_draw_markers_legible():
    assert marker_radius(480, 640) >= 8 and marker_radius(240, 424) >= 5
    for name in ["blue", "green", "purple", "red", "yellow", "orange", "cyan", "pink"]:
        assert name in PALETTE
    for h, w in [(480, 640), (240, 424)]:
        img = np.full((h, w, 3), 128, np.uint8)
        d = draw_dot(img, (w / 2, h / 2), "purple")
        assert (img == 128).all() and tuple(d[h // 2, w // 2]) == PALETTE["purple"]
        a = draw_arrow(img, (50, 50), (150, 80), "yellow")
        assert (a != img).any(-1).sum() > 300
