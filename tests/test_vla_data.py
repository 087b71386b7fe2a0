"""Integration tests of the VLA demonstrations (`xvr_vla_demos`, LeRobot v3.0 folders) and the rollout API.

The LeRobot-readability test loads our folder with LeRobot's own `LeRobotDataset`. `lerobot` cannot be installed in the
project's environment (every release pins torch<2.11; the standalone `lerobot-dataset` pins huggingface-hub<0.36 and
datasets<4.2, which break transformers 5), so the test runs it in a subprocess from a side install named by
`XVR_LEROBOT_SITE` (default /tmp/xvr_lerobot_site), made with:

    pip install --target /tmp/xvr_lerobot_site --no-deps lerobot-dataset==0.4.4 datasets==4.1.1 huggingface-hub==0.35.3 \
        jsonlines deepdiff orderly-set av==15.1.0 dill==0.4.0 multiprocess==0.70.16 fsspec==2025.9.0 torchvision==0.28.0 \
        termcolor xxhash

It is skipped when neither that folder nor an installed `lerobot` provides `LeRobotDataset`.
"""
import json, os, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest

from xvr.vla.demos import load_lerobot, iter_chunks, evaluate_policy, ExpertChunkPolicy, ZeroPolicy, EVAL_SEED_OFFSET

SMALL = ["--env", "press_button", "--height", "32", "--width", "32", "--cameras", "wrist"]
STATE_DIM, ACTION_DIM = 8, 7      # Panda with OSC_POSE: eef xyz, axis-angle, two finger joints; 6 deltas + gripper


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-c", "from xvr.vla.demos import xvr_vla_demos_cli; xvr_vla_demos_cli()", *args],
                          capture_output=True, text=True, timeout=300, **kw)


def files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in Path(root).rglob("*.parquet")}


def test_help():
    r = cli("--help")
    assert r.returncode == 0 and "--episodes" in r.stdout and "--env" in r.stdout and "--camera-map" in r.stdout


@pytest.mark.parametrize("bad", [["--task", "fold_laundry"], ["--height", "4"], ["--seed", "-1"]])
def test_bad_arguments_exit_with_one_line_reason(tmp_path, bad):
    r = cli("--out", str(tmp_path / "x"), "--episodes", "1", *bad)
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1


def test_cli_end_to_end_and_rerun(tmp_path):
    out = tmp_path / "demos"
    r = cli("--out", str(out), "--episodes", "2", *SMALL)
    assert r.returncode == 0, r.stderr
    assert "kept 2/2 attempted" in r.stdout and "expert success rate 100.0%" in r.stdout
    ds = load_lerobot(out)
    assert len(ds["episodes"]) == 2 and ds["fps"] == 10
    ep = ds["episodes"][0]
    assert ep["images"]["wrist"].shape[1:] == (32, 32, 3) and ep["state"].shape[1] == STATE_DIM
    assert ep["action"].shape[1] == ACTION_DIM and ep["success"][-1]
    ex = next(iter_chunks(ds, horizon=16))
    assert ex["actions"].shape == (16, ACTION_DIM) and set(ex["images"]) == {"wrist"}
    before = files(out)
    r2 = cli("--out", str(out), "--episodes", "2", *SMALL)
    assert r2.returncode == 0 and "kept 0/0 attempted" in r2.stdout
    assert files(out) == before
    r3 = cli("--out", str(out), "--episodes", "2", *SMALL[:-2])       # all three cameras: other parameters
    assert r3.returncode == 2 and "other parameters" in r3.stderr


def test_killed_run_resumes_to_the_same_dataset(tmp_path):
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    assert cli("--out", str(ref), "--episodes", "3", *SMALL).returncode == 0
    p = subprocess.Popen([sys.executable, "-c", "from xvr.vla.demos import xvr_vla_demos_cli; xvr_vla_demos_cli()",
                          "--out", str(cut), "--episodes", "3", *SMALL], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = cut / "meta/episodes/chunk-000/file-000.parquet"
    t0 = time.time()
    while not first.exists() and p.poll() is None and time.time() - t0 < 120: time.sleep(0.02)
    p.kill(); p.wait()
    n_before = len(list((cut / "meta/episodes").rglob("*.parquet")))
    r = cli("--out", str(cut), "--episodes", "3", *SMALL)
    assert r.returncode == 0, r.stderr
    assert f"kept {3 - n_before}/" in r.stdout
    assert files(cut) == files(ref)
    assert json.loads((cut / "meta/info.json").read_text())["total_episodes"] == 3


def _lerobot_env():
    site = os.environ.get("XVR_LEROBOT_SITE", "/tmp/xvr_lerobot_site")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if Path(site).is_dir(): env["PYTHONPATH"] = os.pathsep.join([site, env.get("PYTHONPATH", "")])
    return env


LEROBOT_READ = r'''
import sys, types, json
try:
    import torchvision
except Exception:   # PyPI's torchvision is a CUDA build whose C ops cannot load beside torch+cpu; only its transforms are used
    for k in [k for k in sys.modules if k.startswith("torchvision")]: del sys.modules[k]
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
try:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
except ImportError:
    from ledataset.datasets.lerobot_dataset import LeRobotDataset
if sys.argv[1] == "probe": sys.exit(0)
ds = LeRobotDataset("xvr/sim-demos", root=sys.argv[1])
chunked = LeRobotDataset("xvr/sim-demos", root=sys.argv[1], delta_timestamps={"action": [i / ds.fps for i in range(16)]})
last = ds[len(ds) - 1]; c = chunked[len(ds) - 3]
print(json.dumps(dict(n=len(ds), episodes=ds.meta.total_episodes, tasks=list(ds.meta.tasks.index), fps=ds.fps,
                      image=list(ds[0]["observation.images.wrist"].shape), last_action=last["action"].tolist(),
                      last_state=last["observation.state"].tolist(), task=last["task"], pad=c["action_is_pad"].tolist())))
'''


def test_lerobot_reads_our_folder(tmp_path):
    env = _lerobot_env()
    probe = subprocess.run([sys.executable, "-c", LEROBOT_READ, "probe"], capture_output=True, text=True, env=env, timeout=300)
    if probe.returncode != 0: pytest.skip("LeRobotDataset not importable (see the module docstring): " + probe.stderr.strip()[-200:])
    out = tmp_path / "demos"
    r0 = cli("--out", str(out), "--episodes", "1", "--env", "press_button,open_drawer", "--height", "32", "--width", "32",
             "--cameras", "wrist")
    assert r0.returncode == 0, r0.stderr[-2000:]
    env["HF_HOME"] = str(tmp_path / "hf")
    r = subprocess.run([sys.executable, "-c", LEROBOT_READ, str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    ours = load_lerobot(out)
    T = sum(len(e["action"]) for e in ours["episodes"])
    assert (got["n"], got["episodes"], got["fps"]) == (T, 2, 10)
    assert got["tasks"] == [e["instruction"] for e in ours["episodes"]]
    assert got["image"] == [3, 32, 32]                          # LeRobot gives channel-first float images
    np.testing.assert_allclose(got["last_action"], ours["episodes"][-1]["action"][-1])
    np.testing.assert_allclose(got["last_state"], ours["episodes"][-1]["state"][-1])
    assert got["task"] == ours["episodes"][-1]["instruction"]
    assert got["pad"] == [False] * 3 + [True] * 13               # chunks padded at the episode end, as ours


LEROBOT_WRITE = r'''
import sys, types
try:
    import torchvision
except Exception:
    for k in [k for k in sys.modules if k.startswith("torchvision")]: del sys.modules[k]
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
try:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
except ImportError:
    from ledataset.datasets.lerobot_dataset import LeRobotDataset
import numpy as np
feats = {"observation.images.wrist": {"dtype": "image", "shape": (16, 16, 3), "names": ["height", "width", "channels"]},
         "observation.state": {"dtype": "float32", "shape": (8,), "names": None},
         "action": {"dtype": "float32", "shape": (4,), "names": None},
         "next.success": {"dtype": "bool", "shape": (1,), "names": None}}
ds = LeRobotDataset.create("xvr/written", fps=10, features=feats, root=sys.argv[1], use_videos=False)
r = np.random.default_rng(0)
for e in range(3):
    for t in range(5 + e):
        ds.add_frame({"observation.images.wrist": r.integers(0, 255, (16, 16, 3), dtype=np.uint8),
                      "observation.state": np.full(8, 10 * e + t, np.float32), "action": np.full(4, t, np.float32),
                      "next.success": np.array([t == 4 + e]), "task": f"task {e % 2}"})
    ds.save_episode()
ds.finalize()
'''


def test_we_read_a_folder_lerobot_wrote(tmp_path):
    "LeRobot's writer packs all episodes into one file; `load_lerobot` reads that layout too."
    env = _lerobot_env()
    probe = subprocess.run([sys.executable, "-c", LEROBOT_READ, "probe"], capture_output=True, text=True, env=env, timeout=300)
    if probe.returncode != 0: pytest.skip("LeRobotDataset not importable (see the module docstring)")
    env["HF_HOME"] = str(tmp_path / "hf")
    r = subprocess.run([sys.executable, "-c", LEROBOT_WRITE, str(tmp_path / "lr")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    ds = load_lerobot(tmp_path / "lr")
    rng = np.random.default_rng(0)
    assert [e["instruction"] for e in ds["episodes"]] == ["task 0", "task 1", "task 0"]
    for e, ep in enumerate(ds["episodes"]):
        T = 5 + e
        want = np.stack([rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(T)])   # drawn as the writer did
        np.testing.assert_array_equal(ep["images"]["wrist"], want)
        np.testing.assert_array_equal(ep["state"][:, 0], 10 * e + np.arange(T))
        assert ep["success"].tolist() == [False] * (T - 1) + [True]


def test_evaluate_policy_expert_vs_zero():
    for task in ("open_drawer", "pick_place"):
        r = evaluate_policy(ExpertChunkPolicy(16, 8), task, n_episodes=2, seed=5, cameras=(), progress=False)
        assert r["success_rate"] == 1.0 and r["seeds"] == [EVAL_SEED_OFFSET + 5, EVAL_SEED_OFFSET + 6]
    assert evaluate_policy(ZeroPolicy(), "open_drawer", n_episodes=1, cameras=(), progress=False)["success_rate"] == 0.0
