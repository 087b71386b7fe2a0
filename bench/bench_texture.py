"""Cross-view evidence in the embedded general scenes: SIFT matches between neighbouring views that the true depth
and poses confirm, one run.

A match (SIFT, Lowe ratio 0.8) is geometrically true when its keypoint in view a, lifted with a's depth and projected
into view b, is visible there (z-buffer) and lands within 3 px of the matched keypoint. Real captures of textured
objects give hundreds per pair; the target for the embedded worlds is a median of at least 100.
The orbit trades one against the other: high views share matches, low ones see the cameras across the orbit. So the
bench also counts, per scene, the cameras that viewpoint localization can ask about: those whose centre at least two
other views show unhidden (its rule, `xvr.tasks.viewpoint`); a scene with none gives no viewpoint sample.
Usage: python bench/bench_texture.py [--scenes 6] [--views 10] [--height 480] [--width 640]
"""
import argparse, os, time
os.environ.setdefault("MUJOCO_GL", "egl")
import cv2, numpy as np
from xvr.sources.sim import general_scene
from xvr.draw import marker_radius
from xvr.projection import backproject, in_image, project, visible
from xvr.tasks.viewpoint import _hidden


def true_matches(va, vb, ratio:float=0.8, px:float=3.0)->int:
    "Number of SIFT matches from view `va` to `vb` confirmed by `va`'s depth and both poses within `px` pixels."
    sift = cv2.SIFT_create()
    ka, da = sift.detectAndCompute(cv2.cvtColor(va.image, cv2.COLOR_RGB2GRAY), None)
    kb, db = sift.detectAndCompute(cv2.cvtColor(vb.image, cv2.COLOR_RGB2GRAY), None)
    if da is None or db is None or len(kb) < 2: return 0
    good = [m for m, n in cv2.BFMatcher().knnMatch(da, db, k=2) if m.distance < ratio * n.distance]
    if not good: return 0
    pa = np.array([ka[m.queryIdx].pt for m in good]); pb = np.array([kb[m.trainIdx].pt for m in good])
    ok = va.depth[np.clip(np.round(pa[:, 1]).astype(int), 0, va.depth.shape[0] - 1),
                  np.clip(np.round(pa[:, 0]).astype(int), 0, va.depth.shape[1] - 1)] > 0
    P = backproject(va.depth, va.camera, pixels=pa)
    uv, _ = project(P, vb.camera)
    hit = ok & visible(P, vb, tol=0.01) & (np.linalg.norm(uv - pb, axis=1) < px)
    return int(hit.sum())


def viewpoint_targets(scene, tol:float=0.02)->int:
    "Cameras of `scene` whose centre at least two other views show unhidden, within viewpoint localization's margin."
    C = np.stack([v.camera.center for v in scene.views]); h, w = scene.views[0].camera.shape; n = 0
    margin = 2 * marker_radius(h, w)
    for t in range(len(C)):
        seen = 0
        for j, v in enumerate(scene.views):
            uv, z = project(C[t][None], v.camera)
            if j != t and z[0] > 0 and in_image(uv, v.camera, margin)[0]: seen += not _hidden(v, uv[0], z[0], tol)
        n += seen >= 2
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=6); ap.add_argument("--views", type=int, default=10)
    ap.add_argument("--height", type=int, default=480); ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--seed", type=int, default=0); a = ap.parse_args()
    counts, targets, t0 = [], [], time.perf_counter()
    for i in range(a.scenes):
        s = general_scene(i, seed=a.seed, n_views=a.views, height=a.height, width=a.width)
        n = [true_matches(s.views[k], s.views[(k + 1) % len(s.views)]) for k in range(len(s.views))]
        counts += n; targets.append(viewpoint_targets(s))
        print(f"{s.id}: true matches per neighbouring pair {n}; viewpoint targets {targets[-1]}/{len(s.views)}")
    c = np.array(counts)
    print(f"{len(c)} pairs from {a.scenes} scenes ({time.perf_counter() - t0:.0f} s): median {np.median(c):.0f}, "
          f"p10 {np.percentile(c, 10):.0f}, min {c.min()}, max {c.max()}  (target: median >= 100)")
    print(f"viewpoint-localization targets per scene {targets}: {sum(t > 0 for t in targets)} of {a.scenes} scenes "
          f"give viewpoint samples")


if __name__ == "__main__": main()
