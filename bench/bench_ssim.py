"""xvr.filtering.ssim against skimage.metrics.structural_similarity (same settings), one run: agreement and speed ratio.
Usage: python bench/bench_ssim.py [--size 480x640] [--pairs 30]
"""
import argparse, time
import numpy as np
from skimage.metrics import structural_similarity
from xvr.filtering import ssim


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--size", default="480x640"); ap.add_argument("--pairs", type=int, default=30)
    a = ap.parse_args(); h, w = map(int, a.size.split("x"))
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 256, (h, w), dtype=np.uint8),) for _ in range(a.pairs)]
    pairs = [(x, np.clip(x + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)) for (x,) in pairs]
    t = time.perf_counter(); ours = [ssim(x, y) for x, y in pairs]; t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = [structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255) for x, y in pairs]
    t_ref = time.perf_counter() - t
    print(f"{a.pairs} pairs at {h}x{w}: max |ours - skimage| = {np.abs(np.array(ours) - ref).max():.2e}")
    print(f"skimage {t_ref / a.pairs * 1e3:.1f} ms/pair, xvr {t_ours / a.pairs * 1e3:.1f} ms/pair, speed-up {t_ref / t_ours:.2f}x")


if __name__ == "__main__": main()
