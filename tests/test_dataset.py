"""End-to-end generation from the simulated source through the command lines: xvr_generate, xvr_validate, xvr_stats."""
import json, subprocess, sys
from pathlib import Path
import pytest

from xvr.core import read_jsonl, write_jsonl
from xvr.core import TASK_NAMES

SIM = ["--scenes", "10", "--episodes", "6", "--views", "6", "--height", "96", "--width", "128",
       "--robot-height", "48", "--robot-width", "80", "--duration", "4", "--min-duration", "3"]


def run(mod, fn, *args, timeout=900):
    return subprocess.run([sys.executable, "-c", f"from {mod} import {fn}; {fn}()", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("xvr") / "data"
    r = run("xvr.dataset", "xvr_generate_cli", "--source", "sim", "--out", str(out), "--per-task", "3", "--eval-per-task", "1", "--chunk", "3", *SIM, "--export", "qwen", "hf", "release",
            "--release-shard-size", "50")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out, r.stdout


def test_all_tasks_generated_and_validated(data):
    out, stdout = data
    s = json.loads((out / "summary.json").read_text())
    assert s["validation"]["bad"] == 0 and "dataset written to" in stdout
    assert set(s["splits"]["train"]["per_task"]) == set(TASK_NAMES)
    assert all(n == 3 for n in s["splits"]["train"]["per_task"].values())
    assert (out / "train" / "stats.md").exists() and (out / "train_qwen.json").exists() and (out / "train_hf").is_dir()


def test_release_export_reads_back(data):
    "`--export release`: the official layout (tar shards of 50 PNGs) reads back as the same samples, both splits."
    from xvr.release import read_release
    out, _ = data
    for split, ours in (("train", "train"), ("test", "eval")):
        back, mine = read_release(out / "release", split), read_jsonl(out / ours / "samples.jsonl")
        assert not back.skipped, back.summary()
        key = lambda s: (s.id, s.task, s.question, sorted(s.options), s.answer, len(s.images))
        assert [key(s) for s in back] == [key(s) for s in mine]
    assert len(list((out / "release" / "image_shards").glob("images_*.tar"))) >= 2
    conv = json.loads((out / "train_qwen.json").read_text())
    assert all(not Path(p).is_absolute() and (out / p).is_file() for c in conv for p in c["image"])


def test_eval_split_is_held_out(data):
    out, _ = data
    train, ev = read_jsonl(out / "train" / "samples.jsonl"), read_jsonl(out / "eval" / "samples.jsonl")
    assert ev and not any(s.scene.startswith("boat") for s in train) and all(s.scene.startswith("boat") for s in ev if s.domain == "general")
    assert not any("sawyer" in s.scene for s in train) and all("sawyer" in s.scene for s in ev if s.domain == "robotic")


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


def test_bad_input_is_skipped_and_counted(tmp_path, capfd):
    "Bad items (NaN camera, missing image, all-invalid depth, a 2-camera episode) are skipped with counted reasons, never sampled."
    import numpy as np
    from xvr.core import save_scene, save_trajectory, View, Scene, Trajectory
    from xvr.toy import toy_scene, toy_trajectory
    from xvr.dataset import generate
    src = tmp_path / "src"
    for i in range(2): save_scene(toy_scene(seed=i, category="mug"), src / "general" / f"good{i}")
    save_scene(toy_scene(seed=5, category="mug"), src / "general" / "nan_camera")
    meta = json.loads((src / "general" / "nan_camera" / "scene.json").read_text())
    meta["views"][0]["camera"]["K"][0][0] = float("nan"); (src / "general" / "nan_camera" / "scene.json").write_text(json.dumps(meta))
    save_scene(toy_scene(seed=6, category="mug"), src / "general" / "missing_image")
    (src / "general" / "missing_image" / "rgb" / "00002.png").unlink()
    sc = toy_scene(seed=7, category="mug")
    save_scene(Scene("blind_0007", [View(v.image, v.camera, depth=np.zeros_like(v.depth)) for v in sc.views], sc.points, sc.colors, "mug", "toy"), src / "general" / "zz_blind")
    for i in range(3): save_trajectory(toy_trajectory(n_steps=30, seed=i), src / "robotic" / f"good{i}")
    ep = toy_trajectory(n_steps=30, seed=9)
    save_trajectory(Trajectory("two_cams", {c: ep.frames[c] for c in ("fix_left", "wrist")}, ep.timestamps, ep.states, ep.actions, ep.fps), src / "robotic" / "two_cams")
    s = generate(src, tmp_path / "out", per_task=6, eval_per_task=1, chunk=6, min_points=100, min_duration=5, progress=False,
                 tasks=["point_correspondence", "temporal_verification"])
    tr = s["splits"]["train"]
    assert tr["rules"]["bad_file"] == 2 and tr["rules"]["too_few_cameras"] == 1
    err = capfd.readouterr().err
    assert "nan_camera" in err and "non-finite" in err and "00002.png" in err
    assert s["validation"]["bad"] == 0
    from xvr.core import read_jsonl
    samples = read_jsonl(tmp_path / "out" / "train" / "samples.jsonl")
    assert tr["rules"]["no_valid_depth"] == 1                               # the blind scene is refused at the source
    assert not any(x.scene in ("blind_0007", "two_cams") for x in samples)


def test_answers_are_balanced(tmp_path):
    "Over a larger toy dataset: no answer position (per option count) or colour above 1.5x its fair share, per task."
    from collections import Counter, defaultdict
    from xvr.core import save_scene, save_trajectory
    from xvr.toy import toy_scene, toy_trajectory
    from xvr.dataset import generate
    for i in range(3): save_scene(toy_scene(seed=i, category="mug"), tmp_path / "src" / "general" / f"{i}")
    for i in range(3): save_trajectory(toy_trajectory(n_steps=30, seed=i), tmp_path / "src" / "robotic" / f"{i}")
    generate(tmp_path / "src", tmp_path / "out", per_task=100, eval_per_task=1, chunk=50, min_points=100, min_duration=5, progress=False, validate=False)
    samples = read_jsonl(tmp_path / "out" / "train" / "samples.jsonl")
    by = defaultdict(list)
    for s in samples: by[s.task].append(s)
    assert set(by) == set(TASK_NAMES)
    from scipy.stats import chisquare
    checked = 0
    for task, ss in by.items():
        if ss[0].answer.isdigit():
            for n_opt in {len(s.options) for s in ss}:
                group = [s.options.index(s.answer) for s in ss if len(s.options) == n_opt]
                if len(group) < 30: continue
                counts = [Counter(group)[k] for k in range(n_opt)]
                # uniform positions: a chi-square test that a real bias fails (p < 0.001) and sampling noise passes;
                # the 1.5x rule once the group is large enough for it to be meaningful (>= 20 expected per position)
                assert chisquare(counts).pvalue > 1e-3, (task, n_opt, counts)
                if len(group) >= 20 * n_opt: assert max(counts) / (len(group) / n_opt) <= 1.5, (task, n_opt, counts)
                checked += 1
        else:
            fair = sum(1 / 5 for s in ss)           # colours are drawn from the paper's five
            worst = max(Counter(s.answer for s in ss).values()) / fair
            assert worst <= 1.5, (task, Counter(s.answer for s in ss))
    assert checked >= 6, checked


def test_data_engine_does_not_import_heavy_frameworks():
    "The data engine stays light: no torch, transformers, tensorflow or datasets on its import path."
    mods = ("xvr.core xvr.config xvr.launch xvr.projection xvr.draw xvr.toy xvr.video xvr.sources.sim xvr.sources.agibot "
            "xvr.filtering xvr.dataset xvr.validate xvr.stats xvr.export xvr.release "
            + " ".join(f"xvr.tasks.{m}" for m in ("common", "point", "directional", "spatial", "viewpoint", "temporal", "dirview", "cross_scenario", "language")))
    code = f"import importlib, sys; [importlib.import_module(m) for m in {mods.split()!r}]; print([m for m in ('torch', 'transformers', 'tensorflow', 'datasets') if m in sys.modules])"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout


def test_image_damaged_after_the_scan_is_a_counted_skip(tmp_path, capfd):
    "A scene image that exists but cannot be decoded is found when a sample first uses it: skipped, counted and logged."
    from xvr.core import save_scene
    from xvr.toy import toy_scene
    from xvr.dataset import generate
    src = tmp_path / "src"
    save_scene(toy_scene(seed=0, category="mug"), src / "general" / "good")
    save_scene(toy_scene(seed=1, category="mug"), src / "general" / "corrupt")
    for p in (src / "general" / "corrupt" / "rgb").iterdir(): p.write_bytes(b"not a png")
    s = generate(src, tmp_path / "out", per_task=6, eval_per_task=0, chunk=6, min_points=100, progress=False,
                 tasks=["point_correspondence"])
    tr = s["splits"]["train"]
    assert tr["rejects"]["bad_file"] >= 1 and tr["per_task"]["point_correspondence"] == 6, tr
    assert "corrupt/rgb/" in capfd.readouterr().err and s["validation"]["bad"] == 0
