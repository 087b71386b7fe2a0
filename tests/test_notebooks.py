"""Repository-level checks: notebooks and library in sync, notebook tests, docs processing."""
import os, subprocess, sys, shutil, tempfile, time
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


def _notebooks():
    "The notebooks `nbdev_test` would test (nbdev's own globbing and skip rules), the TensorFlow ones apart."
    code = "from nbdev.doclinks import nbglob; print(*nbglob(as_path=True), sep='\\n')"
    tf = {Path(n).name for n in TF_NOTEBOOKS}
    return sorted(p for p in map(Path, run([sys.executable, "-c", code]).stdout.split()) if p.name not in tf)


NB_LIMIT = 600     # seconds for one notebook (the slowest, nbs/vla/55_rollouts, takes about 90)
ALL_LIMIT = 1200   # seconds for all of them: a hung run must not eat the CI's 45-minute budget


def _nbdev_test_one(nb, deadline):
    "(passed, output, retries): `nbdev_test` of one notebook in a process of its own; a native crash or a hang runs again once."
    retries = []
    for attempt in (1, 2):
        limit = min(NB_LIMIT, deadline - time.monotonic())
        if limit <= 0: return False, f"not run: the {ALL_LIMIT} s for all notebooks were spent", retries
        try:
            r = subprocess.run([bin_("nbdev_test"), "--path", str(nb)], cwd=ROOT, capture_output=True, text=True,
                               timeout=limit)
        except subprocess.TimeoutExpired:
            retries.append(f"attempt {attempt} still running after {limit:.0f} s (killed)")
            continue
        if r.returncode >= 0: return r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:], retries
        retries.append(f"attempt {attempt} died of signal {-r.returncode}: {r.stderr[-1500:]}")
    return False, "", retries


def test_nbdev_test():
    """The tests that live in the notebooks (all but the TensorFlow notebook, which runs in its own process).

    Two at a time, each notebook in a process of its own rather than in `nbdev_test --n_workers 2`'s pool: once, in
    a CI run, a worker of that pool died and the pool waited for good. Here a notebook whose process dies of a signal
    or hangs past `NB_LIMIT` is named and run once more (a flaky native crash is reported as a warning, not hidden);
    a notebook whose tests fail fails at once; all of them together get `ALL_LIMIT`. About 3 minutes on 2 cores."""
    import warnings
    from concurrent.futures import ThreadPoolExecutor
    nbs = _notebooks()
    assert len(nbs) > 30, f"only {len(nbs)} notebooks found"
    deadline = time.monotonic() + ALL_LIMIT
    with ThreadPoolExecutor(2) as ex: results = dict(zip(nbs, ex.map(_nbdev_test_one, nbs, [deadline] * len(nbs))))
    for nb, (ok, out, retries) in results.items():
        if retries and ok: warnings.warn(f"{nb.relative_to(NBS)} passed on its second run after: {retries[0][:800]}")
    failed = {nb: "\n".join(retries + [out]) for nb, (ok, out, retries) in results.items() if not ok}
    assert not failed, "\n\n".join(f"{nb.relative_to(NBS)} failed:\n{log}" for nb, log in failed.items())


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
