"""VLA policy integration tests on the tiny random Qwen3-VL (CPU): layer tap, training regime, resume, papermill run, CLI."""
import copy, json, subprocess, sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from xvr.vlm.qwen import tiny_qwen3_vl
from xvr.vla.policy import (VLA, VLAConfig, VLBackbone, encode_observation, make_batch, param_groups, sample_time,
                             linear_patch_embed)
from xvr.vla.training import VLATrainConfig, train, toy_episodes, read_log, xvr_vla_train_cli

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)  # tiny tensors: OpenMP spin-waiting on a busy 2-core box is ~100x slower than one thread


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch): monkeypatch.setenv("OMP_NUM_THREADS", "1")  # for papermill kernels
SMALL = dict(min_pixels=1024, max_pixels=1024)


def _obs(n=2, seed=0, ds=8, da=7):
    rng = np.random.default_rng(seed)
    return [dict(images=[rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(3)], cameras=["l", "r", "w"],
                 instruction=["press the button", "open the drawer slowly, then let go of the handle and move back"][i % 2], state=rng.normal(size=ds).astype(np.float32),
                 action=rng.uniform(-1, 1, (16, da)).astype(np.float32), embodiment_id=i % 2) for i in range(n)]


@pytest.mark.parametrize("k", [1, 3])
def test_layer_tap_equals_hidden_states(k):
    vlm, proc = tiny_qwen3_vl(layers=4, **SMALL)
    full = copy.deepcopy(vlm).eval()
    linear_patch_embed(full.model.visual.patch_embed)  # the backbone's patch embedding as a matmul, in the reference too
    b = make_batch(proc, _obs(2))  # two prompts of different lengths: right padding
    bb = VLBackbone(vlm, k).eval()
    with torch.no_grad():
        h, m = bb(**b)
        ref = full.model(**{k_: b[k_] for k_ in ("input_ids", "attention_mask", "pixel_values", "image_grid_thw", "mm_token_type_ids")},
                         output_hidden_states=True).hidden_states
    assert len(bb.vlm.model.language_model.layers) == k
    assert torch.equal(h, ref[k])
    assert m.dtype == torch.bool and not m.all()  # padding present


def test_training_regime_and_determinism():
    vlm, proc = tiny_qwen3_vl(layers=3, **SMALL)
    torch.manual_seed(0)
    model = VLA(vlm, VLAConfig.tiny())
    g = param_groups(model)
    assert not any(p.requires_grad for p in g["llm"] + g["unused"])
    assert all(p.requires_grad for p in g["visual"] + g["projector"] + g["action_head"])
    b = make_batch(proc, _obs(2))
    frozen = [p.detach().clone() for p in g["llm"]]
    head0 = [p.detach().clone() for p in g["action_head"]]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train(); model(b)["loss"].backward(); opt.step()
    assert all(torch.equal(a, p) for a, p in zip(frozen, g["llm"]))
    assert not all(torch.equal(a, p) for a, p in zip(head0, g["action_head"]))
    s1 = model.sample(b, generator=torch.Generator().manual_seed(1))
    s2 = model.sample(b, generator=torch.Generator().manual_seed(1))
    assert torch.equal(s1, s2) and s1.shape == (2, 16, 7)
    # switching the flags: a frozen vision encoder
    model2 = VLA(tiny_qwen3_vl(layers=3, **SMALL)[0], VLAConfig.tiny(tune_visual=False, tune_projector=False))
    g2 = param_groups(model2)
    assert not any(p.requires_grad for p in g2["visual"] + g2["projector"])


def test_time_distribution():
    t = sample_time(100_000, VLAConfig(), torch.Generator().manual_seed(0))
    ref = (0.999 - torch.distributions.Beta(1.5, 1.0).sample((100_000,))) / 0.999
    assert abs(t.mean() - ref.mean()) < 0.01 and abs(t.std() - ref.std()) < 0.01


def _cfg(d, **kw):
    return VLATrainConfig(**(dict(model="tiny", output_dir=str(Path(d) / "run"), max_steps=4, per_device_batch=4, lr=1e-3,
                                  num_workers=0, save_steps=2, logging_steps=1, **SMALL) | kw))


def test_resume_reproduces_losses(tmp_path):
    "A run killed after its step-2 checkpoint and restarted gives the same losses as the uninterrupted run."
    import shutil
    eps = toy_episodes(2, T=6, size=32)
    cfg = _cfg(tmp_path)
    full = train(cfg, eps)["history"]
    run = Path(cfg.output_dir)
    shutil.rmtree(run / "checkpoint-4"); shutil.rmtree(run / "final")  # as if killed right after step 2
    resumed = train(cfg, eps)["history"]
    assert [h["step"] for h in resumed] == [3, 4]
    np.testing.assert_allclose([h["loss"] for h in full[2:]], [h["loss"] for h in resumed], rtol=1e-5)
    assert (run / "final" / "vla_config.json").exists()


def test_finer_vision_patches_survive_save_and_load(tmp_path):
    "The tiny backbone with 8 px patches (4x the image tokens): trained, saved, reloaded, it reads images the same way."
    from xvr.vla.training import policy_from_dir
    eps = toy_episodes(2, T=4, size=32, cameras=("left", "wrist"))
    cfg = _cfg(tmp_path, max_steps=2, tiny_kwargs=dict(patch_size=8))
    train(cfg, eps)
    pol = policy_from_dir(Path(cfg.output_dir) / "final")
    assert pol.processor.image_processor.patch_size == 8
    obs = dict(images={c: v[0] for c, v in eps[0]["images"].items()}, state=eps[0]["state"][0],
               instruction=eps[0]["instruction"])
    b = make_batch(pol.processor, [dict(obs, images=list(obs["images"].values()), cameras=["left", "wrist"])])
    assert b["image_grid_thw"].tolist() == [[1, 4, 4]] * 2     # 32 px / 8 px patches: 4x4 patches, 2x2 tokens each
    assert pol.act(obs).shape == (16, 4)


def test_papermill_run(tmp_path):
    pm = pytest.importorskip("papermill")
    out = tmp_path / "run"
    params = dict(tiny=True, toy_data=True, output_dir=str(out), max_steps=3, per_device_batch=4, save_steps=3,
                  num_workers=0, min_pixels=1024, max_pixels=1024, n_episodes=0, label="tiny")
    pm.execute_notebook(str(ROOT / "nbs" / "vla/54_vla_run.ipynb"), str(tmp_path / "vla_run.ipynb"), parameters=params,
                        cwd=str(tmp_path), progress_bar=False, kernel_name="python3", language="python")
    assert len(read_log(out)) >= 1
    assert (out / "final" / "head.pt").exists()
    nb = json.loads((tmp_path / "vla_run.ipynb").read_text())
    assert any(o.get("output_type") == "display_data" for c in nb["cells"] for o in c.get("outputs", []))  # loss figure


def test_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        xvr_vla_train_cli(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert "demonstration folder not found" in capsys.readouterr().err
    xvr_vla_train_cli(["--data", str(tmp_path), "--out", str(tmp_path / "o"), "--tiny", "--dry-run", "-p", "max_steps", "5"])
    p = json.loads(capsys.readouterr().out)
    assert p["tiny"] is True and p["max_steps"] == 5 and p["data_dir"] == [str(tmp_path.resolve())]


def test_papermill_end_to_end_on_sim_demos(tmp_path, monkeypatch):
    "Record 2 expert demos (LeRobot), train the tiny VLA for a few steps, roll it out, write Table 7 (CSV/Markdown)."
    pm = pytest.importorskip("papermill")
    pytest.importorskip("mujoco")
    monkeypatch.setenv("MUJOCO_GL", "egl")
    from xvr.vla.demos import record_demos
    data = tmp_path / "demos"
    record_demos(data, "press_button", episodes=2, height=32, width=32, progress=False)
    out = tmp_path / "run"
    params = dict(tiny=True, data_dir=[str(data)], tasks=["press_button"], output_dir=str(out), max_steps=3, per_device_batch=4,
                  save_steps=3, num_workers=0, min_pixels=1024, max_pixels=1024, n_episodes=1, image_size=32, label="tiny",
                  aux="keyposes", aux_condition=True)     # the keypose target on recorded demos (eef_* states)
    pm.execute_notebook(str(ROOT / "nbs" / "vla/54_vla_run.ipynb"), str(tmp_path / "vla_run.ipynb"), parameters=params,
                        cwd=str(tmp_path), progress_bar=False, kernel_name="python3", language="python")
    rows = (out / "table7.csv").read_text().splitlines()
    assert rows[0].startswith("policy,task,successes,episodes,rate") and rows[1].startswith("tiny,press_button,")
    assert (out / "table7.md").read_text().startswith("| Policy | press_button | Mean |")
    vc = json.loads((out / "final" / "vla_config.json").read_text())
    assert (vc["aux_dim"], vc["aux_condition"]) == (6, True) and all("aux_loss" in r for r in read_log(out))
