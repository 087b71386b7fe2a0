"""Rendering rate of the simulated source per view, against MuJoCo's raw render of the same scene, one run.

The scene is the embedded general scene 0 (textured robosuite meshes, table, walls, a shadow-casting light).

The ratio (ours / raw) shows the cost of what we add per view: depth pass, linearisation, copies, camera poses.
Usage: python bench/bench_render.py [--views 20]
"""
import argparse, os, time
os.environ.setdefault("MUJOCO_GL", "egl")
import mujoco, numpy as np
from xvr.sources import sim


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--views", type=int, default=20); a = ap.parse_args()
    for (h, w) in [(480, 640), (240, 424)]:
        t = time.perf_counter(); scene = sim.general_scene(0, n_views=a.views, height=h, width=w); t_scene = time.perf_counter() - t
        # raw: the same scene description, RGB only, no depth, no conversion
        model = mujoco.MjModel.from_xml_string(sim.scene_xml(0, n_views=a.views, height=h, width=w)[0])
        data = mujoco.MjData(model); mujoco.mj_forward(model, data)
        ren = mujoco.Renderer(model, h, w)
        t = time.perf_counter()
        for i in range(a.views):
            ren.update_scene(data, camera=i); ren.render()
        t_raw = (time.perf_counter() - t) / a.views
        t = time.perf_counter()
        for i in range(a.views):                      # raw RGB and raw depth: the same two passes we make
            ren.update_scene(data, camera=i); ren.render(); ren.enable_depth_rendering()
            ren.update_scene(data, camera=i); ren.render(); ren.disable_depth_rendering()
        t_raw2 = (time.perf_counter() - t) / a.views
        t = time.perf_counter()
        for i in range(a.views): sim.render_camera(ren, data, i)
        t_ours = (time.perf_counter() - t) / a.views
        ren.close()
        print(f"{h}x{w}: raw RGB {1/t_raw:6.1f} views/s | raw RGB+depth {1/t_raw2:6.1f} | "
              f"xvr RGB+depth {1/t_ours:6.1f} views/s "
              f"(ratio {t_ours/t_raw2:.2f}x raw RGB+depth, {t_ours/t_raw:.2f}x raw RGB) | "
              f"whole scene incl. build + fusion {a.views/t_scene:5.1f} views/s")


if __name__ == "__main__": main()
