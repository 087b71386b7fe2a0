"""The local backend under worker faults: a worker process SIGKILLed mid-unit is reported, its units run again in new
workers, and the dataset is byte-identical to one process's (before the engine, `--workers 2` hung at 319/320
units when a worker was killed). A source render killed mid-item leaves debris that the rerun removes."""
import hashlib, re, subprocess, sys
from pathlib import Path

import pytest

from xvr.core import save_scene, save_trajectory
from xvr.dataset import generate
from xvr.engine import Engine, KillOnce
from xvr.toy import toy_scene, toy_trajectory

KW = dict(per_task=2, eval_per_task=1, chunk=1, min_points=100, min_duration=5, progress=False)


def digest(root):
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file() and p.suffix in (".jsonl", ".jpg")}


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    for i, cat in enumerate(["mug", "mug", "boat"]):
        save_scene(toy_scene(seed=i, category=cat), root / "general" / f"{i:05d}")
    for i, emb in enumerate(["panda", "panda", "panda", "sawyer", "sawyer"]):
        save_trajectory(toy_trajectory(n_steps=30, seed=i, embodiment=emb), root / "robotic" / f"{i:05d}")
    return root


def test_killed_local_workers_are_retried(src, tmp_path, capfd):
    ref = generate(src, tmp_path / "one", **KW)
    engine = Engine("local", 2, chaos=KillOnce(tmp_path / "kills", keys=[3, 9], delay=0.01))
    s = generate(src, tmp_path / "two", engine=engine, **KW)
    assert engine.chaos.killed() >= 2 and engine.deaths >= 2          # train's and eval's job 3 at least
    assert "a worker process died" in capfd.readouterr().err
    assert s["splits"]["train"]["complete"] and not s["splits"]["train"]["failed"] and s["validation"]["bad"] == 0
    assert digest(tmp_path / "two") == digest(tmp_path / "one") and ref["splits"]["train"]["samples"] == 16


def test_unit_that_always_kills_its_worker_fails_clearly(src, tmp_path):
    "A unit whose worker dies on every run is reported as failed; the run ends and the split is not merged."
    engine = Engine("local", 2, retries=1, chaos=KillOnce(tmp_path / "kills", keys=[0], delay=0.0, times=100))
    s = generate(src, tmp_path / "out", tasks=["point_correspondence"], engine=engine, **KW)
    tr = s["splits"]["train"]
    assert not tr["complete"] and list(tr["failed"]) == ["point_correspondence-00000"], tr
    assert re.search(r"died [23] times", tr["failed"]["point_correspondence-00000"]), tr["failed"]
    assert (tmp_path / "out" / "train" / "shards" / "point_correspondence-00001" / "samples.jsonl").exists()
    assert not (tmp_path / "out" / "train" / "samples.jsonl").exists()


def test_cli_backend_flags(src, tmp_path):
    code = "from xvr.dataset import xvr_generate_cli; xvr_generate_cli()"
    args = ["--source", "folder", "--data-dir", str(src), "--out", str(tmp_path / "o"), "--ray-address", "auto"]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "a Ray address needs --backend ray" in r.stderr, r.stderr[-2000:]


def test_engine_imports_ray_only_when_used():
    "Importing the data engine (and its execution engine) never imports Ray; only `backend='ray'` does."
    code = "import sys, xvr.engine, xvr.dataset, xvr.sources.sim, xvr.sources.registry; print('ray' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr[-2000:]
