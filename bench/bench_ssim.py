"""xvr.filtering.ssim against skimage.metrics.structural_similarity (same settings: Gaussian window sigma 1.5,
population covariance, data_range 255), measured in one run: agreement and speed ratio per image size, for noisy
pairs that differ everywhere and for pairs where only a quarter of the image differs (a fixed camera, rendered).
Like a generating process, the bench keeps freed memory (`xvr.dataset.keep_heap`), so neither side pays for
page-faulting image-sized buffers in again on every call (`--no-keep-heap` measures that too).
Usage: python bench/bench_ssim.py [--sizes 480x640,240x424] [--pairs 30]
"""
import argparse, time
import numpy as np
from skimage.metrics import structural_similarity
from xvr.filtering import ssim
from xvr.dataset import keep_heap


def sk_ssim(x, y):
    return structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)


def timed(f, pairs):
    "Results and seconds per pair of `f` over `pairs`."
    t = time.perf_counter(); out = [f(x, y) for x, y in pairs]
    return np.array(out), (time.perf_counter() - t) / len(pairs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="480x640,240x424", help="comma-separated HxW image sizes")
    ap.add_argument("--size", help="one HxW size (overrides --sizes)")
    ap.add_argument("--pairs", type=int, default=30, help="grayscale uint8 image pairs per size")
    ap.add_argument("--no-keep-heap", action="store_true", help="let glibc return freed memory (the default outside generation)")
    a = ap.parse_args(argv)
    if not a.no_keep_heap: keep_heap()
    rng = np.random.default_rng(0)
    for size in (a.size or a.sizes).split(","):
        h, w = map(int, size.split("x"))
        xs = [rng.integers(0, 256, (h, w), dtype=np.uint8) for _ in range(a.pairs)]
        pairs = [(x, np.clip(x + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)) for x in xs]
        ssim(*pairs[0]); sk_ssim(*pairs[0])                                   # warm-up
        ours, t_ours = timed(ssim, pairs)
        ref, t_ref = timed(sk_ssim, pairs)
        print(f"{a.pairs} pairs at {h}x{w}: max |ours - skimage| = {np.abs(ours - ref).max():.2e}; "
              f"skimage {t_ref * 1e3:.1f} ms/pair, xvr {t_ours * 1e3:.1f} ms/pair, speed-up {t_ref / t_ours:.2f}x")
        # like two frames of a fixed camera in a rendered episode: only a centred box (a quarter of the image) differs
        box = (slice(h // 4, h // 4 + h // 2), slice(w // 4, w // 4 + w // 2))
        part = [(x, x.copy()) for x, _ in pairs]
        for (x, y), (_, z) in zip(part, pairs): y[box] = z[box]
        ours, t_ours = timed(ssim, part)
        ref, t_ref = timed(sk_ssim, part)
        print(f"  the same with a quarter of the image changed: max |ours - skimage| = {np.abs(ours - ref).max():.2e}; "
              f"skimage {t_ref * 1e3:.1f} ms/pair, xvr {t_ours * 1e3:.1f} ms/pair, speed-up {t_ref / t_ours:.2f}x")


if __name__ == "__main__": main()
