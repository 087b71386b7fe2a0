"""Print the N-th shell command of README.md's Quick start section (1-based)."""
import re, sys
from pathlib import Path
text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", section, re.S)
assert len(blocks) == 2, f"Quick start must hold exactly two shell blocks, found {len(blocks)}"
print(blocks[int(sys.argv[1]) - 1].strip())
