"""Real-size architectures without weights: Qwen3-VL-2B-Instruct and the GR00T-N1.5 action head.

Parameter counts of the full sizes (on PyTorch's meta device: shapes, no memory), and a width-true, depth-cut
Qwen3-VL (every real width and the full vocabulary, 2 decoder layers, 2 vision blocks: 0.55B parameters, about 2 GB
in fp32) that runs forward and backward on a real-size XVR sample, packs like the tiny model, and carries the VLA's
feature tap and a GR00T-width head; and the layer-12 tap on a 13-layer real-width backbone (bf16). Peak memory about
4 GB; about 4 minutes in all on the busy 2-core development machine, most of it in the `slow` tests. Also the
multi-GPU launch files and `xvr_sft --gpus 8 --dry-run`.
"""
import subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch

from xvr.core import Sample
from xvr.vlm.qwen import (qwen3_vl_2b_config, qwen3_vl_param_count, random_qwen3_vl, encode_example, collate, pack,
                          train_flops)
from xvr.vlm.training import sft_loss
from xvr.vla.policy import VLA, VLAConfig, FlowMatchingHead, make_batch, count_params

ROOT = Path(__file__).resolve().parents[1]


def _sample(n_views, answer="2"):
    q = "\n".join(f"Image {i + 1}: <image>" for i in range(n_views)) + "\nWhich image is displaced?"
    return Sample(f"spatial_verification/sim-general/s/{n_views}", "spatial_verification", "verification", "general",
                  "sim-general", "s", q, [str(i + 1) for i in range(n_views)], answer)


def _views(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_full_qwen3_vl_2b_parameter_count():
    from transformers import Qwen3VLForConditionalGeneration
    cfg = qwen3_vl_2b_config()
    with torch.device("meta"):
        m = Qwen3VLForConditionalGeneration(cfg)
    n = qwen3_vl_param_count(cfg)
    assert n["total"] == sum(p.numel() for p in m.parameters()) == 2_127_532_032
    assert n["vision"] == sum(p.numel() for p in m.model.visual.parameters())
    assert m.lm_head.weight is m.model.language_model.embed_tokens.weight  # tied, counted once
    assert len(m.model.visual.deepstack_merger_list) == 3 and cfg.vision_config.deepstack_visual_indexes == [5, 11, 17]


def test_groot_n15_head_parameter_count():
    with torch.device("meta"):
        h = FlowMatchingHead(VLAConfig(), 2048)
    parts = {n: sum(p.numel() for p in m.parameters()) for n, m in h.named_children()}
    assert sum(p.numel() for p in h.parameters()) == 971_263_488
    assert round(parts["dit"] / 1e6) == 538 and round(parts["action_encoder"] / 1e6) == 228
    assert round(parts["state_encoder"] / 1e6) == 53 and round(parts["action_decoder"] / 1e6) == 35


@pytest.mark.slow
def test_layer12_tap_on_a_width_true_13_layer_backbone():
    "GR00T's cut: the first 12 of the real-width decoder layers; the tap is the full model's hidden_states[12]."
    from xvr.vla.policy import VLBackbone, encode_observation, linear_patch_embed
    vlm, proc = random_qwen3_vl(text_layers=13, vision_depth=1, init="fast", max_pixels=240 * 320, dtype=torch.bfloat16)
    enc = encode_observation(proc, _views(2, 240, 320, 5), "open the drawer", ["left", "wrist"])
    vlm.eval()
    linear_patch_embed(vlm.model.visual.patch_embed)   # as VLBackbone does, so the reference embeds patches the same way
    with torch.no_grad():
        ref = vlm.model(**enc, output_hidden_states=True, use_cache=False).hidden_states
        h, _ = VLBackbone(vlm, select_layer=12)(**enc)
    assert len(vlm.model.language_model.layers) == 12 and vlm.config.text_config.num_hidden_layers == 12
    assert torch.equal(h, ref[12]) and not torch.allclose(h, ref[13])


@pytest.fixture(scope="module")
def width_true():
    model, proc = random_qwen3_vl(text_layers=2, vision_depth=2, init="fast")
    assert qwen3_vl_param_count(model.config)["total"] == sum(p.numel() for p in model.parameters())
    return model, proc


@pytest.mark.slow
def test_width_true_forward_backward_on_a_real_size_sample(width_true):
    model, proc = width_true
    ex = encode_example(proc, _sample(2), _views(2, 480, 640))  # the most common XVR resolution, kept native
    assert ex["image_grid_thw"].tolist() == [[1, 30, 40]] * 2
    assert int((ex["input_ids"] == model.config.image_token_id).sum()) == 2 * 300
    model.train()
    emb = model.model.language_model.embed_tokens.weight  # tied to the LM head: its dense 151936 x 2048 gradient would
    emb.requires_grad_(False)                            # double the memory (the tiny model's tests cover that path)
    loss = sft_loss(model, ex)
    loss.backward()
    emb.requires_grad_(True)
    assert torch.isfinite(loss) and 8 < loss.item() < 16  # about ln(151936) = 11.9 for a random model
    vis = model.model.visual
    for p in (vis.blocks[0].attn.qkv.weight, vis.deepstack_merger_list[0].linear_fc1.weight,
              model.model.language_model.layers[1].mlp.down_proj.weight):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert train_flops(model.config, ex) > 1e12
    model.zero_grad(set_to_none=True)


@pytest.mark.slow
def test_width_true_packed_equals_padded(width_true):
    model, proc = width_true
    exs = [encode_example(proc, _sample(2), _views(2, 240, 320, 1)),
           encode_example(proc, _sample(1, "1"), _views(1, 240, 320, 2))]
    model.eval()
    with torch.no_grad():
        padded = sft_loss(model, collate(exs, proc.tokenizer.pad_token_id))
        packed = sft_loss(model, pack(exs, model.config))
    assert abs(padded.item() - packed.item()) < 1e-4 * abs(padded.item())


@pytest.mark.slow
def test_vla_tap_and_groot_width_head_on_width_true_backbone(width_true):
    vlm, proc = width_true  # VLA cuts the decoder in place: this test uses the fixture last
    obs = [dict(images=_views(2, 240, 320, 3 + i), cameras=["left", "wrist"], instruction="press the button",
                state=np.zeros(8, np.float32), action=np.zeros((16, 7), np.float32), embodiment_id=i) for i in range(2)]
    b = make_batch(proc, obs)
    with torch.no_grad():
        ref = vlm.model(**{k: b[k] for k in ("input_ids", "attention_mask", "pixel_values", "image_grid_thw",
                                              "mm_token_type_ids")}, output_hidden_states=True, use_cache=False)
    # GR00T-N1.5 widths (1536-wide DiT, 32 x 48 heads, 32 future tokens, 64/32 state/action dims), depth cut
    cfg = VLAConfig(select_layer=1, layers=2, vl_layers=1, n_embodiments=2, dropout=0.0)
    policy = VLA(vlm, cfg)
    h, m = policy.backbone(**{k: b[k] for k in ("input_ids", "attention_mask", "pixel_values", "image_grid_thw",
                                                 "mm_token_type_ids")})
    assert torch.allclose(h, ref.hidden_states[1], atol=1e-5)
    assert h.shape[-1] == 2048 and policy.head.vl_proj.out_features == 1536
    policy.train()
    loss = policy(b)["loss"]
    loss.backward()
    assert torch.isfinite(loss)
    assert policy.head.dit.blocks[0].attn.q.weight.grad.abs().sum() > 0
    assert vlm.model.visual.blocks[0].attn.qkv.weight.grad.abs().sum() > 0  # Table 7: the vision encoder trains
    assert vlm.model.language_model.layers[0].mlp.down_proj.weight.grad is None  # the LLM is frozen
    n = count_params(policy)
    assert n["trainable"] == n["visual"] + n["projector"] + n["action_head"]


def test_multi_gpu_launch_files():
    from accelerate.commands.config.config_args import load_config_from_file
    import transformers.models.qwen3_vl.modeling_qwen3_vl as mq
    ddp = load_config_from_file(str(ROOT / "configs/accelerate/ddp_8gpu.yaml"))
    fsdp = load_config_from_file(str(ROOT / "configs/accelerate/fsdp_8gpu.yaml"))
    assert (ddp.distributed_type.value, ddp.num_processes, ddp.mixed_precision) == ("MULTI_GPU", 8, "bf16")
    assert (fsdp.distributed_type.value, fsdp.num_processes, fsdp.fsdp_config["fsdp_version"]) == ("FSDP", 8, 2)
    for cls in fsdp.fsdp_config["fsdp_transformer_layer_cls_to_wrap"].split(","):
        assert hasattr(mq, cls), cls  # the wrap units exist in this transformers


def test_xvr_sft_dry_run_prints_the_launch_command(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("")
    code = "import sys; from xvr.vlm.training import xvr_sft_cli; sys.exit(xvr_sft_cli(sys.argv[1:]))"
    args = ["--train", str(train), "--out", str(tmp_path / "run"), "--gpus", "8", "--packing", "--dry-run"]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if l.startswith("the notebook will run: "))
    assert "-m accelerate.commands.launch --num_processes 8 --multi_gpu -m xvr.vlm.training --config" in line
    assert line.endswith(str(tmp_path / "run" / "sft_config.json"))
    assert '"packing": true' in r.stdout
    r = subprocess.run([sys.executable, "-c", code, "--train", str(train), "--out", str(tmp_path / "run"),
                        "--accelerate-config", "nope.yaml", "--dry-run"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "accelerate config file not found" in r.stderr
