"""Integration tests of the rollout evaluation (`xvr.vla.rollouts`, `xvr_vla_eval`): parallel determinism, resume, the
reference policies, Table 7 files, and the CLI end to end on a tiny trained checkpoint (a few optimizer steps)."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

from xvr.vla.rollouts import evaluate, read_records, table7, write_table7, REFERENCES, ROW_NAMES
from xvr.vla.demos import EVAL_SEED_OFFSET
from xvr.vla.envs import TASKS, CAMERAS

SMALL = dict(height=32, width=32, progress=False)


def cli(*args, **kw):
    env = os.environ | {"OMP_NUM_THREADS": "1", "MUJOCO_GL": "egl"}
    return subprocess.run([sys.executable, "-c", "from xvr.vla.rollouts import xvr_vla_eval_cli; xvr_vla_eval_cli()", *args],
                          capture_output=True, text=True, timeout=900, env=env, **kw)


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    "A tiny-backbone VLA trained for 3 optimizer steps on toy episodes with the wrist camera and the Panda's dimensions."
    import torch
    torch.set_num_threads(1)
    from xvr.vla.training import VLATrainConfig, train, toy_episodes
    out = tmp_path_factory.mktemp("vla") / "run"
    cfg = VLATrainConfig(model="tiny", output_dir=str(out), max_steps=3, per_device_batch=4, lr=1e-3, num_workers=0,
                         save_steps=3, logging_steps=1, min_pixels=1024, max_pixels=1024)
    train(cfg, toy_episodes(2, T=6, ds=8, da=7, cameras=("wrist",), tasks=("press_button",)))   # the Panda's dims
    return out


def test_workers_agree_and_references(tmp_path):
    r1 = evaluate("expert", ["press_button", "open_drawer"], 2, workers=1, **SMALL)
    r2 = evaluate("expert", ["press_button", "open_drawer"], 2, workers=2, records_path=tmp_path / "e.jsonl", **SMALL)
    assert r1["records"] == r2["records"]
    assert [r["seed"] for r in r1["records"][:2]] == [EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + 1]
    assert all(r["success"] for r in r1["records"])
    z = evaluate("zero", ["press_button"], 2, workers=1, **SMALL)
    assert z["counts"] == {"press_button": (0, 2)}
    assert z["per_task"]["press_button"]["ci_high"] == pytest.approx(3.8416 / 5.8416, abs=1e-3)  # Wilson upper of 0/2


def test_resume_runs_only_missing_episodes(tmp_path):
    p = tmp_path / "r.jsonl"
    full = evaluate("expert", ["press_button"], 4, records_path=p, **SMALL)
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:2]) + "\n")
    # a sentinel in a kept record proves it is reused, not recomputed
    kept = json.loads(lines[0]) | {"steps": 999}
    p.write_text(json.dumps(kept) + "\n" + lines[1] + "\n" + '{"task": "press_')
    r = evaluate("expert", ["press_button"], 4, records_path=p, **SMALL)
    assert r["records"][0]["steps"] == 999 and r["records"][1:] == full["records"][1:]
    assert len(read_records(p)) == 4
    again = evaluate("expert", ["press_button"], 4, records_path=p, **SMALL)
    assert again["records"] == r["records"] and len(p.read_text().splitlines()) == 4


def test_table_files(tmp_path):
    res = {REFERENCES["expert"]: {t: (10, 10) for t in TASKS}, REFERENCES["zero"]: {t: (0, 10) for t in TASKS}}
    df = table7(res)
    assert list(df.index) == ["Scripted expert", "Zero action"] and list(df.columns) == list(TASKS) + ["Mean"]
    assert df.loc["Zero action", "Mean"] == "0.0 [0.0, 11.4]"
    p = write_table7(res, tmp_path)
    tex = p["tex"].read_text()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex and "press button" in tex
    csv = p["csv"].read_text().splitlines()
    assert csv[0] == "Policy," + ",".join(TASKS) + ",Mean" and len(csv) == 3
    assert p["png"].exists() and json.loads(p["json"].read_text())["Zero action"]["pick_place"] == [0, 10]


def test_cli_bad_arguments(tmp_path):
    for bad in (["--tasks", "fold_laundry", "--reference", "expert"], ["--policy", str(tmp_path / "nope")], [],
                ["--reference", "untrained"]):
        r = cli("--out", str(tmp_path / "o"), *bad)
        assert r.returncode == 2 and r.stderr.strip().startswith("error:"), (bad, r.stderr)


def test_cli_end_to_end_with_tiny_checkpoint(tiny_policy, tmp_path):
    out = tmp_path / "eval"
    args = ["--policy", str(tiny_policy), "--label", "base", "--reference", "expert", "zero", "untrained",
            "--env", "press_button", "--cameras", "wrist", "--n-action-steps", "16", "--episodes", "2", "--workers", "2",
            "--size", "32", "--gif-size", "32",
            "--out", str(out), "--quiet"]
    r = cli(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [ROW_NAMES["base"], "Scripted expert", "Zero action", "Untrained head"]
    md = (out / "table7.md").read_text()
    assert all(f"| {row} |" in md for row in rows), md
    assert "| Scripted expert | 100.0 [34.2, 100.0] | 100.0 [34.2, 100.0] |" in md
    assert "| Zero action | 0.0 [0.0, 65.8] |" in md
    for f in ("table7.csv", "table7.tex", "table7.json", "table7_long.csv", "table7.png"):
        assert (out / f).exists(), f
    recs = sorted(out.glob("records/*.jsonl"))
    assert len(recs) == 4 and all(len(read_records(p)) == 2 for p in recs)
    # the same policy in this process (workers=1) gives the records the CLI's two workers wrote
    mine = evaluate(str(tiny_policy), ["press_button"], 2, n_action_steps=16, height=32, width=32, cameras=["wrist"],
                    gif_size=32, progress=False)
    cli_recs = read_records(out / "records" / "GR00T-style_base_Qwen3-VL_backbone.jsonl")  # in completion order
    assert mine["records"] == sorted(cli_recs, key=lambda r: r["seed"])
    gifs = sorted(out.glob("gifs/*/press_button.gif"))
    assert len(gifs) == 4 and all(g.stat().st_size < 300_000 for g in gifs)
    before = {p: p.read_text() for p in recs}
    r2 = cli(*args)  # everything recorded: nothing re-run, same records and table
    assert r2.returncode == 0 and {p: p.read_text() for p in recs} == before
    assert (out / "table7.md").read_text() == md


def test_ensemble_option(tiny_policy, tmp_path):
    "`--ensemble COEFF` / `evaluate(ensemble=)` turns on temporal ensembling; records of other settings are refused."
    import numpy as np
    from xvr.core import DataError
    from xvr.vla.rollouts import make_policy
    from xvr.vla.envs import make_env
    p = make_policy(str(tiny_policy), ensemble=-0.1)
    assert p.policy.model.cfg.ensemble and p.policy.model.cfg.ensemble_coeff == -0.1
    assert not make_policy(str(tiny_policy)).policy.model.cfg.ensemble     # default: the policy's own config
    env = make_env("press_button", height=32, width=32, cameras=["wrist"])
    obs = env.reset(EVAL_SEED_OFFSET); p.reset(env)
    assert np.asarray(p(obs)).shape == (1, 7)                              # one ensembled action per step
    env.close()
    kw = dict(n_action_steps=16, height=32, width=32, cameras=["wrist"], progress=False)
    rec = tmp_path / "r.jsonl"
    r = evaluate(str(tiny_policy), ["press_button"], 1, records_path=rec, ensemble=-0.1, **kw)
    assert [x["ensemble"] for x in read_records(rec)] == [-0.1] and r["records"][0]["steps"] > 0
    with pytest.raises(DataError, match="another evaluation"):             # not resumed as a default evaluation
        evaluate(str(tiny_policy), ["press_button"], 1, records_path=rec, **kw)
    ref = evaluate("expert", ["press_button"], 1, ensemble=-0.1, **SMALL)  # the expert ignores it
    assert ref["records"][0]["ensemble"] is None
    from xvr.vla.demos import ZeroPolicy                                     # nor does a callable spec
    assert evaluate(ZeroPolicy, ["press_button"], 1, ensemble=-0.1, **SMALL)["records"][0]["ensemble"] is None
    r = cli("--policy", str(tiny_policy), "--env", "press_button", "--cameras", "wrist", "--ensemble", "-0.1",
            "--episodes", "1", "--workers", "1", "--size", "32", "--gif-size", "0", "--out", str(tmp_path / "c"),
            "--quiet")
    assert r.returncode == 0, r.stderr[-3000:]
    assert [x["ensemble"] for x in read_records(next((tmp_path / "c" / "records").glob("*.jsonl")))] == [-0.1]
