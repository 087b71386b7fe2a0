"""Open X-Embodiment RLDS sources end to end: fixtures written by tensorflow-datasets with each dataset's real feature
spec, read back through the loader users take, converted in a subprocess and fed to `xvr_generate`.

TensorFlow and a live MuJoCo EGL context cannot share a process, so everything that imports TensorFlow runs in a
child process; this test process must never import it."""
import json, subprocess, sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tf
pytest.importorskip("tensorflow_datasets")

from xvr.core import DataError, read_jsonl, load_trajectory


def _py(code, *args, timeout=600):
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-4000:]
    return r.stdout


def _cli(*args, timeout=900):
    return subprocess.run([str(Path(sys.executable).parent / "xvr_generate"), *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def oxe(tmp_path_factory):
    "A folder laid out like a local copy of gs://gresearch/robotics: <tfds_name>/<version>/ per dataset."
    root = tmp_path_factory.mktemp("oxe")
    _py("import sys; from xvr.sources.rlds import write_rlds_fixture as w\n"
        "for n, e, t in [('roboset', 4, 12), ('mobile_aloha', 3, 60), ('droid', 3, 24)]: w(n, sys.argv[1], n_episodes=e, n_steps=t)", root)
    return root


def test_fixture_is_a_real_tfds_folder(oxe):
    for d in ("robo_set/0.1.0", "aloha_mobile/0.1.0", "droid/1.0.0"):
        files = {p.name for p in (oxe / d).iterdir()}
        assert {"dataset_info.json", "features.json"} <= files and any(".tfrecord-" in f for f in files), (d, files)
    feats = json.loads((oxe / "droid/1.0.0/features.json").read_text())
    assert "exterior_image_1_left" in json.dumps(feats) and "tensorflow" not in sys.modules


def test_convert_in_subprocess_never_imports_tensorflow(oxe, tmp_path):
    from xvr.dataset import convert_sources
    s = convert_sources(["roboset", "droid"], [oxe, oxe], tmp_path / "src", min_duration=0.5, progress=False)
    assert [(x["source"], x["written"]) for x in s] == [("roboset", 4), ("droid", 3)], s
    assert "tensorflow" not in sys.modules
    t = load_trajectory(tmp_path / "src" / "robotic" / "droid_000000")
    assert t.cameras == ["exterior_1", "exterior_2", "wrist"] and t.meta["tasks"] == ["temporal_verification"]
    assert t.frames["wrist"][0].shape == (180, 320, 3) and t.fps == 15.0 and t.instruction
    # resumable: a second run writes nothing new
    assert [x["written"] for x in convert_sources(["roboset", "droid"], [oxe, oxe], tmp_path / "src", min_duration=0.5, progress=False)] == [0, 0]
    with pytest.raises(DataError, match="one --data-dir per real source"): convert_sources(["roboset", "droid"], [oxe], tmp_path / "x")
    with pytest.raises(DataError, match="fmb data not found"): convert_sources(["fmb"], [tmp_path / "nope"], tmp_path / "x")
    # the uncompressed storage: frames as TensorFlow decodes them, kept without re-encoding, read without decoding
    f = convert_sources(["droid"], [oxe], tmp_path / "fast", min_duration=0.5, progress=False, image_format="npy")
    fast = load_trajectory(tmp_path / "fast" / "robotic" / "droid_000000")
    assert f[0]["written"] == 3 and (tmp_path / "fast" / "robotic" / "droid_000000" / "frames" / "wrist.npy").exists()
    assert fast.frames["wrist"].shape == (len(t), 180, 320, 3) and fast.cameras == t.cameras


def test_generate_from_rlds_sources(oxe, tmp_path):
    "roboset (all robotic tasks) + droid (temporal only) train; mobile_aloha held out whole for XVR-Eval."
    out = tmp_path / "out"
    r = _cli("--source", "roboset", "droid", "mobile_aloha", "--data-dir", oxe, oxe, oxe, "--out", out, "--per-task", 4,
             "--eval-per-task", 2, "--chunk", 4, "--min-duration", 0.5,
             "--tasks", "temporal_verification", "directional_view_localization", "cross_scenario_localization", "language_conditioned_localization")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "source droid: 3 new items" in r.stdout and "validation:" in r.stdout, r.stdout
    train, ev = read_jsonl(out / "train" / "samples.jsonl"), read_jsonl(out / "eval" / "samples.jsonl")
    assert {s.source for s in train} <= {"roboset", "droid"} and {s.source for s in ev} == {"mobile_aloha"}
    assert all(s.task == "temporal_verification" for s in train if s.source == "droid")
    assert {s.task for s in train if s.source == "roboset"} >= {"directional_view_localization", "language_conditioned_localization"}
    stats = json.loads((out / "train" / "source_stats.json").read_text())
    assert set(stats["tau_act_by_source"]) == {"roboset", "droid"} and stats["rules"]["temporal_only"] == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["validation"]["bad"] == 0
    lang = [s for s in train if s.task == "language_conditioned_localization"]
    assert lang and any("wrist" in s.question for s in lang)


def test_missing_source_is_one_line(tmp_path):
    r = _cli("--source", "roboset", "--data-dir", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert r.returncode == 2
    err = r.stderr.strip()
    assert "\n" not in err and "roboset data not found" in err and "gs://gresearch/robotics/robo_set/0.1.0" in err, err
