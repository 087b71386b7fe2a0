"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does with Quarto, which is not available offline).

Usage: python .ci/readme.py [--check]   (--check: exit 1 if README.md is out of date)
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
nb = json.loads((root / "nbs" / "index.ipynb").read_text())
parts = []
for cell in nb["cells"]:
    src = "".join(cell["source"]).strip()
    if not src or src.startswith("#|"): continue
    if cell["cell_type"] == "markdown":
        src = re.sub(r"^> (.*)$", r"> \1", src, flags=re.M)
        src = re.sub(r"\]\((\w[\w/]*)\.html\)", r"](https://xvr-project.github.io/xvr/\1.html)", src)
        parts.append(src)
    else: parts.append("```python\n" + src + "\n```")
text = "\n\n".join(parts) + "\n"
readme = root / "README.md"
if "--check" in sys.argv:
    if readme.read_text() != text: sys.exit("README.md is out of date with nbs/index.ipynb: run python .ci/readme.py")
else: readme.write_text(text)
