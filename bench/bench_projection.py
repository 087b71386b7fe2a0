"""Projection + visibility of 1M points into 8 cameras (xvr) against cv2.projectPoints (projection only), one run.

cv2 is called once per camera on the same float64 points (no distortion, no Jacobian use, no visibility).
Prints absolute times (best of --repeat) and the ratio ours / cv2 measured in this run; compare ratios, not
absolute times, across machines.
Usage: python bench/bench_projection.py [--points 1000000] [--cams 8] [--repeat 3]
"""
import argparse, platform, time
import cv2, numpy as np
from xvr.core import Camera, View, look_at, intrinsics_from_fov
from xvr.projection import project_many, project, visible, visible_many


def best(f, repeat):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)


def setup(n_points, n_cams, h=480, w=640, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(n_points, 3)) * 0.3
    cams = [Camera(intrinsics_from_fov(w, h, 55), look_at(np.r_[np.cos(t), np.sin(t), .6] * 1.5, [0, 0, 0]), w, h, f"c{i}")
            for i, t in enumerate(np.linspace(0, 2 * np.pi, n_cams, endpoint=False))]
    # depth: a sphere of radius 0.45 m around the origin seen by each camera would be realistic; a constant plane is
    # enough to exercise the z-buffer lookup for every in-image point
    views = [View(np.zeros((h, w, 3), np.uint8), c, depth=np.full((h, w), 1.5, np.float32)) for c in cams]
    return P, cams, views


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000); ap.add_argument("--cams", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    P, cams, views = setup(a.points, a.cams)
    rv = [(cv2.Rodrigues(c.R)[0], c.t) for c in cams]

    # correctness first: same pixels as cv2 where in front
    ref, _ = cv2.projectPoints(P[:10000], rv[0][0], rv[0][1], cams[0].K, None)
    uv, z = project(P[:10000], cams[0]); ok = z > 0
    err = np.abs(uv[ok] - ref[:, 0][ok]).max()

    t_cv = best(lambda: [cv2.projectPoints(P, r, t, c.K, None) for (r, t), c in zip(rv, cams)], a.repeat)
    t_many = best(lambda: project_many(P, cams), a.repeat)
    t_loop = best(lambda: [project(P, c) for c in cams], a.repeat)
    t_vis = best(lambda: [visible(P, v) for v in views], a.repeat)
    t_both = best(lambda: (project_many(P, cams), [visible(P, v) for v in views]), a.repeat)
    t_vm = best(lambda: visible_many(P, views), a.repeat)
    n_vis = visible_many(P, views).sum()
    print(f"{a.points:,} points x {a.cams} cameras ({platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"opencv {cv2.__version__}); max |xvr - cv2| = {err:.1e} px; {n_vis:,} point-views visible")
    rows = [("cv2.projectPoints per camera (projection only)", t_cv),
            ("xvr project_many (batched projection)", t_many),
            ("xvr project per camera", t_loop),
            ("xvr visible per view (projection + z-buffer)", t_vis),
            ("xvr project_many + visible per view", t_both),
            ("xvr visible_many (one projection + z-buffer)", t_vm)]
    for name, t in rows: print(f"{name:50s} {t*1e3:8.1f} ms   ours/cv2 = {t/t_cv:.2f}")


if __name__ == "__main__": main()
