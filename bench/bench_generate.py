"""Generation rate on the simulated source (after rendering) against the JPEG-encoding floor, one run.

The floor is the time to JPEG-encode the same images (same sizes, same quality 90) that generation wrote, in one
thread, in memory: a generator cannot be faster than encoding its output. All numbers come from this one run:

- setup: scanning the source once per split (loading every scene and episode, the source rules, tau_act); paid
  once per run, whatever the number of samples;
- steady state per task, in rounds: `run_unit` on the prepared source, then the floor of exactly the images that
  unit wrote, straight after (the shared machine's noise then hits both alike); medians over rounds. One untimed
  unit per task first loads the scenes and episodes (loading is measured by the end-to-end runs below and by
  `bench_scale.py`). Two ratios: *wall*, floor time / generation time, where generation runs in one process whose
  writer threads (one per core) encode and write the JPEGs; and *CPU*, floor CPU time / generation CPU time (all
  threads): the work done, whatever the parallelism. The CPU ratio is the one-core efficiency; the wall ratio is
  what one process gives.
- the file tax: writing the floor's JPEG bytes to files in the output's file system, per image, next to encoding;
  and the image path: `write_image` (encoding RGB pixels, hashing, writing the file) against the floor, per image;
- end to end: `generate` for the whole dataset (setup included), with 1 and with 2 worker processes.

Each round's output is removed once its floor is measured (`--keep-rounds` keeps them). A long run fills the page
cache, and from then on the kernel recycles the memory of written pages; a short bench that keeps its output instead
asks for fresh memory for every file, which on our VM cost from 0.02 to 0.5 ms per 60 KB image within one hour (as
much as encoding it), by the byte and not by the file (one large file cost the same), while rewriting freed memory
stayed at 0.02-0.04 ms: that is what the file tax line measures.

Everything the bench writes goes to a temporary folder inside `--work-dir` (default: the current folder, where the
README writes its dataset), removed at the end. Creating a file is part of generating: it is measured there before
the rounds (and after, as the file tax). On our 2-core VM's ext4 it cost 0.04 ms in most folders, but 0.2-0.8 ms
(more than encoding the JPEG) for minutes in a folder where thousands of files had just been deleted. Where it is
that slow, the ratios measure the file system as much as the generator: `--work-dir /dev/shm` (tmpfs) shows the
generator's own.

Usage: python bench/bench_generate.py [--per-task 64] [--rounds 5] [--scenes 10] [--episodes 6] [--source-dir DIR]
       [--writers N] [--e2e-per-task 256] [--work-dir DIR] [--keep-rounds]
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
import cv2, numpy as np
from xvr.core import read_jsonl, read_image, write_image
from xvr.dataset import FolderSource, prepare_split, run_unit, generate
from xvr.sources.sim import render_dataset
from xvr.core import TASK_NAMES


def clock(): return time.perf_counter(), time.process_time()


def floor(images):
    "(wall, cpu) seconds to JPEG-encode `images` in one thread, and the encoded bytes."
    (w, c), out = clock(), []
    for im in images: out.append(cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 90])[1])
    w2, c2 = clock()
    return w2 - w, c2 - c, out


def file_cost(d, blobs):
    "Seconds per file to create and write each of `blobs` as a file in a new folder `d` (removed afterwards)."
    d.mkdir(); t = time.perf_counter()
    for i, b in enumerate(blobs):
        with open(d / f"{i:06d}.jpg", "wb") as f: f.write(b)
    t = (time.perf_counter() - t) / len(blobs); shutil.rmtree(d)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-task", type=int, default=64); ap.add_argument("--scenes", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=6); ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--source-dir", default=None, help="reuse a rendered source folder (rendered there if missing)")
    ap.add_argument("--writers", type=int, default=None, help="JPEG writer threads per process (default: one per core)")
    ap.add_argument("--e2e-per-task", type=int, default=256, help="samples per task of the end-to-end runs")
    ap.add_argument("--work-dir", default=".", help="folder for the bench's outputs (a temporary folder inside it)")
    ap.add_argument("--keep-rounds", action="store_true",
                    help="keep every round's output (default: removed once measured, so the page cache recycles its memory)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(dir=a.work_dir, prefix=".bench_generate-"))
    print(f"creating a file in {tmp}: {file_cost(tmp / 'probe', [os.urandom(30_000)] * 500) * 1e3:.3f} ms (before the rounds)")
    src_dir = Path(a.source_dir) if a.source_dir else tmp / "src"
    render_dataset(src_dir, scenes=a.scenes, episodes=a.episodes, views=10, duration=20, progress=False)
    src = FolderSource(src_dir)
    t = time.perf_counter(); prep = prepare_split(src, "train", "boat", "sawyer", progress=False); t_setup = time.perf_counter() - t
    print(f"setup (scan the train split once): {t_setup:.1f} s; OpenCV threads: {cv2.getNumThreads()}; cores: {os.cpu_count()}")
    keys = ("n", "gw", "gc", "fw", "fc")
    m = {t: {k: [] for k in keys} for t in TASK_NAMES}
    for task in TASK_NAMES:
        out = tmp / "units" / task; (out / "shards").mkdir(parents=True)
        run_unit(src, prep, "train", task, 10_000, a.per_task, 1, out)  # warm the per-process caches (not timed)
    encoded, last = [], []
    for rnd in range(a.rounds):
        for task in TASK_NAMES:
            out = tmp / "units" / task
            w, c = clock(); r = run_unit(src, prep, "train", task, rnd, a.per_task, 0, out, writers=a.writers); w2, c2 = clock()
            imgs = [read_image(p) for p in sorted((out / "shards" / f"{task}-{rnd:05d}" / "images").glob("*.jpg"))]
            fw, fc, enc = floor(imgs); encoded += enc
            for k, v in zip(keys, (r["samples"], w2 - w, c2 - c, fw, fc)): m[task][k].append(v)
            if rnd == a.rounds - 1: last += imgs
            if not a.keep_rounds: shutil.rmtree(out / "shards" / f"{task}-{rnd:05d}")
    med = lambda x: float(np.median(x))
    print(f"{'task':36s} {'samples/s':>9s} {'floor/s':>8s} {'wall':>5s} {'CPU':>5s}   wall min-max  (medians of {a.rounds} rounds)")
    for task in TASK_NAMES:
        d = m[task]; rw = [f / g for f, g in zip(d["fw"], d["gw"])]; rc = [f / g for f, g in zip(d["fc"], d["gc"])]
        print(f"{task:36s} {sum(d['n']) / sum(d['gw']):9.1f} {sum(d['n']) / sum(d['fw']):8.1f} {med(rw):5.2f} {med(rc):5.2f}   {min(rw):.2f}-{max(rw):.2f}")
    per_round = lambda k: [sum(m[t][k][i] for t in TASK_NAMES) for i in range(a.rounds)]
    rw = [f / g for f, g in zip(per_round("fw"), per_round("gw"))]; rc = [f / g for f, g in zip(per_round("fc"), per_round("gc"))]
    n, gw, fw = (sum(per_round(k)) for k in ("n", "gw", "fw"))
    print(f"{'all tasks (steady state)':36s} {n / gw:9.1f} {n / fw:8.1f} {med(rw):5.2f} {med(rc):5.2f}   {min(rw):.2f}-{max(rw):.2f}")

    # the file tax: creating and writing the same JPEG bytes as files, where the dataset is written
    tax = file_cost(tmp / "filetax", encoded); enc = sum(sum(m[t]["fw"]) for t in TASK_NAMES) / len(encoded)
    print(f"per image: JPEG encoding {enc * 1e3:.3f} ms, creating + writing its file {tax * 1e3:.3f} ms "
          f"({tax / enc:.2f}x the encoding) on {tmp}")
    # the image path: `write_image` (RGB pixels -> JPEG, its content hash, the file) on the last round's images
    (tmp / "path").mkdir(); c = time.process_time()
    for i, im in enumerate(last): write_image(f"{tmp}/path/{i:06d}.jpg", im, 90)
    c = time.process_time() - c; fc = floor(last)[1]
    print(f"per image: write_image {c / len(last) * 1e3:.3f} ms CPU, {c / fc:.2f}x the floor's encoding of the same "
          f"{len(last)} images (the colour handling, the content hash and the file included)")

    for workers in (1, 2):
        outd = tmp / f"out{workers}"; t = time.perf_counter()
        generate(src_dir, outd, per_task=a.e2e_per_task, eval_per_task=1, validate=False, progress=False, workers=workers)
        t_all = time.perf_counter() - t
        samples = [(sp, s) for sp in ("train", "eval") for s in read_jsonl(outd / sp / "samples.jsonl")]
        imgs = [read_image(outd / sp / p) for sp, s in samples for p in s.images]
        fwall = floor(imgs)[0]
        print(f"end to end, {workers} worker{'s' if workers > 1 else ''}: {len(samples)} samples in {t_all:.1f} s = {len(samples) / t_all:.1f} samples/s, "
              f"wall ratio to the one-thread floor {fwall / t_all:.2f} (setup included)")
    print(f"100K samples at the one-process steady-state rate: {100_000 / (n / gw) / 3600:.2f} h")
    shutil.rmtree(tmp)


if __name__ == "__main__": main()
