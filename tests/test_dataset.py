"""End-to-end generation from the simulated source through the command lines: xvr_generate, xvr_validate, xvr_stats."""
import json, subprocess, sys
from pathlib import Path
import pytest

from xvr.core import read_jsonl, write_jsonl
from xvr.tasks.common import TASK_NAMES

SIM = ["--scenes", "10", "--episodes", "4", "--views", "6", "--height", "96", "--width", "128",
       "--robot-height", "48", "--robot-width", "80", "--duration", "4", "--min-duration", "3"]


def run(mod, fn, *args, timeout=900):
    return subprocess.run([sys.executable, "-c", f"from {mod} import {fn}; {fn}()", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("xvr") / "data"
    r = run("xvr.dataset", "xvr_generate_cli", "--source", "sim", "--out", str(out), "--per-task", "3", "--eval-per-task", "1", "--chunk", "3", *SIM, "--export", "qwen", "hf")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out, r.stdout


def test_all_tasks_generated_and_validated(data):
    out, stdout = data
    s = json.loads((out / "summary.json").read_text())
    assert s["validation"]["bad"] == 0 and "dataset written to" in stdout
    assert set(s["splits"]["train"]["per_task"]) == set(TASK_NAMES)
    assert all(n == 3 for n in s["splits"]["train"]["per_task"].values())
    assert (out / "train" / "stats.md").exists() and (out / "train_qwen.json").exists() and (out / "train_hf").is_dir()


def test_eval_split_is_held_out(data):
    out, _ = data
    train, ev = read_jsonl(out / "train" / "samples.jsonl"), read_jsonl(out / "eval" / "samples.jsonl")
    assert ev and not any(s.scene.startswith("boat") for s in train) and all(s.scene.startswith("boat") for s in ev if s.domain == "general")
    assert not any("sim_arm_b" in s.scene for s in train) and all("sim_arm_b" in s.scene for s in ev if s.domain == "robotic")


def test_validator_cli_catches_planted_faults(data, tmp_path):
    out, _ = data
    r = run("xvr.validate", "xvr_validate_cli", str(out / "train"))
    assert r.returncode == 0 and "0 bad" in r.stdout
    import shutil; bad = tmp_path / "bad"; shutil.copytree(out / "train", bad)
    samples = read_jsonl(bad / "samples.jsonl")
    samples[0].answer = [o for o in samples[0].options if o != samples[0].answer][0]   # flipped answer
    samples[0].meta["answer_index"] = samples[0].options.index(samples[0].answer)
    (bad / samples[1].images[0]).unlink()                                               # missing image
    write_jsonl(bad / "samples.jsonl", samples)
    r = run("xvr.validate", "xvr_validate_cli", str(bad))
    assert r.returncode == 1 and samples[0].id in r.stderr and samples[1].id in r.stderr


def test_stats_cli(data):
    out, _ = data
    r = run("xvr.stats", "xvr_stats_cli", str(out / "train"))
    assert r.returncode == 0 and "Random baseline" in r.stdout


def test_resume_is_byte_identical(data, tmp_path):
    out, _ = data
    src = out / "source"
    args = ["--source", "sim", "--data-dir", str(src), "--per-task", "3", "--eval-per-task", "1", "--chunk", "3", "--min-duration", "3"]
    r = run("xvr.dataset", "xvr_generate_cli", *args, "--out", str(tmp_path / "x"), "--shard", "0/2")
    assert r.returncode == 0 and "merge pending" in r.stdout
    r = run("xvr.dataset", "xvr_generate_cli", *args, "--out", str(tmp_path / "x"), "--shard", "1/2")
    assert r.returncode == 0, r.stderr
    for split in ("train", "eval"):
        assert (tmp_path / "x" / split / "samples.jsonl").read_bytes() == (out / split / "samples.jsonl").read_bytes()


@pytest.mark.parametrize("args,msg", [(["--per-task", "0"], "--per-task"), (["--shard", "3/2"], "--shard"),
                                      (["--source", "folder"], "--data-dir"), (["--source", "folder", "--data-dir", "/nonexistent"], "not found")])
def test_bad_input_exits_with_reason(tmp_path, args, msg):
    r = run("xvr.dataset", "xvr_generate_cli", "--out", str(tmp_path / "o"), *args)
    assert r.returncode == 2 and msg in r.stderr and r.stderr.startswith("error:")
