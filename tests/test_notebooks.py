"""Repository-level checks: notebooks and library in sync, notebook tests, docs processing."""
import os, subprocess, sys, shutil, tempfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
TF_NOTEBOOKS = ["sources/12_rlds.ipynb"]  # TensorFlow and MuJoCo EGL must not share a process


def run(cmd, timeout=1800, **kw):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
    return r


def bin_(name): return str(Path(sys.executable).parent / name)


def test_export_in_sync(tmp_path):
    "`nbdev_export` on a clean checkout changes nothing in `xvr/`."
    if not (ROOT / ".git").exists(): pytest.skip("not a git checkout")
    before = run(["git", "status", "--porcelain", "--", "xvr"]).stdout
    run([bin_("nbdev_export")])
    after = run(["git", "status", "--porcelain", "--", "xvr"]).stdout
    assert after == before, f"nbdev_export changed xvr/ (notebooks and library out of sync):\n{after}"


def test_notebooks_clean():
    "Notebooks are committed clean (nbdev_clean: no execution counts, no metadata noise); their outputs (figures) stay for the docs."
    import json
    for nb in sorted(NBS.rglob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        assert all(c.get("execution_count") is None for c in cells if c["cell_type"] == "code"), f"{nb.name} has execution counts: run nbdev_clean"
        outs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert all(o.get("execution_count") is None for o in outs), f"{nb.name} has execution counts in outputs: run nbdev_clean"


def test_nbdev_test():
    "The tests that live in the notebooks (all but the TensorFlow notebook, which runs in its own process)."
    skip = "|".join(Path(n).name.replace(".", r"\.") for n in TF_NOTEBOOKS)
    # about 5-8 minutes on 2 cores; a limit of 20 keeps a hung notebook from eating the CI's 45-minute budget
    run([bin_("nbdev_test"), "--n_workers", "2", "--timing", "--skip_file_re", f"^({skip})$"], timeout=1200)


@pytest.mark.parametrize("nb", TF_NOTEBOOKS)
def test_nbdev_test_tensorflow(nb):
    "TensorFlow-flagged notebook cells, in a process of their own."
    if not (NBS / nb).exists(): pytest.skip(f"{nb} not present")
    pytest.importorskip("tensorflow_datasets")
    run([bin_("nbdev_test"), "--flags", "tf", "--path", str(NBS / nb)], timeout=1200)


def test_docs_process_and_convert(tmp_path):
    "Docs: `nbdev_proc_nbs` (without Quarto, which cannot be installed offline) succeeds and every page converts to HTML."
    run([sys.executable, str(ROOT / ".ci" / "docs.py"), str(tmp_path)], timeout=1800)
    pages = sorted(tmp_path.rglob("*.html"))
    nbs = sorted(NBS.rglob("*.ipynb"))
    assert len(pages) == len(nbs), f"{len(pages)} HTML pages for {len(nbs)} notebooks"
    # the committed outputs carry the figures into the pages: every task page shows its example sample
    for p in pages:
        if p.parent.name == "tasks" and "common" not in p.name: assert "<img" in p.read_text(), f"{p.name} has no figure"
    assert "plotly" in (tmp_path / "01_projection.html").read_text()


def test_readme_matches_index():
    "README.md is written from nbs/index.ipynb."
    run([sys.executable, str(ROOT / ".ci" / "readme.py"), "--check"])


def test_clone_under_hidden_folder(tmp_path):
    "A clone under a dot-folder (`~/.cache/...`) exports, finds every notebook and builds docs pages: nbdev 2.4 skipped them all."
    if not (ROOT / ".git").exists(): pytest.skip("not a git checkout")
    clone = tmp_path / ".cache" / "work" / "xvr"
    run(["git", "clone", "-q", str(ROOT), str(clone)])
    env = dict(os.environ, PYTHONPATH=str(clone))
    code = "from nbdev.doclinks import nbglob; print(len(nbglob()))"
    found = subprocess.run([sys.executable, "-c", code], cwd=clone, env=env, capture_output=True, text=True, check=True)
    assert int(found.stdout) == len(list((clone / "nbs").rglob("*.ipynb"))) > 30
    subprocess.run([bin_("nbdev_export")], cwd=clone, env=env, check=True, capture_output=True)
    assert subprocess.run(["git", "status", "--porcelain", "--", "xvr"], cwd=clone, capture_output=True, text=True).stdout == ""
    r = subprocess.run([sys.executable, ".ci/docs.py", str(tmp_path / "html"), "nbs/00_core.ipynb", "nbs/tasks/21_point.ipynb"],
                       cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert sorted(p.relative_to(tmp_path / "html").as_posix() for p in (tmp_path / "html").rglob("*.html")) == \
        ["00_core.html", "tasks/21_point.html"]
