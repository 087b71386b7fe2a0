"""CPU seconds per job of each driver, and the paper-size projection from them, one run.

Jobs are independent and one job uses about one core, so a cluster's throughput is cores / (CPU seconds per job).
CPU time (`time.process_time`, all threads of this process) is measured rather than wall time because it barely
depends on what else the machine runs; on an idle machine the wall time of one job on one core is close to it.

- render: one simulated scene (10 views, 640x480) and one robot episode (20 s at 5 Hz, 4 cameras, 240x424);
- convert: one AgiBot-World episode of the fixture's layout (`--agibot-frames` frames of 3 cameras at 240x320
  decoded from MP4, subsampled to 5 Hz, written as PNG), a stand-in for a real episode (about 20x more frames);
- generate: samples of every task from a prepared 10-scene, 6-episode source, per sample.

The projection: hours on `--cores` cores for `--scenes` scenes rendered, `--episodes` episodes converted and
`--samples` samples generated (the paper: 18K scenes, 70K episodes, 100K samples).

Usage: python bench/bench_rates.py [--cores 100] [--scenes 18000] [--episodes 70000] [--samples 100000] [--units 2]
"""
import argparse, shutil, tempfile, time
from pathlib import Path
from xvr.core import save_scene, save_trajectory
from xvr.dataset import FolderSource, prepare_split, run_unit
from xvr.sources.sim import general_scene, robot_episode, render_dataset
from xvr.sources.agibot import write_agibot_fixture
from xvr.sources.registry import convert_source
from xvr.tasks.common import TASK_NAMES


def cpu(f):
    "CPU seconds (all threads) and the result of `f()`."
    t = time.process_time(); r = f()
    return time.process_time() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cores", type=int, default=100); ap.add_argument("--scenes", type=int, default=18_000)
    ap.add_argument("--episodes", type=int, default=70_000); ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--units", type=int, default=2, help="units of 16 samples per task")
    ap.add_argument("--agibot-frames", type=int, default=600, help="frames per camera of the AgiBot fixture episode")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    c_scene, s = cpu(lambda: general_scene(1, n_views=10, height=480, width=640))
    c_scene += cpu(lambda: save_scene(s, tmp / "scene", depth_format="npy", image_format="npy"))[0]
    c_ep, e = cpu(lambda: robot_episode(1, duration=20, fps=5, height=240, width=424))
    c_ep += cpu(lambda: save_trajectory(e, tmp / "episode", image_format="npy"))[0]
    write_agibot_fixture(tmp / "agibot", n_frames=a.agibot_frames)
    c_conv, _ = cpu(lambda: convert_source("agibot", tmp / "agibot", tmp / "conv", progress=False, min_duration=0.5))
    render_dataset(tmp / "src", scenes=10, episodes=6, views=10, duration=20, progress=False)
    src = FolderSource(tmp / "src"); prep = prepare_split(src, "train", "boat", "sawyer", progress=False)
    (tmp / "out" / "shards").mkdir(parents=True)
    for t in TASK_NAMES: run_unit(src, prep, "train", t, 10_000, 4, 1, tmp / "out", writers=0)   # warm caches, untimed
    n, c_gen = 0, 0.0
    for t in TASK_NAMES:
        for u in range(a.units):
            c, r = cpu(lambda: run_unit(src, prep, "train", t, u, 16, 0, tmp / "out", writers=0))
            n, c_gen = n + r["samples"], c_gen + c
    per_sample = c_gen / n
    print(f"render:   {c_scene:6.2f} CPU s per scene (10 views 640x480), "
          f"{c_ep:6.2f} per episode (100 steps, 4 cameras)")
    print(f"convert:  {c_conv:6.2f} CPU s per AgiBot episode ({a.agibot_frames} frames x 3 cameras, fixture)")
    print(f"generate: {per_sample * 1e3:6.2f} CPU ms per sample ({n} samples, all 8 tasks) = "
          f"{3600 / per_sample:,.0f} samples per core-hour")
    h = lambda cpu_s, n_items: cpu_s * n_items / a.cores / 3600
    parts = dict(render_scenes=h(c_scene, a.scenes), convert_episodes=h(c_conv, a.episodes),
                 generate=h(per_sample, a.samples))
    print(f"projection on {a.cores} cores: " + ", ".join(f"{k} {v:.2f} h" for k, v in parts.items())
          + f"; total {sum(parts.values()):.2f} h (render episodes instead of converting: {h(c_ep, a.episodes):.2f} h)")
    shutil.rmtree(tmp)


if __name__ == "__main__": main()
