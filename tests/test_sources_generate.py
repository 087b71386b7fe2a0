"""One generation path for every source: `xvr_generate --source wildrgbd agibot --data-dir ...` on fixtures in the
releases' on-disk layouts converts them at the edge and generates, validates and splits all eight tasks (small
AgiBot episodes, the duration rule lowered). `--source agibot` alone, on two episodes as the release has them (AV1
at 30 fps, 480x640, 20 s: the source rules' minimum, so the default rules apply), generates the four robotic tasks."""
import json

import pytest

from xvr.core import read_jsonl
from xvr.dataset import xvr_generate_cli
from xvr.sources.agibot import write_agibot_fixture
from xvr.sources.wildrgbd import write_wildrgbd_fixture
from xvr.core import TASK_NAMES, ROBOTIC_TASKS
from xvr.video import video_info


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    base = tmp_path_factory.mktemp("real")
    for cat, n in (("mug", 2), ("boat", 1)):
        write_wildrgbd_fixture(base / "WildRGB-D", category=cat, n_scenes=n, n_frames=10, height=120, width=160, seed=3 * n)
    write_agibot_fixture(base / "AgiBot", task_id=327, episode_ids=(1, 2, 3), n_frames=90, height=120, width=160)
    out = base / "out"
    xvr_generate_cli(["--source", "wildrgbd", "agibot", "--data-dir", str(base / "WildRGB-D"), str(base / "AgiBot"),
                      "--out", str(out), "--per-task", "3", "--eval-per-task", "2", "--chunk", "3",
                      "--min-points", "5000", "--min-duration", "1.0", "--wildrgbd-views", "6"])
    return base, out


def test_all_tasks_from_real_sources(generated):
    _, out = generated
    s = json.loads((out / "summary.json").read_text())
    assert s["validation"]["bad"] == 0 and s["source"] == "wildrgbd+agibot"
    train = read_jsonl(out / "train" / "samples.jsonl")
    assert {x.task for x in train} == set(TASK_NAMES), s["splits"]["train"]
    assert {x.source for x in train} == {"wildrgbd", "agibot"}
    conv = json.loads((out / "source" / "convert_wildrgbd.json").read_text())
    assert conv["written"] == 3 and conv["counts"] == {"ok": 3}


def test_agibot_alone_generates_the_four_robotic_tasks_from_av1(tmp_path, capsys):
    root = tmp_path / "AgiBotWorld-Alpha"
    write_agibot_fixture(root, task_id=327, episode_ids=(1, 2), n_frames=600, hold=15)    # 20 s, AV1, 480x640
    v = video_info(root / "observations" / "327" / "1" / "videos" / "head_color.mp4")
    assert (v.codec, v.fps, v.height, v.width, v.n_frames) == ("av1", 30.0, 480, 640, 600)
    out = tmp_path / "out"
    xvr_generate_cli(["--source", "agibot", "--data-dir", str(root), "--out", str(out), "--per-task", "2",
                      "--eval-per-task", "1", "--chunk", "2", "--holdout-embodiment", "none", "--image-format", "npy"])
    assert "source agibot: 2 new items" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    assert s["validation"]["bad"] == 0 and s["source"] == "agibot"
    train = read_jsonl(out / "train" / "samples.jsonl")
    assert {x.task for x in train} == set(ROBOTIC_TASKS), s["splits"]["train"]
    assert {x.source for x in train} == {"agibot"}


def test_boat_category_held_out(generated):
    _, out = generated
    ev = read_jsonl(out / "eval" / "samples.jsonl")
    general_eval = [x for x in ev if x.domain == "general"]
    assert general_eval and all(x.scene.startswith("boat_") for x in general_eval)
    assert not any(x.scene.startswith("boat_") for x in read_jsonl(out / "train" / "samples.jsonl"))


def test_rerun_converts_nothing_and_changes_nothing(generated, capsys):
    base, out = generated
    before = (out / "train" / "samples.jsonl").read_bytes()
    xvr_generate_cli(["--source", "wildrgbd", "agibot", "--data-dir", str(base / "WildRGB-D"), str(base / "AgiBot"),
                      "--out", str(out), "--per-task", "3", "--eval-per-task", "2", "--chunk", "3",
                      "--min-points", "5000", "--min-duration", "1.0", "--wildrgbd-views", "6"])
    printed = capsys.readouterr().out
    assert "source wildrgbd: 0 new items" in printed and "source agibot: 0 new items" in printed
    assert (out / "train" / "samples.jsonl").read_bytes() == before


def test_mismatched_data_dirs_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        xvr_generate_cli(["--source", "wildrgbd", "agibot", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert e.value.code == 2 and "one --data-dir per real source" in capsys.readouterr().err
