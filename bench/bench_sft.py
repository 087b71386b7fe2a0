"""SFT throughput: tokens/s, samples/s, peak memory and MFU, one table line per setting.

Each setting is a short run of the real trainer (`xvr.vlm.training.train`: accelerate, the DataLoader and its
workers encoding samples with the processor, AdamW, clipping; no checkpoints) on the same XVR samples. The numbers
come from the trainer's own log: every optimizer step records its real tokens (no padding), samples, model FLOPs
(`xvr.vlm.qwen.train_flops`: matmuls + attention of both towers, forward + backward, no recompute) and the peak GPU
memory. The first `--warmup` steps are left out. MFU = model FLOPs / step time / the GPU's peak dense bf16 FLOP/s,
from the table below or `--peak-tflops`.

  python bench/bench_sft.py                         # tiny model on the CPU: padded vs packed (sdpa)
  python bench/bench_sft.py --size 2b --steps 30    # real-size random-init Qwen3-VL-2B on a GPU, bf16
  python bench/bench_sft.py --size 2b --settings padded:sdpa packed:sdpa packed:flash_attention_2

`--data JSONL` uses existing samples (e.g. `xvr_generate --source sim`); otherwise the bench writes random
multi-view samples (2 to 6 views of `--res`, as XVR's tasks have) into a temporary folder.
"""
from __future__ import annotations
import argparse, json, math, os, resource, sys, tempfile, time
from pathlib import Path

import numpy as np

# Vendor peak dense (no sparsity) bf16 tensor throughput, TFLOP/s.
PEAK_BF16_TFLOPS = {"H200": 989.4, "H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.4, "H800": 989.4, "GH200": 989.4,
                    "B200": 2250.0, "A100": 312.0, "A800": 312.0, "L40S": 362.1, "L4": 121.0, "A10G": 125.0,
                    "RTX 4090": 165.2}


def peak_tflops(name: str) -> float | None:
    "The table's peak for a device name (the longest matching key), None if unknown."
    keys = [k for k in PEAK_BF16_TFLOPS if k.lower() in name.lower()]
    return PEAK_BF16_TFLOPS[max(keys, key=len)] if keys else None


def write_samples(out: Path, n: int, res: tuple[int, int], views=(2, 6), seed: int = 0) -> Path:
    "Random XVR-like samples: `views` images of `res` each, an image-number answer (a stand-in for real samples)."
    from xvr.core import Sample, write_image, write_jsonl
    rng, samples = np.random.default_rng(seed), []
    for k in range(n):
        v = int(rng.integers(views[0], views[1] + 1))
        imgs = []
        for j in range(v):
            p = f"images/{k:05d}_{j}.png"
            write_image(out / p, rng.integers(0, 255, (*res, 3), dtype=np.uint8))
            imgs.append(p)
        q = "\n".join(f"Image {j + 1}: <image>" for j in range(v)) + "\nWhich image shows the marked point displaced?"
        samples.append(Sample(f"spatial_verification/bench/s{k}/{k}", "spatial_verification", "verification",
                              "general", "bench", f"s{k}", q, [str(j + 1) for j in range(v)],
                              str(int(rng.integers(1, v + 1))), imgs))
    write_jsonl(out / "train.jsonl", samples)
    return out / "train.jsonl"


def summarize(history: list[dict], warmup: int, peak: float | None) -> dict:
    "Steady-state throughput from the trainer's log records (the first `warmup` steps dropped)."
    h = history[warmup:] if len(history) > warmup + 1 else history
    t0 = history[warmup - 1]["time"] if len(history) > warmup + 1 and warmup > 0 else 0.0
    dt = h[-1]["time"] - t0
    tok, smp, fl = (sum(r[k] for r in h) for k in ("tokens", "samples", "flops"))
    mem = [r.get("peak_mem_gb") for r in history if r.get("peak_mem_gb") is not None]
    return dict(steps=len(h), s_per_step=dt / len(h), tokens_per_s=tok / dt, samples_per_s=smp / dt,
                tflops=fl / dt / 1e12, mfu=(fl / dt / 1e12 / peak) if peak else None,
                peak_mem_gb=max(mem) if mem else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                mem_kind="cuda max allocated" if mem else "process max RSS", last_loss=history[-1]["loss"])


def run_setting(train_file: Path, out: Path, setting: str, a) -> dict:
    "Train `a.steps` optimizer steps with one `layout:attention` setting; its summary row."
    import torch
    from xvr.vlm.training import SFTConfig, train
    parts = setting.split(":")
    if len(parts) not in (2, 3) or parts[0] not in ("padded", "packed") or parts[2:] not in ([], ["liger"]):
        raise SystemExit(f"bad setting {setting!r}: layout:attention[:liger], e.g. packed:flash_attention_2:liger")
    layout, attn = parts[:2]
    kw = dict(text_layers=a.text_layers, vision_depth=a.vision_depth, init=a.init) if a.size == "2b" else {}
    cfg = SFTConfig(model="random-2b" if a.size == "2b" else "tiny", train=[str(train_file)], output_dir=str(out),
                    max_steps=a.steps, epochs=1e6, per_device_batch=a.batch, grad_accum=1, lr=1e-5, save_steps=0,
                    save_final=False, resume=False, num_workers=a.workers, packing=layout == "packed",
                    attn_implementation=attn, gradient_checkpointing=a.grad_ckpt, loss_logits=a.loss_logits,
                    liger=a.liger or parts[2:] == ["liger"], min_pixels=a.min_pixels, max_pixels=a.max_pixels,
                    tiny_kwargs={k: v for k, v in kw.items() if v is not None})
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    r = train(cfg)
    if torch.cuda.is_available(): torch.cuda.empty_cache()
    return dict(setting=setting) | summarize(r["history"], a.warmup, a.peak)


def print_table(rows: list[dict]):
    "One line per setting."
    print(f"{'setting':<28}{'tokens/s':>10}{'samples/s':>10}{'s/step':>8}{'TFLOP/s':>9}{'MFU':>7}{'peak GB':>9}")
    for r in rows:
        if "error" in r:
            print(f"{r['setting']:<28}  failed: {r['error']}")
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
        print(f"{r['setting']:<28}{r['tokens_per_s']:>10.0f}{r['samples_per_s']:>10.2f}{r['s_per_step']:>8.2f}"
              f"{r['tflops']:>9.3g}{mfu:>7}{r['peak_mem_gb']:>9.1f}")


def parser() -> argparse.ArgumentParser:
    "The bench's options."
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["tiny", "2b"], default="tiny", help="tiny CPU model or real-size Qwen3-VL-2B")
    ap.add_argument("--settings", nargs="+", default=["padded:sdpa", "packed:sdpa"],
                    help="layout:attention[:liger] (layout padded|packed; attention sdpa|flash_attention_2|eager|...)")
    ap.add_argument("--steps", type=int, default=6, help="optimizer steps per setting")
    ap.add_argument("--warmup", type=int, default=2, help="first steps left out of the figures")
    ap.add_argument("--batch", type=int, default=4, help="samples per step (Table 6: 4 per GPU)")
    ap.add_argument("--data", default=None, help="a JSONL of samples (default: random multi-view samples)")
    ap.add_argument("--samples", type=int, default=None, help="random samples to write (default batch x steps)")
    ap.add_argument("--res", default=None, help="HxW of the random views (default 480x640 for 2b, 64x80 tiny)")
    ap.add_argument("--min-pixels", type=int, default=None); ap.add_argument("--max-pixels", type=int, default=None)
    ap.add_argument("--text-layers", type=int, default=None, help="2b: cut the decoder (default: all 28)")
    ap.add_argument("--vision-depth", type=int, default=None, help="2b: cut the vision tower (default: all 24)")
    ap.add_argument("--init", choices=["normal", "fast"], default="normal", help="2b: random init (fast: CPU)")
    ap.add_argument("--grad-ckpt", action=argparse.BooleanOptionalAction, default=True, help="Table 6: on")
    ap.add_argument("--loss-logits", choices=["answer", "all"], default="answer")
    ap.add_argument("--liger", action="store_true")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    ap.add_argument("--peak-tflops", type=float, default=None, help="peak bf16 TFLOP/s (default: table by GPU name)")
    ap.add_argument("--json", default=None, help="also write the rows here")
    ap.add_argument("--keep-going", action="store_true", help="a failing setting is a table line, not an exit")
    return ap


def run(argv=None) -> list[dict]:
    "Run every setting; returns the rows (also printed, and written to `--json`)."
    import torch
    a = parser().parse_args(argv)
    big = a.size == "2b"
    res = tuple(int(x) for x in (a.res or ("480x640" if big else "64x80")).split("x"))
    a.min_pixels = a.min_pixels or (64 * 32 * 32 if big else 1024)
    a.max_pixels = a.max_pixels or (640 * 480 if big else 64 * 80)
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    a.peak = a.peak_tflops or (peak_tflops(dev) if dev != "cpu" else None)
    print(f"# device {dev}; peak bf16 {a.peak or 'unknown'} TFLOP/s; model {a.size}; batch {a.batch}; "
          f"{a.steps} steps ({a.warmup} warm-up); data {a.data or f'random {res[0]}x{res[1]} views'}; "
          f"grad ckpt {a.grad_ckpt}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        data = Path(a.data) if a.data else write_samples(Path(d) / "data", a.samples or a.batch * (a.steps + 1), res)
        for s in a.settings:
            try: rows.append(run_setting(data, Path(d) / s.replace(":", "_"), s, a))
            except Exception as e:
                if not a.keep_going: raise
                rows.append(dict(setting=s, error=f"{type(e).__name__}: {e}"[:300]))
    print_table(rows)
    meta = dict(device=dev, peak_tflops=a.peak, size=a.size, batch=a.batch, steps=a.steps, warmup=a.warmup, res=res)
    if a.json: Path(a.json).write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    return rows


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    run()
