"""Issue #14, one test per defect class, on damaged copies of one small rendered source: the run record (resume,
refuse, overwrite), truncated images, damaged metadata, bad command-line values, skip messages naming the right file,
the validator's pixel checks, and the training launch checks. The source is rendered once for the module (~15 s)."""
import contextlib, io, json, shutil, subprocess, sys

import cv2
import numpy as np
import pytest

from xvr.core import read_jsonl, write_jsonl, load_trajectory, save_trajectory, content_hash
from xvr.dataset import generate

ROBOT = ["temporal_verification", "directional_view_localization", "language_conditioned_localization"]
KW = dict(per_task=2, eval_per_task=0, chunk=1, min_points=100, min_duration=2, holdout_embodiment="none",
          progress=False)
TWO = ["point_correspondence", "temporal_verification"]


def run(mod, fn, *args, timeout=600):
    cmd = [sys.executable, "-c", f"from {mod} import {fn}; {fn}()", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def one_line_error(r, *parts):
    "The command failed with exit 2 and one `error:` line holding every part."
    err = r.stderr.strip()
    assert r.returncode == 2 and err.startswith("error:") and len(err.splitlines()) == 1, (r.returncode, err[-2000:])
    for p in parts: assert p in err, (p, err)


def exits_in_one_line(fn, argv, msg, capsys):
    "`fn(argv)`, a command line run in this process, exits 2 after one `error:` line holding `msg`."
    with pytest.raises(SystemExit) as e: fn([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err.startswith("error:") and len(err.splitlines()) == 1 and msg in err, (argv, err)
    return err


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    from xvr.sources.sim import render_dataset
    d = tmp_path_factory.mktemp("rel") / "src"
    render_dataset(d, scenes=3, episodes=2, views=4, height=48, width=64, robot_height=48, robot_width=64, duration=3,
                   fps=5, image_format="png", progress=False)
    return d


def damaged(source, tmp_path):
    "A copy of the rendered source to damage."
    shutil.copytree(source, tmp_path / "src")
    return tmp_path / "src"


# 1. a used output folder is reused only by the same run
def test_run_record_resumes_refuses_and_overwrites(source, tmp_path):
    out = tmp_path / "o"
    args = ["--source", "folder", "--data-dir", source, "--per-task", 2, "--eval-per-task", 0, "--chunk", 1,
            "--min-points", 100, "--min-duration", 2, "--holdout-embodiment", "none", "--tasks", *ROBOT, "--out", out]
    gen = lambda *more: run("xvr.dataset", "xvr_generate_cli", *args, *more)
    samples = out / "train" / "samples.jsonl"
    assert gen("--seed", 5).returncode == 0
    seed5 = samples.read_bytes()
    shutil.rmtree(next((out / "train" / "shards").glob("temporal*")))               # as a kill half-way leaves it
    one_line_error(gen("--seed", 6), "holds another run (seed 5 -> 6)", "--overwrite")
    assert gen("--seed", 5).returncode == 0 and samples.read_bytes() == seed5        # the same run resumes, same bytes
    assert gen("--seed", 6, "--overwrite").returncode == 0
    fresh = generate(source, tmp_path / "fresh", seed=6, tasks=ROBOT, **KW)
    assert fresh["run"] == "new" and json.loads((out / "summary.json").read_text())["seed"] == 6
    assert samples.read_bytes() == (tmp_path / "fresh" / "train" / "samples.jsonl").read_bytes() != seed5
    with pytest.raises(Exception, match="holdout-category 'boat' -> 'mug'"):
        generate(source, tmp_path / "fresh", seed=6, tasks=ROBOT, **(KW | dict(holdout_category="mug")))
    src = damaged(source, tmp_path)                                                  # the source changes under a folder
    generate(src, tmp_path / "s", seed=6, tasks=ROBOT, **KW)
    t = src / "robotic" / "00000" / "trajectory.json"
    t.write_text(json.dumps(json.loads(t.read_text()) | {"instruction": "other"}))
    with pytest.raises(Exception, match="source-fingerprint"): generate(src, tmp_path / "s", seed=6, tasks=ROBOT, **KW)


# 2. a truncated JPEG or PNG is a damaged file: a counted skip naming it, never a sample
def test_truncated_images_are_counted_skips(source, tmp_path, capfd):
    src = damaged(source, tmp_path)
    ep = src / "robotic" / "00000"
    save_trajectory(load_trajectory(ep), ep, image_format="jpg")                      # RLDS sources are stored as JPEG
    cut = sorted((ep / "frames" / "fix_center").glob("*.jpg"))
    for p in cut: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    png = src / "general" / "00001" / "rgb" / "00002.png"
    png.write_bytes(png.read_bytes()[:-300])
    s = generate(src, tmp_path / "o", seed=0, **KW)
    err = capfd.readouterr().err
    assert "damaged image: truncated JPEG" in err and str(cut[0].parent) in err
    assert "00002.png: damaged image: truncated PNG" in err
    assert s["splits"]["train"]["rejects"]["bad_file"] > 0 and s["validation"]["bad"] == 0
    ep_id = load_trajectory(ep).id
    for x in read_jsonl(tmp_path / "o" / "train" / "samples.jsonl"):
        views = x.meta["views"]
        assert not any(v["episode"] == ep_id and v["camera_id"] == "fix_center" for v in views), x.id
        assert not (x.scene.startswith("bottle") and any(v["camera_id"] == "orbit_02" for v in views)), x.id


# 3. damaged metadata: a counted skip naming the file and fault, or one line with exit 2
@pytest.mark.parametrize("rel,data,msg", [
    ("robotic/00001/trajectory.json", b"\xff\xfe\x00\x9cgarbage", "trajectory.json: invalid JSON"),
    ("robotic/00001/trajectory.json", b"[]", "trajectory.json: must hold a JSON object, got list"),
    ("robotic/00001/arrays.npz", b"PK\x03\x04garbage", "arrays.npz: not a readable npz archive"),
    ("general/00000/scene.json", b"{}", "scene.json: missing key 'id'")])
def test_damaged_metadata_is_a_counted_skip(source, tmp_path, capfd, rel, data, msg):
    src = damaged(source, tmp_path)
    (src / rel).write_bytes(data)
    s = generate(src, tmp_path / "o", tasks=TWO, **KW)
    assert s["splits"]["train"]["rules"]["bad_file"] == 1 and s["validation"]["bad"] == 0
    assert f"skip: {src / rel.rsplit('/', 1)[0]}/{msg}" in capfd.readouterr().err


def test_damaged_manifest_is_one_line(source, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(source, out / "source")
    man = out / "source" / "render_manifest.json"
    man.write_bytes(man.read_bytes()[:30])
    r = run("xvr.dataset", "xvr_generate_cli", "--out", out, "--views", 4)
    one_line_error(r, "render_manifest.json: invalid JSON")


# 4. skip messages name the file that holds the fault
@pytest.mark.parametrize("fault,names", [("nan_depth", "depth/00001.npz"), ("bad_k", "arrays.npz"),
                                         ("short_states", "arrays.npz")])
def test_skip_messages_name_the_right_file(source, tmp_path, capfd, fault, names):
    src = damaged(source, tmp_path)
    if fault == "nan_depth":                                         # a 16-bit mm depth cannot hold NaN: an npz one can
        sc = src / "general" / "00000"
        meta = json.loads((sc / "scene.json").read_text())
        np.savez_compressed(sc / "depth" / "00001.npz", depth=np.full((48, 64), np.nan, np.float32))
        meta["views"][1]["depth"] = "depth/00001.npz"
        (sc / "scene.json").write_text(json.dumps(meta))
    else:
        z = dict(np.load(src / "robotic" / "00001" / "arrays.npz"))
        if fault == "bad_k": z[next(k for k in z if k.startswith("intrinsics/"))] = np.diag([-1.0, 1, 1])
        else: z["states"] = z["states"][:3]
        np.savez_compressed(src / "robotic" / "00001" / "arrays.npz", **z)
    s = generate(src, tmp_path / "o", tasks=TWO, **KW)
    err = {l for l in capfd.readouterr().err.splitlines() if l.startswith("skip")}  # the same line from each scan
    assert s["splits"]["train"]["rules"]["bad_file"] == 1 and len(err) == 1 and f"/{names}: " in err.pop(), err


# 5. bad command-line values: one line, exit 2, before any work
@pytest.mark.parametrize("args,msg", [(["--chunk", "0"], "--chunk must be more than 0"),
                                      (["--height", "0"], "--height must be more than 0"),
                                      (["--eval-per-task", "-1"], "--eval-per-task must be at least 0"),
                                      (["--views", "2"], "--views must be at least 3"),
                                      (["--duration", "nan"], "finite")])
def test_generate_rejects_bad_values(tmp_path, capsys, args, msg):
    from xvr.dataset import xvr_generate_cli
    exits_in_one_line(xvr_generate_cli, ["--out", tmp_path / "o", *args], msg, capsys)
    assert not (tmp_path / "o" / "source").exists()


def test_every_command_line_reports_bad_input_in_one_line(tmp_path, capsys):
    from xvr.sources.sim import xvr_render_cli
    from xvr.sources.registry import xvr_convert_cli
    from xvr.validate import xvr_validate_cli
    from xvr.stats import xvr_stats_cli
    from xvr.vlm.evaluation import xvr_eval_cli
    from xvr.vla.demos import xvr_vla_demos_cli
    from xvr.vla.rollouts import xvr_vla_eval_cli
    (tmp_path / "file").write_text("x")
    under, t = tmp_path / "file" / "out", tmp_path
    cases = [(xvr_render_cli, ["--out", under], "--out cannot be written (Not a directory)"),
             (xvr_render_cli, ["--out", t / "r", "--height", "0"], "--height must be more than 0"),
             (xvr_convert_cli, ["--source", "roboset", "--data-dir", t, "--out", t / "c", "--max-items", "0"],
              "--max-items"),
             (xvr_validate_cli, [t / "none"], "dataset folder not found"),
             (xvr_stats_cli, [t / "none"], "samples.jsonl: file is missing"),
             (xvr_eval_cli, ["--data", t, "--out", t / "e", "--limit", "-1"], "--limit must be at least 0"),
             (xvr_eval_cli, ["--data", t, "--out", under], "--out cannot be written"),
             (xvr_vla_demos_cli, ["--out", under, "--episodes", "1"], "--out cannot be written"),
             (xvr_vla_eval_cli, ["--out", t / "v", "--reference", "expert", "--workers", "0"], "--workers must be")]
    for fn, argv, msg in cases: exits_in_one_line(fn, argv, msg, capsys)


# 6. the validator sees the pixels
@pytest.fixture(scope="module")
def dataset(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "o"
    generate(source, out, tasks=["point_correspondence", "language_conditioned_localization"], **KW)
    return out


def validate(*args):
    "`xvr_validate ARGS` in this process: (exit code, stderr)."
    from xvr.validate import xvr_validate_cli
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try: code = xvr_validate_cli([str(a) for a in args]) or 0
        except SystemExit as e: code = e.code
    return code, err.getvalue()


def test_validator_catches_swapped_and_replaced_images(dataset, source, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(dataset / "train", bad)
    assert validate(bad, "--source", source)[0] == 0
    samples = read_jsonl(bad / "samples.jsonl")
    gen = next(s for s in samples if s.task == "point_correspondence")               # a view swapped with another
    a, b = bad / gen.images[-1], bad / gen.images[-2]
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    code, err = validate(bad)
    assert code == 1 and gen.id in err and "is not the file the sample wrote" in err
    rob = next(s for s in samples if s.task == "language_conditioned_localization")  # a frame from another camera
    v = rob.meta["views"][0]
    other = next(c for c in ("fix_left", "fix_center", "fix_right", "wrist") if c != v["camera_id"])
    ep = next(p for p in (source / "robotic").iterdir()
              if json.loads((p / "trajectory.json").read_text())["id"] == v["episode"])
    frame = load_trajectory(ep).frames[other][v["step"]]
    cv2.imwrite(str(bad / rob.images[0]), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    for s in (gen, rob): s.meta["image_sha256"] = [content_hash((bad / p).read_bytes()) for p in s.images]   # agree
    write_jsonl(bad / "samples.jsonl", samples)
    assert validate(bad)[0] == 0                                                     # the metadata alone cannot see it
    code, err = validate(bad, "--source", source)
    assert code == 1 and f"BAD {gen.id}: image" in err, err
    assert f"BAD {rob.id}: image 1 is not the source view it names" in err, err
    assert err.strip().splitlines()[-1].startswith("error: 2 of")


# 7. training launches are checked first: the GPUs asked for, and a model that resolves without the network
def test_training_launch_checks(tmp_path, capsys, monkeypatch):
    from xvr.launch import gpus_available, check_launch
    from xvr.vlm.training import write_toy_sft_data, xvr_sft_cli
    from xvr.vla.training import xvr_vla_train_cli
    import huggingface_hub.constants
    if gpus_available() < 8:
        with pytest.raises(Exception, match="--gpus 8 asks for 8 GPU processes"): check_launch(8, "tiny")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # empty: no default model
    data, out = write_toy_sft_data(tmp_path / "d", 2), ["--out", tmp_path / "o"]
    err = exits_in_one_line(xvr_sft_cli, ["--train", data, *out], "'Qwen/Qwen3-VL-2B-Instruct' is neither", capsys)
    assert "--model PATH" in err and "--tiny" in err
    err = exits_in_one_line(xvr_vla_train_cli, ["--data", tmp_path, "--model", tmp_path / "nope", *out], "nope", capsys)
    assert "--model PATH" in err and "--tiny" in err
    exits_in_one_line(xvr_sft_cli, ["--train", data, "--tiny", "--gpus", "0", *out], "--gpus must be more", capsys)
    assert not (tmp_path / "o").exists()                                              # nothing was launched


# 8. every command line states the exit-code contract once, through `xvr.core.cli`
def test_every_command_line_is_wrapped_by_cli():
    "Each console script of settings.ini is a function decorated with `xvr.core.cli` (2 = bad input, 1 = bad samples)."
    import ast, configparser
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    cfg = configparser.ConfigParser()
    cfg.read(root / "settings.ini")
    scripts = [line.split("=", 1) for line in cfg["DEFAULT"]["console_scripts"].splitlines() if line.strip()]
    unwrapped = []
    for name, target in scripts:
        mod, fn = target.strip().split(":")
        tree = ast.parse((root / (mod.replace(".", "/") + ".py")).read_text())
        f = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fn)
        if not any(isinstance(d, ast.Name) and d.id == "cli" for d in f.decorator_list): unwrapped.append(name.strip())
    assert len(scripts) >= 12 and not unwrapped, unwrapped
