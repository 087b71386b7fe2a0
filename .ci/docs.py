"""Process the notebooks for the docs as `nbdev_docs` does, minus Quarto, and convert each page to HTML.

Quarto cannot be installed offline (its installer downloads a binary), so this proves what can be proved here:
`nbdev_proc_nbs` runs every processor on every notebook, and nbconvert renders each processed page.
Usage: python .ci/docs.py OUT_DIR
"""
import sys
from pathlib import Path
import nbdev.quarto as q
from nbconvert import HTMLExporter
import nbformat


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "_docs_html"); out.mkdir(parents=True, exist_ok=True)
    q._ensure_quarto = lambda: None          # the only step that needs the network
    q.nbdev_proc_nbs.__wrapped__()           # writes _proc/
    proc = Path(q.get_config().config_path) / "_proc"
    exporter = HTMLExporter()
    pages = sorted(proc.rglob("*.ipynb"))
    assert pages, f"no processed notebooks in {proc}"
    for nb in pages:
        body, _ = exporter.from_notebook_node(nbformat.read(nb, as_version=4))
        page = out / nb.relative_to(proc).with_suffix(".html")
        page.parent.mkdir(parents=True, exist_ok=True); page.write_text(body)
        print(f"{nb.relative_to(proc)} -> {page}")
    print(f"{len(pages)} pages converted")


if __name__ == "__main__": main()
