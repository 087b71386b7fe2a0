"""The GPU path in one run, with one JSON report (`bench/gpu_check.sh` installs what it needs, then calls this).

1. data: XVR samples from the simulator (`xvr_generate --source sim`; random multi-view samples if rendering fails,
   and the report says so);
2. SFT: 30 optimizer steps of the real-size, randomly initialised Qwen3-VL-2B in bf16 per setting (padded and packed,
   sdpa and, where installed, flash-attn / Liger), with MFU and peak memory (`bench/bench_sft.py`);
3. VLA: 20 training steps of the GR00T-N1.5-size flow-matching head on the real-size backbone cut at layer 12
   (LLM frozen, vision encoder and head trained, bf16 autocast);
4. evaluation: `xvr_eval --adapter hf` on 50 samples with the random-init model saved as a checkpoint folder;
5. `report.json` in `--out`.

Every step is timed and its failure recorded (the next steps still run). `--dry-run` runs the same code on the CPU
at toy scale: small sim renders, the tiny model for 3 SFT steps per setting, a depth-cut real-width backbone for 2 VLA
steps and 4 evaluation samples. It checks everything but the GPU kernels, the bf16 numbers and the real sizes.
"""
from __future__ import annotations
import argparse, json, os, platform, subprocess, sys, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def _installed(mod: str) -> str | None:
    "The installed version of a module, None if absent."
    try:
        m = __import__(mod)
        return getattr(m, "__version__", "installed")
    except Exception:
        return None


def environment() -> dict:
    "Versions and the device."
    import torch, transformers
    from bench_sft import peak_tflops
    gpu = torch.cuda.is_available()
    name = torch.cuda.get_device_name() if gpu else "cpu"
    return dict(python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda,
                transformers=transformers.__version__, device=name, peak_bf16_tflops=peak_tflops(name) if gpu else None,
                gpu_mem_gb=torch.cuda.get_device_properties(0).total_memory / 2**30 if gpu else None,
                flash_attn=_installed("flash_attn"), liger_kernel=_installed("liger_kernel"), cpus=os.cpu_count())


def make_data(out: Path, a) -> dict:
    "Sim XVR samples (train + eval JSONL); random samples if rendering fails."
    sim = ["--source", "sim", "--out", str(out / "sim"), "--workers", str(a.workers)]
    small = ["--per-task", "1", "--scenes", "2", "--episodes", "2", "--views", "4", "--height", "240", "--width", "320",
             "--robot-height", "120", "--robot-width", "212", "--duration", "4", "--min-duration", "3"]
    sim += (small if a.dry_run else
            ["--per-task", "16", "--eval-per-task", "10", "--scenes", "4", "--episodes", "3"])
    code = "import sys; from xvr.dataset import xvr_generate_cli; sys.exit(xvr_generate_cli(sys.argv[1:]))"
    try:
        r = subprocess.run([sys.executable, "-c", code, *sim], capture_output=True, text=True, timeout=a.sim_timeout)
        train, evals = out / "sim" / "train" / "samples.jsonl", out / "sim" / "eval" / "samples.jsonl"
        if r.returncode == 0 and train.exists() and evals.exists():
            n = [len(p.read_text().splitlines()) for p in (train, evals)]
            return dict(kind="sim", train=str(train), eval=str(evals), n_train=n[0], n_eval=n[1])
        why = f"xvr_generate exit {r.returncode}: {(r.stderr or '').strip().splitlines()[-1:] or 'no files'}"
    except subprocess.TimeoutExpired:
        why = f"xvr_generate took over {a.sim_timeout} s"
    from bench_sft import write_samples
    res = (240, 320) if a.dry_run else (480, 640)
    tr = write_samples(out / "random", 64 if not a.dry_run else 8, res)
    return dict(kind="random multi-view samples", why_not_sim=why, train=str(tr), eval=str(tr))


def sft_check(data: dict, out: Path, env: dict, a) -> dict:
    "SFT throughput rows per setting (bench_sft on the real trainer)."
    from bench_sft import run
    settings = ["padded:sdpa", "packed:sdpa"]
    if env["flash_attn"]: settings.append("packed:flash_attention_2")
    if env["liger_kernel"]:
        settings.append(("packed:flash_attention_2" if env["flash_attn"] else "packed:sdpa") + ":liger")
    args = ["--data", data["train"], "--settings", *settings, "--keep-going", "--json", str(out / "sft.json"),
            "--workers", str(min(8, a.workers))]
    # dry run: the tiny model (an optimizer step of even a depth-cut real-width model takes minutes on a busy CPU;
    # tests/test_real_size.py covers the real widths)
    args += (["--size", "tiny", "--steps", "3", "--warmup", "1", "--batch", "2", "--max-pixels", str(120 * 160)]
             if a.dry_run else ["--size", "2b", "--steps", str(a.sft_steps), "--warmup", "5"])
    rows = run(args)
    missing = [s for s, ok in (("flash_attention_2", env["flash_attn"]), ("liger", env["liger_kernel"])) if not ok]
    return dict(settings=settings, rows=rows, skipped=missing)


def vla_check(data: dict, a) -> dict:
    "VLA training steps at GR00T-N1.5 head size on the real-size backbone cut at layer 12."
    import numpy as np, torch
    from xvr.vlm.qwen import random_qwen3_vl
    from xvr.vla.policy import VLA, VLAConfig, make_batch, count_params
    gpu = torch.cuda.is_available()
    dev = "cuda" if gpu else "cpu"
    if a.dry_run:
        vlm, proc = random_qwen3_vl(text_layers=2, vision_depth=2, init="fast", max_pixels=120 * 212)
        cfg = VLAConfig(select_layer=2, layers=2, vl_layers=1, n_embodiments=2)
    else:
        vlm, proc = random_qwen3_vl(text_layers=12, device=dev, max_pixels=240 * 424)  # 12 of 28: GR00T's cut
        cfg = VLAConfig()  # GR00T N1.5: 16-block DiT of width 1536, 32 embodiments, select_layer 12
    policy = VLA(vlm, cfg).to(dev)
    rng = np.random.default_rng(0)
    res = (120, 212) if a.dry_run else (240, 424)  # the simulator's robot cameras
    obs = [dict(images=[rng.integers(0, 255, (*res, 3), dtype=np.uint8) for _ in range(3)],
                cameras=["left", "right", "wrist"], instruction="press the coffee machine button",
                state=rng.normal(size=9).astype(np.float32), action=rng.uniform(-1, 1, (16, 7)).astype(np.float32),
                embodiment_id=0) for _ in range(2 if a.dry_run else a.vla_batch)]
    batch = {k: v.to(dev) for k, v in make_batch(proc, obs).items()}
    opt = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=1e-4, betas=(0.95, 0.999),
                            weight_decay=1e-5)
    if gpu: torch.cuda.reset_peak_memory_stats()
    policy.train()
    losses, times = [], []
    for i in range(2 if a.dry_run else a.vla_steps):
        t = time.time()
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=gpu):
            loss = policy(batch)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in policy.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if gpu: torch.cuda.synchronize()
        times.append(time.time() - t)
    n = count_params(policy)
    steady = times[3:] if len(times) > 4 else times
    return dict(steps=len(losses), batch=len(obs), losses=losses, s_per_step=sum(steady) / len(steady),
                peak_mem_gb=torch.cuda.max_memory_allocated() / 2**30 if gpu else None,
                head_params=sum(p.numel() for p in policy.head.parameters()), trainable=n["trainable"],
                llm_layers=len(policy.backbone.vlm.model.language_model.layers), finite=all(np.isfinite(losses)))


def eval_check(data: dict, out: Path, a) -> dict:
    "`xvr_eval --adapter hf` with the random-init model saved as a folder."
    import torch
    from xvr.vlm.qwen import random_qwen3_vl, save_qwen
    gpu = torch.cuda.is_available()
    kw = dict(text_layers=1, vision_depth=1, init="fast") if a.dry_run else dict(device="cuda" if gpu else None)
    model, proc = random_qwen3_vl(dtype=torch.bfloat16, **kw)
    folder = out / "random-qwen3-vl-2b"
    save_qwen(model, proc, folder)
    del model
    if gpu: torch.cuda.empty_cache()
    n = 4 if a.dry_run else a.eval_samples
    code = "import sys; from xvr.vlm.evaluation import xvr_eval_cli; sys.exit(xvr_eval_cli(sys.argv[1:]))"
    t = time.time()
    r = subprocess.run([sys.executable, "-c", code, "--data", data["eval"], "--adapter", "hf", "--model", str(folder),
                        "--out", str(out / "eval"), "--limit", str(n), "--no-resume"], capture_output=True, text=True)
    preds = sorted((out / "eval").rglob("*.jsonl"))
    lines = sum(len(p.read_text().splitlines()) for p in preds)
    if r.returncode != 0: raise RuntimeError(f"xvr_eval exit {r.returncode}: {r.stderr.strip()[-800:]}")
    return dict(limit=n, predictions=lines, seconds=time.time() - t, stdout_tail=r.stdout.strip()[-600:])


def step(report: dict, name: str, fn, *args):
    "Run one check, recording its result or its failure and its time."
    t = time.time()
    print(f"== {name}", flush=True)
    try: report[name] = fn(*args) | dict(ok=True)
    except Exception as e:
        report[name] = dict(ok=False, error=f"{type(e).__name__}: {e}"[:2000], trace=traceback.format_exc()[-3000:])
        print(report[name]["trace"], file=sys.stderr, flush=True)
    report[name]["seconds"] = round(time.time() - t, 1)
    import gc, torch
    gc.collect()
    if torch.cuda.is_available(): torch.cuda.empty_cache()  # the evaluation subprocess needs the memory back
    return report[name]


def main(argv=None):
    "Run the checks; write `report.json`; exit 1 if a check failed."
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="gpu_check_out", help="report.json, data, checkpoint, evaluation")
    ap.add_argument("--dry-run", action="store_true", help="the same code on the CPU at toy scale")
    ap.add_argument("--sft-steps", type=int, default=30); ap.add_argument("--vla-steps", type=int, default=20)
    ap.add_argument("--vla-batch", type=int, default=8); ap.add_argument("--eval-samples", type=int, default=50)
    ap.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    ap.add_argument("--sim-timeout", type=int, default=150, help="seconds for rendering sim samples")
    a = ap.parse_args(argv)
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    import torch
    if not a.dry_run and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device (run with --dry-run to check the path on the CPU)")
    t0 = time.time()
    report = dict(dry_run=a.dry_run, started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), environment=environment())
    data = step(report, "data", make_data, out, a)
    if data["ok"]:
        step(report, "sft", sft_check, data, out, report["environment"], a)
        step(report, "vla", vla_check, data, a)
        step(report, "eval", eval_check, data, out, a)
    report["seconds"] = round(time.time() - t0, 1)
    report["ok"] = all(report.get(k, {}).get("ok", False) for k in ("data", "sft", "vla", "eval"))
    rows = report.get("sft", {}).get("rows", [])
    report["summary"] = dict(sft={r["setting"]: {k: r.get(k) for k in ("mfu", "tokens_per_s", "peak_mem_gb", "error")}
                                  for r in rows},
                             vla={k: report.get("vla", {}).get(k) for k in ("s_per_step", "peak_mem_gb", "finite")},
                             eval={k: report.get("eval", {}).get(k) for k in ("limit", "predictions")})
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps(report["summary"], indent=1, default=str))
    print(f"report: {out / 'report.json'} ({report['seconds']} s, {'ok' if report['ok'] else 'FAILED'})")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    sys.exit(main())
