"""Reading the official XVR release layout: a synthetic release of N records (the paper's figure texts, 3-6 images each,
PNG), packed in tar shards or extracted, measured in one run. Prints the member-index build rate, records read per
second (packed and extracted, images checked for existence only), and the cost of one image read through a tar
member against the same PNG as a file (ratio packed / extracted, same run). The full release is 109,650 records
and 396,320 images in ~40 shards: the printed rates give the time to index and read it on this machine.
Usage: python bench/bench_release.py [--records 2000] [--size 240x320] [--shard-size 2000]
"""
import argparse, json, shutil, tempfile, time
from pathlib import Path

import numpy as np

from xvr.core import read_image, tar_index, _TAR_INDEX
from xvr.release import PAPER_QUESTIONS, release_record, read_release, write_shard, _png
from xvr.tasks.common import PREAMBLE_GENERAL, PREAMBLE_ROBOTIC, TASK_INFO

ANSWERS = {"point_correspondence": "yellow", "directional_correspondence": "red", "spatial_verification": "2",
           "temporal_verification": "2", "viewpoint_localization": "5", "directional_view_localization": "2",
           "cross_scenario_localization": "4", "language_conditioned_localization": "3"}
LINES = {"point_correspondence": ["Image 1 (Reference):"] * 4 + ["Image 5:"],
         "directional_correspondence": ["Image 1 (Reference):"] * 3 + ["Image 4:"],
         "spatial_verification": ["Image 1:", "Image 2:", "Image 3:"],
         "temporal_verification": ["Image 1 (a):", "Image 2 (b):", "Image 3 (c):", "Image 4 (d):"],
         "viewpoint_localization": ["Image 1 (Reference):"] * 3 + ["Image 4:", "Image 5:", "Image 6:"],
         "directional_view_localization": ["Image 1 (fix_center): Centre.", "Image 2:", "Image 3:"],
         "cross_scenario_localization": ["Scenario 1:\nImage 1 (fix_right): R.", "Image 2 (c):", "Image 3 (d):",
                                         "Scenario 2:\nImage 4:", "Image 5:", "Image 6:"],
         "language_conditioned_localization": ["Image 1 (fix_center): Centre.", "Image 2:", "Image 3:"]}


def numbered(lines):
    "Image lines numbered in order (the templates above repeat 'Image 1' for brevity)."
    out = []
    for k, l in enumerate(lines, 1):
        head, sep, tail = l.rpartition("Image ")
        out.append(head + sep + str(k) + tail[tail.index(" ") if " " in tail else tail.index(":"):] if sep else l)
    return out


def make_release(root: Path, n: int, size, shard_size: int):
    "Write n records cycling through the 8 tasks, with one shared pool of 64 distinct PNGs reused as members."
    rng = np.random.default_rng(0)
    pngs = [_png(rng.integers(0, 255, (*size, 3), dtype=np.uint8)) for _ in range(64)]
    tasks, recs, members = list(ANSWERS), [], []
    for k in range(n):
        t = tasks[k % 8]
        lines = numbered(LINES[t])
        urls = [f"images/img_{len(members) + j + 1:07d}.png" for j in range(len(lines))]
        members += [(u, pngs[(len(members) + j) % 64]) for j, u in enumerate(urls)]
        pre = PREAMBLE_GENERAL if TASK_INFO[t]["domain"] == "general" else PREAMBLE_ROBOTIC
        recs.append(release_record(f"s{k}", "x", pre, lines, PAPER_QUESTIONS[t], ANSWERS[t], urls))
    root.mkdir(parents=True)
    (root / "xvr_eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    for s in range(0, len(members), shard_size):
        write_shard(root / "image_shards" / f"images_{s // shard_size:03d}.tar", members[s:s + shard_size])
    return members


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--size", default="240x320", help="HxW of the images")
    ap.add_argument("--shard-size", type=int, default=2000, help="images per tar shard")
    ap.add_argument("--reads", type=int, default=300, help="images read each way for the per-image cost")
    a = ap.parse_args(argv)
    size = tuple(int(x) for x in a.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_release_"))
    try:
        packed, extracted = tmp / "packed", tmp / "extracted"
        members = make_release(packed, a.records, size, a.shard_size)
        extracted.mkdir(); shutil.copy(packed / "xvr_eval.jsonl", extracted)
        for u, data in members: (extracted / u).parent.mkdir(exist_ok=True); (extracted / u).write_bytes(data)
        t = time.perf_counter()
        for sh in sorted((packed / "image_shards").glob("*.tar")): tar_index(sh)
        t_index = time.perf_counter() - t
        print(f"{a.records} records, {len(members)} images ({size[0]}x{size[1]} PNG) in "
              f"{len(list((packed / 'image_shards').glob('*.tar')))} shards")
        print(f"member index: {len(members) / t_index:,.0f} members/s ({t_index:.2f} s)")
        rates = {}
        for name, root in (("packed", packed), ("extracted", extracted)):
            _TAR_INDEX.clear()
            t = time.perf_counter(); r = read_release(root, "test"); dt = time.perf_counter() - t
            assert len(r) == a.records and not r.skipped, r.summary()
            rates[name] = a.records / dt
            print(f"read_release {name}: {rates[name]:,.0f} records/s ({dt:.2f} s, index included)")
        pick = [members[i][0] for i in np.random.default_rng(1).choice(len(members), min(a.reads, len(members)), replace=False)]
        paths = {u: p for s in r for u, p in zip(s.meta["release"]["urls"], s.images)}
        rp = read_release(packed, "test"); ppaths = {u: p for s in rp for u, p in zip(s.meta["release"]["urls"], s.images)}
        t = time.perf_counter(); [read_image(packed / ppaths[u]) for u in pick]; tp = (time.perf_counter() - t) / len(pick)
        t = time.perf_counter(); [read_image(extracted / paths[u]) for u in pick]; te = (time.perf_counter() - t) / len(pick)
        print(f"one image: packed {1e3 * tp:.3f} ms, extracted {1e3 * te:.3f} ms, ratio packed/extracted {tp / te:.2f}")
        full = 109_650
        print(f"full release at these rates: index 396,320 members {396_320 / (len(members) / t_index):.0f} s; "
              f"read {full:,} records packed {full / rates['packed']:.0f} s, extracted {full / rates['extracted']:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
