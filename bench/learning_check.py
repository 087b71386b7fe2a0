"""CPU learning check: generate a train and an eval set, train the tiny Qwen3-VL with `xvr.vlm.training`, evaluate before/after.

Proves that the SFT loop and the evaluation harness are connected end to end: the same prompts, labels and answer
extraction; a model that learns shows it in the per-task table.

Data: `--data DIR`, an `xvr_generate` output folder (`train/`, `eval/`) or a folder with `train.jsonl` and
`eval.jsonl`; otherwise `--generate N` (default 300) runs `xvr_generate --source sim` with N training samples per
task into OUT/data first.

    python bench/learning_check.py --out /tmp/xvr_learning_check
    python bench/learning_check.py --data runs/xvr_small --out /tmp/lc      # on generated XVR data

The check on the simulated source (issue #6); the eval split (XVR-Eval) is the held-out embodiment (sawyer), every
other episode is training data, and each episode has its own drawn camera rig (issue #16: 16 episodes = 4 rigs per
embodiment):

    python bench/learning_check.py --generate 600 --tasks directional_view_localization language_conditioned_localization \
        --episodes 16 --scenes 1 --eval-total 200 --epochs 2 --hidden 192 --layers 3 --vision-hidden 128 --vision-depth 3 \
        --lr 1e-3 --threads 1 --robot-size 120 212 --eval-train 100 --out /tmp/lc_sim

The default tiny size (hidden 128, 2 layers, a 64-wide 2-block vision tower) stays at the blind prior on this data;
the size above is the one issue #6 found to fit the training distribution (with 2000 samples per task and 4 epochs).
"""
import argparse, json, sys, time
from pathlib import Path

import numpy as np

from xvr.core import read_jsonl
from xvr.vlm import evaluation as ev

# ---------------------------------------------------------------- the check
def episodes_by_embodiment(samples)->dict:
    "{embodiment: number of distinct episodes (each with its own camera rig)} among robotic `samples`' views."
    eps = {v["episode"] for s in samples for v in s.meta.get("views", []) if v.get("episode")}
    return {e: sum(x.rsplit("_", 2)[0] == e for x in eps) for e in sorted({x.rsplit("_", 2)[0] for x in eps})}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/xvr_learning_check")
    ap.add_argument("--data", help="folder with train.jsonl and eval.jsonl, or an `xvr_generate` output folder (train/, eval/)")
    ap.add_argument("--generate", type=int, help="first run `xvr_generate --source sim` with this many train samples per task into OUT/data, and use it")
    ap.add_argument("--epochs", type=float, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--vision-hidden", type=int, default=64); ap.add_argument("--vision-depth", type=int, default=2)
    ap.add_argument("--eval-train", type=int, default=0, help="also score the trained model on this many training samples (in distribution)")
    ap.add_argument("--max-pixels", type=int, default=128 * 128)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (use 1 when other jobs share the CPU: OpenMP spinning)")
    ap.add_argument("--tasks", nargs="+", help="with --generate: only these tasks")
    ap.add_argument("--episodes", type=int, default=8, help="with --generate: simulated robot episodes to render")
    ap.add_argument("--scenes", type=int, default=20, help="with --generate: simulated scenes to render")
    ap.add_argument("--eval-total", type=int, default=None, help="with --generate: about this many XVR-Eval samples in all")
    ap.add_argument("--camera-jitter", type=float, default=0.0, help="with --generate: per-episode robot camera offsets, m")
    ap.add_argument("--robot-size", type=int, nargs=2, default=(240, 424), metavar=("H", "W"),
                    help="with --generate: robot frame size (the model sees at most --max-pixels of it)")
    a = ap.parse_args(argv)
    import torch; torch.set_num_threads(a.threads)
    from xvr.vlm.training import SFTConfig, train
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True); t0 = time.time()
    if not a.data and not a.generate: a.generate = 300
    if a.generate:
        from xvr.dataset import xvr_generate_cli
        a.data = str(out / "data")
        from xvr.dataset import EVAL_COUNTS
        ntask = len(a.tasks or EVAL_COUNTS)   # --eval-per-task is a mean over all 8 tasks' proportions: scale it to the chosen ones
        share = sum(EVAL_COUNTS[t] for t in (a.tasks or EVAL_COUNTS)) / sum(EVAL_COUNTS.values())
        ev_per = max(25, a.generate // 6) if a.eval_total is None else int(round(a.eval_total / share / ntask))
        xvr_generate_cli(["--source", "sim", "--out", a.data, "--per-task", str(a.generate), "--eval-per-task", str(ev_per),
                          "--scenes", str(a.scenes), "--episodes", str(a.episodes), "--workers", "2",
                          "--camera-jitter", str(a.camera_jitter),
                          "--robot-height", str(a.robot_size[0]), "--robot-width", str(a.robot_size[1])] + (["--tasks", *a.tasks] if a.tasks else []))
    if a.data and (Path(a.data) / "train" / "samples.jsonl").exists():     # xvr_generate layout
        tr, evp = Path(a.data) / "train" / "samples.jsonl", Path(a.data) / "eval" / "samples.jsonl"
    else:
        tr, evp = Path(a.data) / "train.jsonl", Path(a.data) / "eval.jsonl"
    train_s, eval_s = read_jsonl(tr), read_jsonl(evp)
    splits = {k: episodes_by_embodiment(v) for k, v in (("train", train_s), ("eval", eval_s))}
    print(f"episodes (= camera rigs) per embodiment: {splits}")
    cfg = SFTConfig(model="tiny", train=[str(tr)], output_dir=str(out / "sft"), epochs=a.epochs, lr=a.lr,
                    warmup_ratio=0.05, per_device_batch=a.batch, grad_accum=1, num_workers=1, save_steps=10**9,
                    gradient_checkpointing=False, min_pixels=32 * 32, max_pixels=a.max_pixels, resume=False,
                    tiny_kwargs=dict(hidden=a.hidden, layers=a.layers, vision_depth=a.vision_depth, vision_hidden=a.vision_hidden, vocab_size=512))
    from xvr.vlm.qwen import tiny_qwen3_vl
    m0, p0 = tiny_qwen3_vl([s.question for s in train_s], min_pixels=32 * 32, max_pixels=a.max_pixels, **cfg.tiny_kwargs)
    import shutil; shutil.rmtree(out / "sft", ignore_errors=True)
    rows, t1 = {}, time.time()
    rows["Random (sampled)"] = ev.accuracy_row(ev.evaluate(ev.RandomAdapter(), eval_s, evp.parent, progress=False))
    rows["Blind (most frequent)"] = ev.accuracy_row(ev.evaluate(ev.BlindAdapter().fit(train_s), eval_s, evp.parent, progress=False))
    rows["Geometry (SIFT+RANSAC)"] = ev.accuracy_row(ev.evaluate(ev.GeometryAdapter().fit(train_s), eval_s, evp.parent, progress=False))
    rows["tiny Qwen3-VL, before SFT"] = ev.accuracy_row(ev.evaluate(ev.TransformersAdapter(m0, p0, max_new_tokens=4), eval_s, evp.parent, progress=False))
    print(f"baselines evaluated in {time.time() - t1:.0f}s")
    t2 = time.time(); res = train(cfg, model=m0, processor=p0)
    print(f"trained {res['step']} steps in {time.time() - t2:.0f}s; loss {res['history'][0]['loss']:.3f} -> {res['history'][-1]['loss']:.3f}")
    ad = ev.TransformersAdapter(str(out / "sft" / "final"), name="tiny-XVR", max_new_tokens=4)
    recs = ev.evaluate(ad, eval_s, evp.parent, out / "predictions_after.jsonl", resume=False, progress=False)
    rows["tiny Qwen3-VL, after SFT"] = ev.accuracy_row(recs)
    if a.eval_train:   # the same model on training samples: tells an optimisation failure from an out-of-distribution one
        sub = [train_s[i] for i in np.random.default_rng(0).choice(len(train_s), min(a.eval_train, len(train_s)), replace=False)]
        rows["tiny Qwen3-VL, after SFT, on train samples"] = ev.accuracy_row(ev.evaluate(ad, sub, tr.parent, progress=False))
    # chance for exactly these option counts (not Table 5's): mean of 1/#options per task
    ch = {}
    for s in eval_s: ch.setdefault(s.task, []).append(100 / len(s.options))
    rows["Chance (these options)"] = {t: float(np.mean(v)) for t, v in ch.items()} | {
        "Overall (samples)": float(np.mean([x for v in ch.values() for x in v])), "Overall (tasks)": float(np.mean([np.mean(v) for v in ch.values()]))}
    df = ev.results_table(rows, random_row=False)
    ev.write_tables(df, out, "learning_check")
    import matplotlib
    matplotlib.use("Agg")
    from xvr.vlm.training import plot_loss
    ax = ev.plot_results(df, title="learning check (XVR data)"); ax.figure.tight_layout(); ax.figure.savefig(out / "learning_check.png", dpi=110)
    ax = plot_loss(res["history"]); ax.figure.tight_layout(); ax.figure.savefig(out / "loss.png", dpi=110)
    print(ev.to_markdown(df.round(1)))
    print(f"total {time.time() - t0:.0f}s; files in {out}")
    json.dump(dict(rows=rows, seconds=time.time() - t0, steps=res["step"], episodes=splits), open(out / "learning_check.json", "w"), indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
