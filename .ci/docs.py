"""Process the notebooks for the docs as `nbdev_docs` does, minus Quarto, and convert each page to HTML.

Quarto cannot be installed offline (its installer downloads a binary), so this proves what can be proved here:
`nbdev_proc_nbs` runs every processor on every notebook, and nbconvert renders each processed page.
Usage: python .ci/docs.py OUT_DIR [NOTEBOOK ...]   (no notebooks: all of nbs/)
"""
import shutil, sys
from pathlib import Path
import nbdev.quarto as q
import nbdev.serve as serve
from nbdev.processors import FilterDefaults
from nbconvert import HTMLExporter
import nbformat


ONLY = []  # process only these notebooks (absolute paths); empty: all


def _proc_file(s, cache, path, mtime=None):
    """What nbdev's `_proc_file` decides for file `s`, judging only the parts of `s` below `path`.

    nbdev 2.4 skips every file whose *absolute* path has a part starting with a dot, so a clone under `~/.cache/...`
    or `~/.local/...` processes no notebook at all ("no processed notebooks"). Here hidden files and folders count
    only inside the notebooks folder."""
    s, path = Path(s), Path(path)
    rel = s.relative_to(path) if s != path else Path(s.name)
    if ONLY and s.suffix == ".ipynb" and s.resolve() not in ONLY: return
    if not s.is_file() or any(o[0] == "." or o in ("_proc", "_docs", "_site", "settings.ini") for o in rel.parts): return
    d = cache / rel
    if d.exists() and s.stat().st_mtime <= max(d.stat().st_mtime, mtime or 0): return
    d.parent.mkdir(parents=True, exist_ok=True)
    if s.suffix == ".ipynb": return s, d, FilterDefaults
    shutil.copy2(s, d)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "_docs_html"); out.mkdir(parents=True, exist_ok=True)
    ONLY.extend(Path(a).resolve() for a in sys.argv[2:])
    q._ensure_quarto = lambda: None          # the only step that needs the network
    serve._proc_file = _proc_file            # wherever the clone lives (see `_proc_file`)
    cfg = q.get_config()
    proc = Path(cfg.config_path) / "_proc"
    q.nbdev_proc_nbs.__wrapped__(n_workers=0)  # writes _proc/, one notebook after another in this process (a pool of
    # spawned workers hung when one failed)
    pages = sorted(proc.rglob("*.ipynb"))
    if ONLY: pages = [p for p in pages if any(p.relative_to(proc) == nb.relative_to(cfg.nbs_path.resolve()) for nb in ONLY)]
    assert pages, f"no processed notebooks in {proc}"
    exporter = HTMLExporter()
    for nb in pages:
        body, _ = exporter.from_notebook_node(nbformat.read(nb, as_version=4))
        page = out / nb.relative_to(proc).with_suffix(".html")
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(body)
        print(f"{nb.relative_to(proc)} -> {page}")
    print(f"{len(pages)} pages converted")


if __name__ == "__main__": main()
