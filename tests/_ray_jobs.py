"Job functions for the Ray tests; Ray workers import them by name (this folder is on their PYTHONPATH)."
from pathlib import Path
from xvr.core import DataError


def count_then_fail(path):
    "Append a line to `path` per run; the job whose path ends in 1 then fails as bad input does."
    with open(path, "a") as f: f.write("run\n")
    if path.endswith("1"): raise DataError("bad input", path)
    return 1
