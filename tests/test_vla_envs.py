"""Integration tests of the robosuite environments behind `xvr.vla`: an environment registered by importing a module
(as RoboCasa registers its own) recorded, trained on and rolled out by name through the CLIs; the CLIs' bad input."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MUJOCO_GL", "egl")
TESTS = Path(__file__).resolve().parent
CAMS = "agentview_left=robot0_agentview_left,wrist=robot0_eye_in_hand"
STANDIN = ["--import", "_standin_env", "--env", "StandInCoffeePressButton", "--robot", "Panda", "--camera-map", CAMS]


def run(mod_fn, *args):
    mod, fn = mod_fn.rsplit(".", 1)
    env = os.environ | {"OMP_NUM_THREADS": "1", "MUJOCO_GL": "egl",
                        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", f"from {mod} import {fn}; {fn}()", *args], capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def standin_demos(tmp_path_factory):
    "Two demonstrations in the stand-in environment, recorded by name through `xvr_vla_demos` (32 x 32, two cameras)."
    out = tmp_path_factory.mktemp("standin") / "demos"
    r = run("xvr.vla.demos.xvr_vla_demos_cli", "--out", str(out), "--episodes", "2", "--height", "32", "--width", "32",
            *STANDIN)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r


def test_standin_recorded_by_name(standin_demos):
    from xvr.vla.demos import load_lerobot, env_settings
    out, r = standin_demos
    assert "StandInCoffeePressButton: 2 episodes kept of 2 attempted" in r.stdout
    ds = load_lerobot(out)
    assert ds["cameras"] == ["agentview_left", "wrist"] and ds["info"]["robot_type"] == "Panda"
    assert {e["instruction"] for e in ds["episodes"]} == {"press the stand-in coffee button"}   # the env's language
    assert ds["episodes"][0]["images"]["wrist"].shape[1:] == (32, 32, 3)
    st = env_settings(out)
    assert st["camera_map"] == {"agentview_left": "robot0_agentview_left", "wrist": "robot0_eye_in_hand"}
    assert (st["tasks"], st["state_dim"], st["action_dim"]) == (["StandInCoffeePressButton"], 8, 7)


def test_standin_trained_and_rolled_out_by_name(standin_demos, tmp_path):
    "A few optimizer steps on the recorded demos, then `xvr_vla_eval` rolls the policy and the expert out by name."
    import torch
    torch.set_num_threads(1)
    from xvr.vla.training import VLATrainConfig, train
    from xvr.vla.rollouts import read_records
    run_dir = tmp_path / "run"
    cfg = VLATrainConfig(model="tiny", data_dir=[str(standin_demos[0])], output_dir=str(run_dir), max_steps=2,
                         per_device_batch=4, lr=1e-3, num_workers=0, save_steps=2, logging_steps=1, min_pixels=1024,
                         max_pixels=1024)
    train(cfg)
    out = tmp_path / "eval"
    r = run("xvr.vla.rollouts.xvr_vla_eval_cli", "--policy", str(run_dir), "--label", "tiny", "--reference", "expert",
            "--episodes", "1", "--workers", "1", "--size", "32", "--gif-size", "0", "--n-action-steps", "16",
            "--instruction", "press the button", "--out", str(out), "--quiet", *STANDIN)
    assert r.returncode == 0, r.stderr[-3000:]
    md = (out / "table7.md").read_text()
    assert "| Policy | StandInCoffeePressButton | Mean |" in md and "| Scripted expert | 100.0 [20.7, 100.0] |" in md
    recs = read_records(out / "records" / "tiny.jsonl")
    assert len(recs) == 1 and recs[0]["task"] == "StandInCoffeePressButton" and recs[0]["robot"] == "Panda"
    assert recs[0]["seed"] >= 1_000_000 and recs[0]["instruction"] == "press the button"


@pytest.mark.parametrize("bad,msg", [
    (["--env", "FoldLaundry"], "unknown environment 'FoldLaundry'; registered: Door, Lift"),
    (["--env", "press_button", "--robot", "R2D2"], "unknown robot 'R2D2'; robosuite's robots:"),
    (["--env", "press_button", "--camera-map", "wrist"], "is not slot=camera"),
    (["--env", "press_button", "--import", "robocasa_missing"], "cannot import 'robocasa_missing'"),
    (["--env", "press_button", "--seed", "999990"], "held out for evaluation"),
    (["--env", "press_button", "--camera-map", "wrist=top_cam", "--height", "16", "--width", "16"],
     "environment XvrPressButton has no camera 'top_cam'; its cameras: 'frontview'")])
def test_demos_bad_input_one_line(tmp_path, capsys, bad, msg):
    from xvr.vla.demos import xvr_vla_demos_cli
    with pytest.raises(SystemExit) as e: xvr_vla_demos_cli(["--out", str(tmp_path / "x"), "--episodes", "1", *bad])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and err[-1].startswith("error:") and msg in err[-1], err


def test_eval_bad_input_one_line(tmp_path, capsys):
    from xvr.vla.rollouts import xvr_vla_eval_cli
    for bad, msg in ((["--env", "FoldLaundry"], "unknown environment 'FoldLaundry'"),
                     (["--env", "press_button", "--robot", "R2D2"], "unknown robot 'R2D2'")):
        with pytest.raises(SystemExit) as e: xvr_vla_eval_cli(["--reference", "expert", "--out", str(tmp_path), *bad])
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 2 and msg in err[-1], err
