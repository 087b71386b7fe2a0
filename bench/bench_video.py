"""Decoding speed of `xvr.video.read_video` for a 20 s, 30 fps, 480x640 AV1 episode on one core: frames/s at stride 1,
and how much faster a stride-6 read is (the AgiBot loader's default, 30 Hz -> 5 Hz), for several keyframe intervals
(the encoder's default, 1 s, 6 frames, LeRobot's 2 frames), against decoding and converting every frame (what a
reader without seeking does). All numbers come from one run, each the best of `--repeat` tries, on one pinned core
with one decoder thread; the load average is printed because other processes on a shared machine slow every number.
Content: a textured scene panned by the camera with a moving object and sensor noise (harder to decode than the
flat-shaded toy fixture, which is also measured: `agibot fixture`).
Usage: python bench/bench_video.py [--seconds 20] [--repeat 3] [--gops default,30,6,2]
"""
import argparse, os, tempfile, time
from pathlib import Path

import cv2
import numpy as np

from xvr.video import read_video, read_frames, video_info, write_video


def textured_episode(n:int, h:int=480, w:int=640, seed:int=0):
    "Frames (H, W, 3) of a camera panning over a smooth random texture, with a moving box and noise."
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.integers(0, 256, (2 * h, 2 * w, 3), dtype=np.uint8), (0, 0), 3)
    tex = cv2.addWeighted(tex, 2.0, np.full_like(tex, 128), -1.0, 0)                   # more contrast
    for t in range(n):
        y, x = int(h / 2 * (1 + np.sin(t / 90))), int(w / 2 * (1 + np.cos(t / 70)))
        f = tex[y // 2:y // 2 + h, x // 2:x // 2 + w].copy()
        bx = int((w - 120) * (0.5 + 0.5 * np.sin(t / 25)))
        f[200:320, bx:bx + 120] = (200, 40, 40)
        yield np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8)


def best(f, repeat:int)->float:
    "Best wall time of `f()` over `repeat` runs, s."
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)


def decode_all(path)->int:
    "Decode and convert every frame (no seeking, no skipping): the baseline."
    import av
    with av.open(str(path)) as c:
        s = c.streams.video[0]; s.codec_context.thread_count = 1
        return sum(1 for f in c.decode(s) if f.to_ndarray(format="rgb24") is not None)


def measure(path, repeat:int)->dict:
    n = video_info(path).n_frames
    t1 = best(lambda: read_video(path, stride=1, threads=1), repeat)
    t6 = best(lambda: read_video(path, stride=6, threads=1), repeat)
    tb = best(lambda: decode_all(path), repeat)
    return dict(n=n, fps1=n / t1, t1=t1, t6=t6, ratio=t1 / t6, base_ratio=tb / t6, keyframes=len(video_info(path).keyframes))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0); ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gops", default="default,30,6,2", help="keyframe intervals to encode with (frames, or 'default')")
    ap.add_argument("--core", type=int, default=None, help="CPU to pin to (default: the first allowed one)")
    a = ap.parse_args(argv)
    core = a.core if a.core is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    n = int(round(a.seconds * 30)); tmp = Path(tempfile.mkdtemp())
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; pinned to CPU {core}")
    frames = list(textured_episode(n))
    rows = []
    for g in a.gops.split(","):
        p = tmp / f"g{g}.mp4"
        t = time.perf_counter()
        write_video(p, frames, 30, "av1", gop=None if g == "default" else int(g))
        enc = n / (time.perf_counter() - t)
        rows.append((f"textured, gop {g}", p.stat().st_size / 2**20, enc, measure(p, a.repeat)))
    from xvr.sources.agibot import write_agibot_fixture
    eps = write_agibot_fixture(tmp / "agibot", n_frames=n, hold=15)
    p = eps[0] / "videos" / "head_color.mp4"
    rows.append(("agibot fixture, gop default", p.stat().st_size / 2**20, float("nan"), measure(p, a.repeat)))
    print(f"\n{n} frames, 480x640 AV1 (SVT-AV1 preset 12, crf 30), decoded by libdav1d with 1 thread\n")
    print(f"{'video':30s} {'MB':>6s} {'keyframes':>9s} {'enc fps':>8s} {'stride-1 fps':>12s} {'stride-6 s':>10s} "
          f"{'stride 1/6':>10s} {'all-RGB/6':>9s}")
    for name, mb, enc, m in rows:
        print(f"{name:30s} {mb:6.2f} {m['keyframes']:9d} {enc:8.0f} {m['fps1']:12.0f} {m['t6']:10.3f} {m['ratio']:9.1f}x "
              f"{m['base_ratio']:8.1f}x")
    print(f"\ntargets: stride-1 >= 200 frames/s; stride 6 >= 3x faster than stride 1")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
