"""Generation rate of a large source against a small one, one run: does a unit's cost grow with the source?

A "large" source is the small one repeated `--copies` times through symbolic links (so it costs no disk and every
copy is a distinct item to the loader, as distinct scenes and episodes are). Each task runs `--units` units of 16
samples on both; the ratio is large / small samples per second (1.0: the size of the source costs nothing).
Scenes beyond the loader's cache (24) are loaded again per general sample; episodes are cached 128 at a time and a
unit never loads its whole pool.

Usage: python bench/bench_scale.py [--copies 12] [--units 4] [--scenes 10] [--episodes 6] [--source-dir DIR]
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
from xvr.dataset import FolderSource, prepare_split, run_unit
from xvr.sources.sim import render_dataset
from xvr.core import TASK_NAMES


def rate(src, prep, task, units, tmp):
    out = Path(tempfile.mkdtemp(dir=tmp)); (out / "shards").mkdir()
    run_unit(src, prep, "train", task, 10_000, 2, 1, out)                  # warm imports (not timed)
    t, n = time.perf_counter(), 0
    for u in range(units): n += run_unit(src, prep, "train", task, u, 16, 0, out)["samples"]
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=12); ap.add_argument("--units", type=int, default=4)
    ap.add_argument("--scenes", type=int, default=10); ap.add_argument("--episodes", type=int, default=6)
    ap.add_argument("--source-dir", default=None, help="reuse a rendered source folder (rendered there if missing)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    small = Path(a.source_dir) if a.source_dir else tmp / "src"
    render_dataset(small, scenes=a.scenes, episodes=a.episodes, views=10, duration=20, progress=False)
    large = tmp / "large"
    for dom in ("general", "robotic"):
        (large / dom).mkdir(parents=True)
        for k in range(a.copies):
            for d in sorted((small / dom).iterdir()):
                if d.is_dir() and not d.name.startswith("."): os.symlink(d.resolve(), large / dom / f"c{k:03d}_{d.name}")
    srcs = {}
    for name, root in (("small", small), ("large", large)):
        s = FolderSource(root); srcs[name] = (s, prepare_split(s, "train", "boat", "sawyer", progress=False))
    (ss, ps), (ls, pl) = srcs["small"], srcs["large"]
    print(f"small: {len(ps['general'])} scenes, {len(ps['robotic'])} episodes; large: {len(pl['general'])} scenes, {len(pl['robotic'])} episodes (train split)")
    print(f"{'task':36s} {'small/s':>8s} {'large/s':>8s} {'ratio':>6s}")
    for task in TASK_NAMES:
        r_small, r_large = rate(ss, ps, task, a.units, tmp), rate(ls, pl, task, a.units, tmp)
        print(f"{task:36s} {r_small:8.1f} {r_large:8.1f} {r_large / r_small:6.2f}")
    shutil.rmtree(tmp)


if __name__ == "__main__": main()
