"""What the reliability checks of #14 cost, as ratios measured in one run against the code they replaced.

- strict decoding: `read_image` (read the bytes, check the JPEG end marker / PNG IEND chunk, decode) against a bare
  `cv2.imread`, for JPEG and PNG at 640x480;
- hashed writing: `write_image` (encode, write the bytes, SHA-256 of them) against a bare `cv2.imwrite`;
- the run record: `source_fingerprint` of a rendered source, against one `generate` unit's time on it;
- the validator: `validate_dir` with `--source` (pixels re-derived) against without.

    python bench/bench_reliability.py [--work-dir DIR] [--repeat 200]
"""
import argparse, tempfile, time
from pathlib import Path

import cv2
import numpy as np

from xvr.core import read_image, write_image


def per_call(fn, n:int)->float:
    "Seconds per call of `fn`, the best of 3 rounds of `n` calls."
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n): fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def images(work:Path, n:int):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:480, :640]
    im = np.stack([(x * 255 / 640), (y * 255 / 480), ((x + y) % 256)], -1).astype(np.uint8)
    im = np.clip(im.astype(int) + rng.integers(-8, 8, im.shape), 0, 255).astype(np.uint8)   # a photo-like texture
    for ext in ("jpg", "png"):
        p = work / f"a.{ext}"
        write_image(p, im, 90)
        bare_r = per_call(lambda: cv2.imread(str(p), cv2.IMREAD_COLOR), n)
        ours_r = per_call(lambda: read_image(p), n)
        q = work / f"b.{ext}"
        params = [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == "jpg" else []
        bare_w = per_call(lambda: cv2.imwrite(str(q), im, params), n // 4)
        ours_w = per_call(lambda: write_image(q, im, 90), n // 4)
        print(f"{ext}: read_image {ours_r * 1e3:.2f} ms vs cv2.imread {bare_r * 1e3:.2f} ms "
              f"(ratio {ours_r / bare_r:.2f}; "
              f"ours includes BGR->RGB); write_image {ours_w * 1e3:.2f} ms vs cv2.imwrite {bare_w * 1e3:.2f} ms "
              f"(ratio {ours_w / bare_w:.2f})")


def run_checks(work:Path):
    from xvr.sources.sim import render_dataset
    from xvr.dataset import FolderSource, source_fingerprint, generate
    from xvr.validate import validate_dir
    src = work / "src"
    render_dataset(src, scenes=6, episodes=3, views=6, height=120, width=160, robot_height=96, robot_width=128,
                   duration=4, fps=5, progress=False)
    fs = FolderSource(src)
    t_fp = per_call(lambda: source_fingerprint(fs), 5)
    t = time.perf_counter()
    s = generate(src, work / "o", per_task=8, eval_per_task=0, chunk=8, min_points=100, min_duration=3,
                 holdout_embodiment="none", validate=False, progress=False)
    t_gen = time.perf_counter() - t
    n = s["splits"]["train"]["samples"]
    t = time.perf_counter()
    validate_dir(work / "o" / "train", progress=False)
    t_meta = time.perf_counter() - t
    t = time.perf_counter()
    r = validate_dir(work / "o" / "train", progress=False, source=src)
    t_pix = time.perf_counter() - t
    print(f"source_fingerprint: {t_fp * 1e3:.1f} ms for {sum(map(len, fs.items.values()))} items; "
          f"generate: {t_gen:.2f} s for {n} samples (fingerprint = {t_fp / t_gen:.4f} of the run)")
    print(f"validate: {t_meta * 1e3 / max(n, 1):.2f} ms/sample from metadata and hashes, "
          f"{t_pix * 1e3 / max(n, 1):.2f} ms/sample with --source (ratio {t_pix / t_meta:.2f}); "
          f"{r['bad']} bad of {r['samples']}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work-dir", default=None)
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=a.work_dir) as d:
        images(Path(d), a.repeat)
        run_checks(Path(d))
