"""xvr_view at 100K samples: site build time, data size, and how fast a task page opens in Chromium from file://,
against a baseline page that loads every record of the task up front (what a page without the chunked index does).
The dataset is made by repeating the samples of a small split (new ids, the same images), so only the viewer is
measured; the build is also given as a ratio to parsing the same JSONL (`read_jsonl`), which it cannot do without. Validation is off for the build (it reads every image: measured per sample on the small split instead).
Usage: python bench/bench_viewer.py SPLIT_DIR [--n 100000] [--out /tmp/xvr_bench_view]
"""
import argparse, json, re, shutil, time
from pathlib import Path
from xvr.core import read_jsonl, write_jsonl
from xvr.viz.viewer import build_site, load_items, verdict


def blow_up(split:Path, out:Path, n:int)->Path:
    "A split of `n` samples repeating `split`'s samples (images linked to the originals by relative path)."
    base = read_jsonl(split / "samples.jsonl")
    out.mkdir(parents=True, exist_ok=True)
    rel = Path("..") / split.name if split.parent == out.parent else split.resolve()
    samples = []
    for k in range(n):
        s = base[k % len(base)]
        d = s.to_dict() | {"id": f"{s.id}/copy{k:06d}", "images": [str(Path(rel) / p) for p in s.images]}
        samples.append(type(s).from_dict(d))
    write_jsonl(out / "samples.jsonl", samples)
    return out


def open_time(browser, url:str, reps:int=3)->float:
    "Median seconds from navigation to the first page of samples drawn."
    ts = []
    for _ in range(reps):
        pg = browser.new_page()
        t = time.perf_counter()
        pg.goto(url)
        pg.wait_for_function("document.body.dataset.ready === '1'", timeout=120000)
        ts.append(time.perf_counter() - t)
        pg.close()
    return sorted(ts)[len(ts) // 2]


def filter_time(browser, url:str, answer:str)->float:
    "Seconds for an answer filter to redraw the list."
    pg = browser.new_page()
    pg.goto(url)
    pg.wait_for_function("document.body.dataset.ready === '1'", timeout=120000)
    t = time.perf_counter()
    pg.select_option("#f-answer", answer)
    pg.wait_for_function(f"location.hash.includes('answer=') && document.getElementById('count').textContent"
                         f".includes('page 1')", timeout=120000)
    dt = time.perf_counter() - t
    pg.close()
    return dt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("split", help="a small split folder (samples.jsonl + images)")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--out", default="/tmp/xvr_bench_view")
    a = ap.parse_args(argv)
    out = Path(a.out)
    if out.exists(): shutil.rmtree(out)
    split = Path(a.split).resolve()
    small = load_items(split)
    t = time.perf_counter()
    for it in small: verdict(it)
    per_val = (time.perf_counter() - t) / len(small)
    big = blow_up(split, out / "big" / "train", a.n)
    t = time.perf_counter()
    read_jsonl(big / "samples.jsonl")
    read = time.perf_counter() - t              # the floor: parsing the dataset, which the build must do too
    t = time.perf_counter()
    summ = build_site(big, out / "site", validate=False, progress=False)
    build = time.perf_counter() - t
    size = sum(f.stat().st_size for f in (out / "site").rglob("*") if f.is_file())
    task = max(summ, key=lambda k: summ[k]["n"])
    page = out / "site" / f"task-{task}.html"
    chunks = sorted((out / "site" / "data" / task).glob("c*.js"))
    eager = page.with_name("eager.html")        # the baseline: every record of the task loaded with the page
    tags = "".join(f'<script src="data/{task}/{c.name}"></script>' for c in chunks)
    eager.write_text(re.sub(r"(<script src=\"data/[^\"]+/index.js\"></script>)", r"\1" + tags, page.read_text()))
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        lazy_s, eager_s = open_time(b, page.as_uri()), open_time(b, eager.as_uri())
        filt = filter_time(b, page.as_uri(), summ[task]["answers"][0][0])
        b.close()
    print(json.dumps(dict(samples=a.n, build_s=round(build, 2), build_per_sample_ms=round(1000 * build / a.n, 3),
                          read_jsonl_s=round(read, 2), build_over_read=round(build / read, 2),
                          validate_per_sample_ms=round(1000 * per_val, 2), site_mb=round(size / 2**20, 1),
                          task=task, task_samples=summ[task]["n"], chunks=len(chunks),
                          open_s=round(lazy_s, 3), open_eager_baseline_s=round(eager_s, 3),
                          open_speedup=round(eager_s / lazy_s, 1), filter_s=round(filt, 3)), indent=1))


if __name__ == "__main__": main()
