"""End-to-end generation rate on the simulated source (after rendering) against the JPEG-encoding floor, one run.

The floor is the time to JPEG-encode the same number of images of the same sizes with the same quality: a
generator cannot be faster than writing its output. Prints samples/s and ratio (generation rate / floor rate).
Usage: python bench/bench_generate.py [--per-task 40] [--workers 1]
"""
import argparse, json, tempfile, time
from pathlib import Path
import cv2, numpy as np
from xvr.core import read_jsonl, read_image
from xvr.dataset import generate
from xvr.sources.sim import render_dataset


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--per-task", type=int, default=40); ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    render_dataset(tmp / "src", scenes=10, episodes=6, views=10, duration=20, progress=False)
    t = time.perf_counter()
    s = generate(tmp / "src", tmp / "out", per_task=a.per_task, eval_per_task=1, workers=a.workers, validate=False, progress=False)
    t_gen = time.perf_counter() - t
    samples = read_jsonl(tmp / "out" / "train" / "samples.jsonl") + read_jsonl(tmp / "out" / "eval" / "samples.jsonl")
    imgs = [read_image(tmp / "out" / sp / p) for sp in ("train", "eval") for smp in read_jsonl(tmp / "out" / sp / "samples.jsonl") for p in smp.images]
    t = time.perf_counter()
    for im in imgs: cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 90])
    t_floor = time.perf_counter() - t
    n = len(samples)
    print(f"{n} samples, {len(imgs)} images")
    print(f"generation  {n / t_gen:8.1f} samples/s  ({t_gen:.1f} s)")
    print(f"JPEG floor  {n / t_floor:8.1f} samples/s  ({t_floor:.1f} s)")
    print(f"ratio generation/floor = {t_floor / t_gen:.2f}   (100K samples would take {100_000 / (n / t_gen) / 3600:.2f} h at this rate)")


if __name__ == "__main__": main()
