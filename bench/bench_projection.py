"""Projection + visibility of 1M points into 8 cameras (xvr) against cv2.projectPoints (projection only), one run.

Prints absolute times and the ratio ours/cv2; ratios measured in the same run are what to compare across machines.
Usage: python bench/bench_projection.py [--points 1000000] [--cams 8] [--repeat 3]
"""
import argparse, time
import cv2, numpy as np
from xvr.core import Camera, View, look_at, intrinsics_from_fov
from xvr.projection import project_many, project, visible


def best(f, repeat):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--cams", type=int, default=8); ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    P = rng.normal(size=(a.points, 3)) * 0.3
    cams = [Camera(intrinsics_from_fov(640, 480, 55), look_at(np.r_[np.cos(t), np.sin(t), .6] * 1.5, [0, 0, 0]), 640, 480, f"c{i}")
            for i, t in enumerate(np.linspace(0, 2 * np.pi, a.cams, endpoint=False))]
    views = [View(np.zeros((480, 640, 3), np.uint8), c, depth=np.full((480, 640), 1.5, np.float32)) for c in cams]

    def cv():
        for c in cams:
            cv2.projectPoints(P, cv2.Rodrigues(c.R)[0], c.t, c.K, None)

    t_cv = best(cv, a.repeat)
    t_many = best(lambda: project_many(P, cams), a.repeat)
    t_loop = best(lambda: [project(P, c) for c in cams], a.repeat)
    t_vis = best(lambda: [visible(P, v) for v in views], a.repeat)
    print(f"{a.points:,} points x {a.cams} cameras")
    print(f"cv2.projectPoints (projection only)    {t_cv*1e3:8.1f} ms   1.00x")
    print(f"xvr project_many (batched)             {t_many*1e3:8.1f} ms   {t_many/t_cv:.2f}x")
    print(f"xvr project per camera                 {t_loop*1e3:8.1f} ms   {t_loop/t_cv:.2f}x")
    print(f"xvr visible (projection + z-buffer)    {t_vis*1e3:8.1f} ms   {t_vis/t_cv:.2f}x")


if __name__ == "__main__": main()
