"""The Ray backend on a local Ray cluster of 2 CPUs (started once for this module): worker processes killed mid-job
are retried, a driver killed mid-run resumes, a job that fails deterministically is reported and not retried, and
`--backend ray` writes the same bytes as `--backend local`."""
import hashlib, json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from xvr.core import save_scene, save_trajectory, DataError
from xvr.dataset import generate
from xvr.engine import Engine, Failure, KillOnce, ray_init
from xvr.toy import toy_scene, toy_trajectory

HERE = Path(__file__).resolve().parent
KW = dict(per_task=4, eval_per_task=2, chunk=1, min_points=100, min_duration=5, progress=False)


@pytest.fixture(scope="module")
def cluster():
    "A local Ray instance with 2 CPUs whose workers can import this folder's job helpers; its GCS address."
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])
    ray_init(None, workers=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    "A toy source (3 scenes, 5 episodes) and the dataset `--backend local` makes of it with one process."
    root = tmp_path_factory.mktemp("toy")
    for i, cat in enumerate(["mug", "mug", "boat"]):
        save_scene(toy_scene(seed=i, category=cat), root / "src" / "general" / f"{i:05d}")
    for i, emb in enumerate(["panda", "panda", "panda", "sawyer", "sawyer"]):
        save_trajectory(toy_trajectory(n_steps=30, seed=i, embodiment=emb), root / "src" / "robotic" / f"{i:05d}")
    generate(root / "src", root / "local", **KW)
    return root


def digest(root):
    "md5 of every JSONL and JPEG under `root`, by relative path."
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file() and p.suffix in (".jsonl", ".jpg")}


def test_jobs_killed_failed_and_retried(cluster, tmp_path):
    import math
    e = Engine("ray", 2, chaos=KillOnce(tmp_path / "k", keys=[1, 2], delay=0.0))
    assert sorted(e.map(math.sqrt, [4, 9, 16], progress=False)) == [(0, 2.0), (1, 3.0), (2, 4.0)]
    assert e.chaos.killed() == 2                                    # two workers died, their jobs ran again
    e = Engine("ray", 2, retries=1, chaos=KillOnce(tmp_path / "k2", keys=[0], delay=0.0, times=100))
    r = dict(e.map(math.sqrt, [4, 9], progress=False))
    assert r[1] == 3.0 and isinstance(r[0], Failure) and r[0].died and e.chaos.killed() == 2   # 1 run + 1 retry


def test_deterministic_failure_reported_once(cluster, tmp_path):
    "A job that raises is a `Failure` with the exception's reason, run once (Ray does not retry exceptions)."
    from _ray_jobs import count_then_fail
    jobs = [str(tmp_path / f"runs{i}") for i in range(3)]
    r = dict(Engine("ray", 2).map(count_then_fail, jobs, progress=False))
    assert r[0] == 1 and r[2] == 1, r
    assert isinstance(r[1], Failure) and not r[1].died, r[1]
    assert r[1].reason.startswith("DataError: ") and r[1].reason.endswith("runs1: bad input"), r[1]
    assert Path(jobs[1]).read_text() == "run\n"                      # once, not retried


def test_generate_ray_with_killed_workers_is_byte_identical(cluster, toy, tmp_path):
    chaos = KillOnce(tmp_path / "kills", keys=[1, 5, 9], delay=0.01)
    s = generate(toy / "src", tmp_path / "ray", engine=Engine("ray", 2, chaos=chaos), **KW)
    assert chaos.killed() >= 3 and s["validation"]["bad"] == 0      # train's and eval's job lists both have these
    assert digest(tmp_path / "ray") == digest(toy / "local")
    assert not [p for p in (tmp_path / "ray").rglob(".*") if p.is_dir()]   # no temporary folder left behind


def test_driver_killed_then_rerun_resumes(cluster, toy, tmp_path):
    "A driver killed with SIGKILL mid-run; a second driver finishes the run: the same bytes."
    out, shards = tmp_path / "ray", tmp_path / "ray" / "train" / "shards"
    code = ("import sys, json; from xvr.dataset import generate; from xvr.engine import Engine\n"
            "generate(sys.argv[1], sys.argv[2], engine=Engine('ray', 2, sys.argv[3]), **json.loads(sys.argv[4]))")
    p = subprocess.Popen([sys.executable, "-c", code, str(toy / "src"), str(out), cluster, json.dumps(KW)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while time.time() - t0 < 300 and p.poll() is None:
        if shards.is_dir() and sum(1 for d in shards.iterdir() if not d.name.startswith(".")) >= 2: break
        time.sleep(0.01)
    assert p.poll() is None, "the driver ended before it could be killed"
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert not (out / "train" / "samples.jsonl").exists()           # killed mid-run: train not merged
    s = generate(toy / "src", out, engine=Engine("ray", 2), **KW)
    assert s["splits"]["train"]["complete"] and s["validation"]["bad"] == 0
    assert digest(out) == digest(toy / "local")


def test_render_on_ray_is_byte_identical(cluster, tmp_path):
    from xvr.sources.sim import render_dataset
    kw = dict(scenes=2, episodes=1, views=3, height=24, width=32, robot_height=16, robot_width=24, duration=2, fps=2,
              progress=False)
    render_dataset(tmp_path / "local", **kw)
    chaos = KillOnce(tmp_path / "kills", keys=[0], delay=0.0)
    render_dataset(tmp_path / "ray", engine=Engine("ray", 2, chaos=chaos), **kw)
    assert chaos.killed() == 1
    files = lambda r: {str(p.relative_to(r)): p.read_bytes() for p in sorted(r.rglob("*")) if p.is_file()}
    a, b = files(tmp_path / "local"), files(tmp_path / "ray")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a if not k.endswith("render_manifest.json"))


def test_convert_on_ray_is_byte_identical(cluster, tmp_path):
    from xvr.sources.agibot import write_agibot_fixture
    from xvr.sources.registry import convert_source
    write_agibot_fixture(tmp_path / "agibot", episode_ids=(1, 2, 3), n_frames=30, height=48, width=64)
    a = convert_source("agibot", tmp_path / "agibot", tmp_path / "local", progress=False, min_duration=0.5)
    chaos = KillOnce(tmp_path / "kills", keys=[1], delay=0.0)
    b = convert_source("agibot", tmp_path / "agibot", tmp_path / "ray", progress=False, min_duration=0.5,
                       engine=Engine("ray", 2, chaos=chaos))
    assert chaos.killed() == 1 and a["counts"] == b["counts"] and a["written"] == b["written"] == 3
    files = lambda r: {str(p.relative_to(r)): p.read_bytes() for p in sorted((r / "robotic").rglob("*")) if p.is_file()}
    assert files(tmp_path / "local") == files(tmp_path / "ray")


@pytest.mark.tf
def test_convert_rlds_on_ray_reads_tensorflow_in_its_own_workers(cluster, tmp_path):
    "RLDS episodes are read by TensorFlow inside Ray workers of their own (this driver never imports it): the same bytes."
    import importlib.util
    if importlib.util.find_spec("tensorflow_datasets") is None: pytest.skip("tensorflow-datasets is not installed")
    from xvr.sources.registry import convert_source
    code = "import sys; from xvr.sources.rlds import write_rlds_fixture as w; w('droid', sys.argv[1], n_episodes=3, n_steps=24)"
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "oxe")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    kw = dict(progress=False, min_duration=0.5)
    a = convert_source("droid", tmp_path / "oxe", tmp_path / "local", **kw)
    chaos = KillOnce(tmp_path / "kills", keys=[1], delay=0.0)
    b = convert_source("droid", tmp_path / "oxe", tmp_path / "ray", engine=Engine("ray", 2, chaos=chaos), **kw)
    assert "tensorflow" not in sys.modules
    assert chaos.killed() == 1 and a["written"] == b["written"] == 3 and a["counts"] == b["counts"]
    files = lambda r: {str(p.relative_to(r)): p.read_bytes() for p in sorted((r / "robotic").rglob("*")) if p.is_file()}
    assert files(tmp_path / "local") == files(tmp_path / "ray") != {}
