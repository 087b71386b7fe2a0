"""Rendering rate of the simulated source per view, against MuJoCo's raw render of the same scene, one run.

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
        model = mujoco.MjModel.from_xml_string(_scene_xml(a.views, h, w)); data = mujoco.MjData(model); mujoco.mj_forward(model, data)
        ren = mujoco.Renderer(model, h, w)
        t = time.perf_counter()
        for i in range(a.views):
            ren.update_scene(data, camera=i); ren.render()
        t_raw = (time.perf_counter() - t) / a.views
        t = time.perf_counter()
        for i in range(a.views): sim.render_camera(ren, data, i)
        t_ours = (time.perf_counter() - t) / a.views
        ren.close()
        print(f"{h}x{w}: raw RGB {1/t_raw:6.1f} views/s | xvr RGB+depth {1/t_ours:6.1f} views/s (ratio {t_ours/t_raw:.2f}x) | "
              f"whole scene incl. build + fusion {a.views/t_scene:5.1f} views/s")


def _scene_xml(n, h, w):
    r = np.random.default_rng(0)
    cams = "".join(f'<camera name="c{i}" {sim.mj_camera_attrs(sim.look_at([np.cos(t)*.6, np.sin(t)*.6, .3], [0, 0, .05]))} fovy="50"/>'
                   for i, t in enumerate(np.linspace(0, 2 * np.pi, n, endpoint=False)))
    return sim._world(sim._textures(r, 2), "".join(sim.CATEGORIES["mug"](r, "m0")), w, h, r, cams)


if __name__ == "__main__": main()
