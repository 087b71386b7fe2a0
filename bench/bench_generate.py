"""Generation rate on the simulated source (after rendering) against the JPEG-encoding floor, one run.

The floor is the time to JPEG-encode the same images (same sizes, same quality 90) that generation wrote: a
generator cannot be faster than writing its output. Three numbers, all measured in this one run:

- setup: scanning the source once per split (loading every scene and episode, the source rules, tau_act); paid
  once per run, whatever the number of samples;
- steady state per task: `run_unit` on the prepared source, samples/s and the ratio floor time / generation time;
- end to end: `generate` for the whole dataset (setup included) and its ratio.

Usage: python bench/bench_generate.py [--per-task 64] [--scenes 10] [--episodes 6]
"""
import argparse, json, shutil, tempfile, time
from pathlib import Path
import cv2, numpy as np
from xvr.core import read_jsonl, read_image
from xvr.dataset import FolderSource, prepare_split, run_unit, generate
from xvr.sources.sim import render_dataset
from xvr.tasks.common import TASK_NAMES


def floor_seconds(images):
    t = time.perf_counter()
    for im in images: cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-task", type=int, default=64); ap.add_argument("--scenes", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=6)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    render_dataset(tmp / "src", scenes=a.scenes, episodes=a.episodes, views=10, duration=20, progress=False)

    src = FolderSource(tmp / "src")
    t = time.perf_counter(); prep = prepare_split(src, "train", "boat", "sim_arm_b", progress=False); t_setup = time.perf_counter() - t
    print(f"setup (scan the train split once): {t_setup:.1f} s")
    print(f"{'task':36s} {'samples/s':>10s} {'floor/s':>10s} {'ratio':>6s}")
    tot_gen = tot_floor = tot_n = 0
    for task in TASK_NAMES:
        out = tmp / "units" / task; (out / "shards").mkdir(parents=True)
        run_unit(src, prep, "train", task, 10_000, 4, 1, out)          # warm the per-process caches (not timed)
        t = time.perf_counter(); r = run_unit(src, prep, "train", task, 0, a.per_task, 0, out); t_gen = time.perf_counter() - t
        unit = out / "shards" / f"{task}-00000"
        imgs = [read_image(p) for p in sorted((unit / "images").glob("*.jpg"))]
        t_floor = floor_seconds(imgs); n = r["samples"]
        tot_gen += t_gen; tot_floor += t_floor; tot_n += n
        print(f"{task:36s} {n / t_gen:10.1f} {n / t_floor:10.1f} {t_floor / t_gen:6.2f}")
    print(f"{'all tasks (steady state)':36s} {tot_n / tot_gen:10.1f} {tot_n / tot_floor:10.1f} {tot_floor / tot_gen:6.2f}")

    t = time.perf_counter()
    generate(tmp / "src", tmp / "out", per_task=a.per_task, eval_per_task=1, validate=False, progress=False)
    t_all = time.perf_counter() - t
    imgs = [read_image(tmp / "out" / sp / p) for sp in ("train", "eval") for s in read_jsonl(tmp / "out" / sp / "samples.jsonl") for p in s.images]
    n = sum(1 for sp in ("train", "eval") for _ in read_jsonl(tmp / "out" / sp / "samples.jsonl"))
    t_floor = floor_seconds(imgs)
    print(f"end to end: {n} samples in {t_all:.1f} s = {n / t_all:.1f} samples/s, ratio {t_floor / t_all:.2f} (setup included); "
          f"100K samples at the steady-state rate: {100_000 / (tot_n / tot_gen) / 3600:.2f} h")
    shutil.rmtree(tmp)


if __name__ == "__main__": main()
