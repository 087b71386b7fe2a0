"""SFT integration tests on the tiny random Qwen3-VL (CPU): loss goes down, answer-only labels, papermill run, resume."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from xvr.core import Sample
from xvr.vlm.qwen import tiny_qwen3_vl, encode_example, collate
from xvr.vlm.training import SFTConfig, train, write_toy_sft_data, latest_checkpoint, read_log, xvr_sft_cli

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(min_pixels=1024, max_pixels=4096)


def _sample(answer="red", options=("blue", "red", "green"), n=2):
    q = "".join(f"Image {i+1}: <image>\n" for i in range(n)) + "Which marker in the last image is the same point?"
    return Sample("point_correspondence/t/s/0", "point_correspondence", "correspondence", "general", "t", "s", q,
                  list(options), answer)


def _imgs(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(n)]


def test_labels_mask_all_but_answer():
    model, proc = tiny_qwen3_vl(**SMALL)
    for s in [_sample("red"), _sample("3", ["1", "2", "3"], 3)]:
        ex = encode_example(proc, s, _imgs(len(s.options) if s.answer == "3" else 2))
        lab, ids = ex["labels"][0], ex["input_ids"][0]
        keep = lab != -100
        # supervised tokens are exactly the trailing answer + <|im_end|>, identical to the input ids there
        n = int(keep.sum())
        assert keep[-n:].all() and not keep[:-n].any()
        assert torch.equal(lab[keep], ids[keep])
        assert proc.tokenizer.decode(lab[keep]) == s.answer + "<|im_end|>"
        # nothing of the prompt (image tokens, question, chat header) is supervised
        assert not keep[ids == model.config.image_token_id].any()
        prompt = proc.tokenizer.decode(ids[~keep])
        assert prompt.endswith("<|im_start|>assistant\n") and "Which marker" in prompt


def test_one_step_lowers_loss_on_fixed_batch():
    model, proc = tiny_qwen3_vl(**SMALL)
    b = collate([encode_example(proc, _sample(a), _imgs(seed=i)) for i, a in enumerate(["red", "blue"])],
                proc.tokenizer.pad_token_id)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    l0 = model(**b).loss
    l0.backward(); opt.step(); opt.zero_grad()
    with torch.no_grad(): l1 = model(**b).loss
    assert l1.item() < l0.item(), (l0.item(), l1.item())


def _cfg(d, **kw):
    data = write_toy_sft_data(Path(d) / "data", 8)
    base = dict(model="tiny", train=[str(data)], output_dir=str(Path(d) / "run"), epochs=2, lr=1e-3, per_device_batch=2,
                grad_accum=2, num_workers=0, save_steps=1, gradient_checkpointing=True, **SMALL)
    return SFTConfig(**(base | kw))


class _Crash(Exception): pass


def test_resume_continues_step_count(tmp_path, monkeypatch):
    import xvr.vlm.training as sft
    orig = sft.save_checkpoint
    def crash_after_2(acc, model, processor, state, cfg):
        orig(acc, model, processor, state, cfg)
        if state["step"] == 2: raise _Crash()  # the job is killed right after checkpoint-2
    cfg = _cfg(tmp_path)  # 8 samples, batch 2 x accumulation 2, 2 epochs = 4 optimizer steps
    monkeypatch.setattr(sft, "save_checkpoint", crash_after_2)
    with pytest.raises(_Crash): train(cfg)
    monkeypatch.setattr(sft, "save_checkpoint", orig)
    assert latest_checkpoint(cfg.output_dir).name == "checkpoint-2"
    state = json.loads((latest_checkpoint(cfg.output_dir) / "trainer_state.json").read_text())
    assert state == dict(step=2, epoch=0, batches=4)
    r2 = train(cfg)
    assert [h["step"] for h in r2["history"]] == [3, 4]  # continued, not restarted
    assert [h["step"] for h in read_log(cfg.output_dir)] == [1, 2, 3, 4]
    assert latest_checkpoint(cfg.output_dir).name == "checkpoint-4"
    assert read_log(cfg.output_dir)[-1]["lr"] == pytest.approx(0.0, abs=1e-12)  # the cosine schedule ended at 0
    # the resumed run is the uninterrupted run: same data order, weights, optimizer state and schedule
    straight = train(_cfg(tmp_path / "straight"))
    np.testing.assert_allclose([h["loss"] for h in read_log(cfg.output_dir)], [h["loss"] for h in straight["history"]], rtol=1e-4)
    np.testing.assert_allclose([h["lr"] for h in read_log(cfg.output_dir)], [h["lr"] for h in straight["history"]], rtol=1e-6)


def test_worker_entry_point(tmp_path, capfd):
    "`xvr.launch.launch` saves the config and runs `accelerate launch -m xvr.vlm.training --config` (one process, CPU)."
    from xvr.launch import launch
    from xvr.vlm.training import SFT_WORKER
    cfg = _cfg(tmp_path, max_steps=1, save_final=False)
    rc = launch(cfg, 1, **SFT_WORKER)
    assert rc == 0, capfd.readouterr().err[-3000:]
    assert (Path(cfg.output_dir) / "sft_config.json").exists()
    assert [h["step"] for h in read_log(cfg.output_dir)] == [1]


def test_papermill_sft_notebook_headless(tmp_path):
    data = write_toy_sft_data(tmp_path / "data", 6)
    out = tmp_path / "run"
    rc = xvr_sft_cli(["--train", str(data), "--out", str(out), "--tiny", "-p", "epochs", "2", "-p", "per_device_batch", "2",
                      "-p", "grad_accum", "1", "-p", "num_workers", "0", "-p", "min_pixels", "1024", "-p", "max_pixels", "4096",
                      "-p", "save_steps", "100"])
    assert rc == 0
    nb = json.loads((out / "sft.ipynb").read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no loss plot in the executed notebook"
    params = [c for c in nb["cells"] if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert params and "model = \"tiny\"" in "".join(params[0]["source"])
    assert len(read_log(out)) == 6 and (out / "final" / "config.json").exists()


def test_cli_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as e: xvr_sft_cli(["--train", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)])
    assert e.value.code == 2 and "training file not found" in capsys.readouterr().err
