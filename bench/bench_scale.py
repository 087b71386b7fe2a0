"""Two benches of how generation scales, each measured within one run.

With `--backend local [ray]`: end-to-end `generate` (setup included, validation excluded) of about `--samples`
samples with 1 and with 2 workers (`--workers 1 2`) on each backend, on one rendered source. It prints samples/s,
the speedup of N workers over 1 on the same backend, the ratio of each backend to `local` at the same number of
workers (the Ray overhead), and whether all outputs are byte-identical. A local Ray instance is started per worker
count (`workers` CPUs), outside the timed part; its start-up time is printed beside. Targets (issue #18): 2 workers
>= 1.6x one worker on 2 cores, Ray within 10% of local at one worker.

Without `--backend`: the generation rate of a large source against a small one: does a unit's cost grow with the source?

A "large" source is the small one repeated `--copies` times through symbolic links (so it costs no disk and every
copy is a distinct item to the loader, as distinct scenes and episodes are). Each task runs `--units` units of 16
samples on both; the ratio is large / small samples per second (1.0: the size of the source costs nothing).
Scenes beyond the loader's cache (24) are loaded again per general sample; episodes are cached 128 at a time and a
unit never loads its whole pool.

Usage: python bench/bench_scale.py [--copies 12] [--units 4] [--scenes 10] [--episodes 6] [--source-dir DIR]
       python bench/bench_scale.py --backend local ray [--workers 1 2] [--samples 2048] [--source-dir DIR]
                                   [--work-dir DIR]
"""
import argparse, hashlib, os, shutil, tempfile, time
from pathlib import Path
from xvr.dataset import FolderSource, prepare_split, run_unit, generate
from xvr.engine import Engine, ray_init
from xvr.sources.sim import render_dataset
from xvr.core import TASK_NAMES


def rate(src, prep, task, units, tmp):
    out = Path(tempfile.mkdtemp(dir=tmp)); (out / "shards").mkdir()
    run_unit(src, prep, "train", task, 10_000, 2, 1, out)                  # warm imports (not timed)
    t, n = time.perf_counter(), 0
    for u in range(units): n += run_unit(src, prep, "train", task, u, 16, 0, out)["samples"]
    return n / (time.perf_counter() - t)


def digest(root):
    "One md5 over every JSONL and JPEG under `root`, in path order."
    h = hashlib.md5()
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() and p.suffix in (".jsonl", ".jpg"):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def scaling(src, backends, workers, samples, tmp, writers=None):
    "Time `generate` end to end per (backend, workers); print rates, speedups, Ray/local ratios and byte identity."
    import xvr.dataset
    if writers is not None: xvr.dataset._writers = lambda engine: writers       # the same for every worker count
    per_task = max(1, samples // 8)
    rows, digests = {}, set()
    for b in backends:
        for w in workers:
            startup = 0.0
            if b == "ray":
                import ray
                if ray.is_initialized(): ray.shutdown()
                t = time.perf_counter(); ray_init(None, w); startup = time.perf_counter() - t
            out = tmp / f"{b}-{w}"
            t = time.perf_counter()
            s = generate(src, out, per_task=per_task, eval_per_task=per_task // 4, workers=w, engine=Engine(b, w),
                         validate=False, progress=False)
            dt = time.perf_counter() - t
            failed = {k: v for r in s["splits"].values() for k, v in r.get("failed", {}).items()}
            if failed: raise SystemExit(f"{b} workers={w}: {len(failed)} units failed: {next(iter(failed.items()))}")
            n = sum(r["samples"] for r in s["splits"].values())
            rows[b, w] = n / dt
            digests.add(digest(out)); shutil.rmtree(out)
            print(f"{b:6s} workers={w}: {n} samples in {dt:6.1f} s = {n / dt:6.1f} samples/s"
                  + (f" (Ray start-up {startup:.1f} s, not timed)" if b == "ray" else ""), flush=True)
    print(f"\n{'backend':8s} {'workers':>7s} {'samples/s':>9s} {'vs 1 worker':>11s} {'vs local':>8s}")
    for (b, w), r in rows.items():
        one, loc = rows.get((b, workers[0])), rows.get(("local", w))
        print(f"{b:8s} {w:7d} {r:9.1f} {r / one:10.2f}x {r / loc if loc else float('nan'):7.2f}x")
    print(f"outputs byte-identical across all runs: {'yes' if len(digests) == 1 else 'NO'}; cores: {os.cpu_count()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", nargs="+", choices=["local", "ray"], help="the workers-scaling bench on these")
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--samples", type=int, default=2048, help="train samples per run (eval adds a quarter)")
    ap.add_argument("--writers", type=int, default=None,
                    help="JPEG writer threads per unit for every run (0: the unit's own thread encodes; default: generate's)")
    ap.add_argument("--work-dir", default=None, help="folder for the outputs (a temporary folder inside it)")
    ap.add_argument("--copies", type=int, default=12); ap.add_argument("--units", type=int, default=4)
    ap.add_argument("--scenes", type=int, default=10); ap.add_argument("--episodes", type=int, default=6)
    ap.add_argument("--source-dir", default=None, help="reuse a rendered source folder (rendered there if missing)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(dir=a.work_dir))
    small = Path(a.source_dir) if a.source_dir else tmp / "src"
    render_dataset(small, scenes=a.scenes, episodes=a.episodes, views=10, duration=20, progress=False)
    if a.backend:
        scaling(small, a.backend, a.workers, a.samples, tmp, a.writers); shutil.rmtree(tmp)
        return
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
