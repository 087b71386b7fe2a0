"""The official XVR release layout end to end on fixtures the tests write (packed and extracted images, the paper's
figure texts, paraphrases, unknown labels and bad records): read, evaluate, train a few steps, and HF datasets."""
import json, sys
from pathlib import Path

import numpy as np
import pytest

from xvr.core import read_image
from xvr.release import read_release, write_release_fixture, is_release

SMALL = dict(min_pixels=1024, max_pixels=4096)
KEPT = {"point_correspondence": 2, "directional_correspondence": 1, "spatial_verification": 1, "temporal_verification": 2,
        "viewpoint_localization": 1, "directional_view_localization": 2, "cross_scenario_localization": 1,
        "language_conditioned_localization": 2}


@pytest.mark.parametrize("packed", [True, False])
def test_reader_classifies_and_skips(tmp_path, packed):
    px = write_release_fixture(tmp_path, packed=packed)
    r = read_release(tmp_path, "test")
    from collections import Counter
    assert dict(Counter(s.task for s in r)) == KEPT
    assert dict(r.skips) == {"bad_json": 1, "bad_image_url": 2, "missing_image": 1, "answer_not_in_options": 1,
                             "label_disagrees": 1, "unknown_task": 1}
    for s in r:  # every image readable, equal to what was written, never outside the folder
        assert all(not Path(p).is_absolute() and ".." not in Path(p).parts for p in s.images)
        urls = s.meta["release"]["urls"]
        assert all(np.array_equal(read_image(tmp_path / p), px[u]) for p, u in zip(s.images, urls))
    assert not (tmp_path / "images").exists() if packed else not (tmp_path / "image_shards").exists()


def test_xvr_eval_on_release_subprocess(tmp_path):
    "The CLI entry point on a packed release: records keyed by sample_id, skips reported on stderr."
    import subprocess
    write_release_fixture(tmp_path / "rel")
    code = "import sys; from xvr.vlm.evaluation import xvr_eval_cli; sys.exit(xvr_eval_cli(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, "--data", str(tmp_path / "rel"), "--adapter", "blind", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "skipped bad_escape: bad_image_url: image_url '../../x.png' points outside the release folder" in r.stderr
    recs = [json.loads(l) for l in (tmp_path / "o/predictions/Blind_most_frequent.jsonl").read_text().splitlines()]
    assert [x["id"] for x in recs][:3] == ["multi_reference_point_matching_070_5717086b", "multi_reference_direction_matching_274_55a5b0bd",
                                          "correspondence_verification_599_11aa030a"]
    assert recs[2]["options"] == ["1", "2", "3"] and recs[2]["answer"] == "3"


def test_sft_trains_on_release_train_split(tmp_path):
    "`xvr_sft --train RELEASE_DIR`: the train split's samples (tar-packed images) feed a few tiny-model steps."
    from xvr.vlm.training import SFTConfig, train, read_log, xvr_sft_cli
    rel = tmp_path / "rel"; write_release_fixture(rel)
    cfg = SFTConfig(model="tiny", train=[str(rel)], output_dir=str(tmp_path / "run"), epochs=1, max_steps=2, lr=1e-3,
                    per_device_batch=2, grad_accum=1, num_workers=0, save_steps=100, save_final=False, **SMALL)
    out = train(cfg)
    assert out["step"] == 2 and all(np.isfinite(h["loss"]) for h in read_log(cfg.output_dir))
    assert xvr_sft_cli(["--train", str(rel), "--out", str(tmp_path / "dry"), "--tiny", "--dry-run"]) == 0


def test_hf_datasets_json_loader_reads_release(tmp_path):
    datasets = pytest.importorskip("datasets")
    write_release_fixture(tmp_path)
    ds = datasets.load_dataset("json", data_files={"validation": str(tmp_path / "valid.jsonl")}, split="validation",
                               cache_dir=str(tmp_path / "cache"))
    assert len(ds) == 4 and ds[0]["sample_id"] == "para_point_1"
    assert [b["type"] for b in ds[0]["prompt_blocks"]][:2] == ["text", "image_url"]
    assert is_release(tmp_path) and not is_release(tmp_path / "cache")


def test_xvr_eval_writes_lmms_eval_task(tmp_path, capsys):
    from xvr.vlm.evaluation import xvr_eval_cli
    write_release_fixture(tmp_path / "rel", packed=False)
    assert xvr_eval_cli(["--data", str(tmp_path / "rel"), "--split", "validation", "--lmms-eval", str(tmp_path / "task")]) == 0
    y = (tmp_path / "task" / "xvr_eval.yaml").read_text()
    assert "doc_to_messages: !function utils.xvr_doc_to_messages" in y and "metric: xvr_overall" in y
    docs = [json.loads(l) for l in (tmp_path / "task" / "xvr_eval_docs.jsonl").read_text().splitlines()]
    assert [d["id"] for d in docs] == ["para_point_1", "para_temporal_1", "para_dirview_1", "para_language_1"]
    assert docs[0]["options"] == ["blue", "green", "red"] and docs[0]["answer"] == "green"
