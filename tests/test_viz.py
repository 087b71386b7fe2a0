"""The viewer and the annotation app as a person uses them, in a real browser (Debian's Chromium driven by Playwright).

Skipped when Chromium or Playwright is absent. Servers bind 127.0.0.1 on a free port; every wait is bounded.
XVR_SCREENSHOTS=1 rewrites the screenshots kept on the docs pages (nbs/viz/images/)."""
import http.client, json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request
from pathlib import Path
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# the docs pages' screenshots are rewritten only when asked (XVR_SCREENSHOTS=1), so a test run leaves the checkout as is
SHOTS = (Path(__file__).resolve().parents[1] / "nbs" / "viz" / "images" if os.environ.get("XVR_SCREENSHOTS")
         else Path(tempfile.mkdtemp(prefix="xvr_shots_")))
SIM = ["--scenes", "10", "--episodes", "8", "--views", "6", "--height", "72", "--width", "96",
       "--robot-height", "48", "--robot-width", "64", "--duration", "4", "--min-duration", "3"]


def run(mod, fn, *args, timeout=600):
    return subprocess.run([sys.executable, "-c", f"from {mod} import {fn}; {fn}()", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def browser():
    pw = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM): pytest.skip("chromium is not installed (apt-get install chromium)")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    "A few samples of every task from the simulated source (about 15 s of CPU)."
    out = tmp_path_factory.mktemp("viz") / "data"
    r = run("xvr.dataset", "xvr_generate_cli", "--source", "sim", "--out", str(out), "--per-task", "2",
            "--eval-per-task", "1", "--chunk", "2", *SIM)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def site(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    r = run("xvr.viz.viewer", "xvr_view_cli", str(data), "--out", str(out), "--per-page", "2")
    assert r.returncode == 0 and "0 failing the validator" in r.stdout, r.stdout + r.stderr
    return out


def _page(browser, url, width=1100, height=800):
    pg = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url)
    return pg, errors


def _shot(pg, name, **kw):
    "Keep a small screenshot for the docs page (a 256-colour PNG)."
    from PIL import Image
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / name), **kw)
    Image.open(SHOTS / name).convert("RGB").quantize(256).save(SHOTS / name, optimize=True)


def _loaded(pg):
    "Scroll every image into view (they load lazily) and return how many decoded with a size."
    for img in pg.locator("#samples img").all(): img.scroll_into_view_if_needed(timeout=5000)
    pg.wait_for_function("[...document.querySelectorAll('#samples img')].every(i => i.complete)", timeout=10000)
    return pg.evaluate("[...document.querySelectorAll('#samples img')].filter(i => i.naturalWidth > 0).length")


def test_viewer_index_counts(site, data, browser):
    from xvr.core import read_jsonl
    pg, errors = _page(browser, (site / "index.html").as_uri())
    rows = {r.get_attribute("data-task"): r for r in pg.locator("#tasks tr[data-task]").all()}
    n = {}
    for split in ("train", "eval"):
        for s in read_jsonl(data / split / "samples.jsonl"): n[s.task] = n.get(s.task, 0) + 1
    assert set(rows) == set(n) and len(rows) == 8
    for t, row in rows.items(): assert row.locator("td").nth(1).inner_text() == str(n[t])
    assert not errors


def test_viewer_task_page_shows_samples_and_filters(site, data, browser):
    from xvr.core import read_jsonl
    samples = [s for sp in ("train", "eval") for s in read_jsonl(data / sp / "samples.jsonl")
               if s.task == "point_correspondence"]
    pg, errors = _page(browser, (site / "task-point_correspondence.html").as_uri())
    pg.wait_for_selector("#samples article", timeout=10000)
    assert f"{len(samples)} of {len(samples)} samples" in pg.inner_text("#count")
    cards = pg.locator("#samples article")
    assert cards.count() == min(2, len(samples))                 # --per-page 2
    first = next(s for s in samples if s.id == cards.first.get_attribute("id"))
    assert _loaded(pg) == sum(len(s.images) for s in samples if s.id in
                              [c.get_attribute("id") for c in cards.all()])
    assert cards.first.locator(".answer-line").inner_text() == f"answer: {first.answer}"
    assert cards.first.locator(".options span.answer").inner_text() == first.answer
    assert "validator: ok" in cards.first.inner_text()
    # a filter narrows the list to the samples with that answer, across pages
    pg.select_option("#f-answer", first.answer)
    want = [s for s in samples if s.answer == first.answer]
    pg.wait_for_function(f"document.getElementById('count').textContent.startsWith('{len(want)} of')", timeout=5000)
    assert all(a == f"answer: {first.answer}" for a in pg.locator("#samples .answer-line").all_inner_texts())
    pg.select_option("#f-answer", "")
    pg.select_option("#f-split", "eval")
    n_eval = sum(s.id.split("/")[2] == "eval" for s in samples)
    pg.wait_for_function(f"document.getElementById('count').textContent.startsWith('{n_eval} of')", timeout=5000)
    assert not errors


def test_viewer_pages_and_screenshot(site, browser):
    pg, errors = _page(browser, (site / "task-temporal_verification.html").as_uri())
    pg.wait_for_selector("#samples article", timeout=10000)
    ids = pg.locator("#samples article").evaluate_all("a => a.map(e => e.id)")
    pg.locator(".pager a", has_text="2").first.click()
    pg.wait_for_function(f"!document.getElementById({json.dumps(ids[0])})", timeout=5000)
    assert "page 2 of" in pg.inner_text("#count") and not errors
    pg.goto((site / "task-point_correspondence.html").as_uri())
    pg.wait_for_selector("#samples article", timeout=10000)
    pg.check("#overlay")
    _loaded(pg)
    pg.evaluate("window.scrollTo(0, 0)")
    pg.set_viewport_size({"width": 1100, "height": 900})
    _shot(pg, "viewer.png")


# --- the annotation app ---

@pytest.fixture()
def app(data, tmp_path):
    from xvr.viz.annotate import Study, make_app, new_annotators, serve
    toks = new_annotators(tmp_path / "annotators.txt", ["ann1", "ann2"])
    study = Study(data / "eval", toks, tmp_path / "answers", n=7, seed=0, mode="all")
    srv = serve(make_app(study), "127.0.0.1", 0)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_port}", toks, study, srv.server_port
    srv.shutdown()
    th.join(timeout=10)


def _raw_get(port, path):
    "A GET with the path sent exactly as written (a browser would normalise `..` away)."
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def _images_decoded(pg, timeout:float=10.0)->bool:
    "True once every image of the page has loaded with a size; False if one has not within `timeout` s (a broken one never does)."
    end = time.monotonic() + timeout     # polled from Python: the page may still be fetching them, and the CSP forbids string eval
    while not pg.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)"):
        if time.monotonic() > end: return False
        time.sleep(0.05)
    return True


def test_annotation_flow_in_browser(app, browser):
    url, toks, study, port = app
    pg, errors = _page(browser, f"{url}/a/{toks['ann1']}")
    answered = []
    for k in range(5):
        pg.wait_for_selector("#sample", timeout=10000)
        assert pg.inner_text("h1") == f"Sample {k + 1} of {len(study.subset)}"
        sid = pg.get_attribute("#sample", "data-id")
        assert _images_decoded(pg)
        it = study.by_id[sid]
        assert pg.locator(".answer, .answer-line").count() == 0 and "answer:" not in pg.content()
        buttons = pg.locator("#choices button")
        if k % 2: pg.keyboard.press(buttons.first.get_attribute("data-key"))   # a key...
        else: buttons.first.click()                                            # ...or a click
        pg.locator(f"#sample[data-id={json.dumps(sid)}]").wait_for(state="detached", timeout=10000)  # no eval: the CSP forbids it
        answered.append((sid, it.sample.options[0]))
    pg.reload()                                             # pause and come back: the 6th sample
    pg.wait_for_selector("#sample", timeout=10000)
    assert pg.inner_text("h1") == f"Sample 6 of {len(study.subset)}"
    assert pg.get_attribute("#sample", "data-id") not in [a for a, _ in answered]
    _shot(pg, "annotate.png", full_page=True)
    lines = (study.out / "ann1.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    assert [(r["id"], r["choice"]) for r in recs] == answered and len(lines) == 5
    assert all(r["seconds"] is not None and r["seconds"] >= 0 for r in recs)
    assert not errors


def test_annotation_refuses_bad_tokens_and_paths(app, browser):
    url, toks, study, port = app
    pg, _ = _page(browser, f"{url}/a/{'x' * 32}")
    r = pg.goto(f"{url}/a/{'x' * 32}")
    assert r.status == 403 and pg.goto(f"{url}/").status == 403
    assert pg.goto(f"{url}/a/{toks['ann2'][:-1]}").status == 403
    for path in ["/img/../../etc/passwd", "/img/%2e%2e/%2e%2e/etc/passwd", "/img//etc/passwd", "/img/%2Fetc%2Fpasswd",
                 "/img/", "/img/shards", "/static/../annotate.py", "/static/"]:
        status, body = _raw_get(port, path)
        assert status in (403, 404) and b"root:" not in body, (path, status)
    some = next(iter(study.images))
    assert _raw_get(port, "/img/" + some)[0] == 200


def test_killed_server_loses_nothing_and_human_row(data, tmp_path):
    "Answers acknowledged before a kill -9 are all in the file; `xvr_eval --human` scores them."
    from xvr.viz.annotate import new_annotators
    toks = new_annotators(tmp_path / "ann.txt", ["solo"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, "-c", "from xvr.viz.annotate import xvr_annotate_cli; xvr_annotate_cli()",
                          str(data / "eval"), "--annotators", str(tmp_path / "ann.txt"), "--out", str(tmp_path / "ans"),
                          "--n", "7", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/a/{toks['solo']}"
        for _ in range(100):
            try:
                page = urllib.request.urlopen(base, timeout=5).read().decode()
                break
            except OSError: time.sleep(0.2)
        else: pytest.fail("the annotation server did not answer within 20 s")
        acked = []
        for _ in range(3):
            sid = re.search(r'data-id="([^"]+)"', page).group(1)
            choice = re.search(r'name="choice" value="([^"]+)"', page).group(1)
            body = f"id={urllib.parse.quote(sid)}&choice={urllib.parse.quote(choice)}&ms=1500".encode()
            page = urllib.request.urlopen(urllib.request.Request(base, data=body), timeout=5).read().decode()
            acked.append(sid)
    finally:
        p.kill()
        p.wait(timeout=10)
    recs = [json.loads(line) for line in (tmp_path / "ans" / "solo.jsonl").read_text().splitlines()]
    assert [r["id"] for r in recs] == acked and all(r["seconds"] == 1.5 for r in recs)
    r = run("xvr.vlm.evaluation", "xvr_eval_cli", "--human", str(tmp_path / "ans" / "solo.jsonl"),
            "--data", str(data / "eval"), "--adapter", "random", "--out", str(tmp_path / "res"))
    assert r.returncode == 0, r.stdout + r.stderr
    table = (tmp_path / "res" / "table2.md").read_text()
    human = next(line for line in table.splitlines() if line.startswith("| Human |"))
    want = 100 * sum(r["correct"] for r in recs) / len(recs)
    assert f"{want:.2f}" in human and "| 3 |" in human
    assert "Human: 3 annotations" in r.stdout


def test_explorer_figure_in_browser(tmp_path, browser):
    "The explorer's static figure renders in Chromium with every view; its screenshot is kept for the docs page."
    from xvr.toy import toy_scene
    from xvr.viz.explorer import explore
    from xvr.viz.viewer import load_items, tiny_split
    it = load_items(tiny_split(tmp_path / "train"))[0]
    fig = explore(it.sample, it.root, scene=toy_scene(n_views=6, height=96, width=128, seed=1), static=True,
                  max_points=1500)
    (tmp_path / "fig.html").write_text(fig.to_html(include_plotlyjs=True, full_html=True))
    pg, errors = _page(browser, (tmp_path / "fig.html").as_uri(), 1000, 900)
    pg.wait_for_selector(".main-svg", timeout=20000)
    pg.wait_for_function(f"document.querySelectorAll('g.layer-above image, .imagelayer image').length >= "
                         f"{len(it.sample.images)}", timeout=20000)
    assert not errors
    _shot(pg, "explorer.png")


def test_web_and_jupyter_stacks_stay_in_xvr_viz():
    "The data engine never imports the web or Jupyter stacks; the static viewer needs neither Flask nor torch."
    engine = "xvr.core xvr.projection xvr.draw xvr.dataset xvr.validate xvr.stats xvr.export xvr.tasks.common".split()
    heavy = ("flask", "werkzeug", "ipywidgets", "anywidget", "playwright", "jinja2", "torch")
    for mods, banned in [(engine, heavy), (["xvr.viz.viewer"], ("flask", "ipywidgets", "anywidget", "torch")),
                         (["xvr.viz.annotate"], ("ipywidgets", "torch", "transformers"))]:
        code = (f"import importlib, sys; [importlib.import_module(m) for m in {mods!r}]; "
                f"print([m for m in {banned!r} if m in sys.modules])")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and r.stdout.strip() == "[]", (mods, r.stdout, r.stderr[-2000:])


def test_viewer_and_annotation_on_the_release_layout(tmp_path, browser, caplog):
    "The official release layout (images packed in tar shards): the viewer shows it, the app serves its images."
    from xvr.release import read_release, write_release_fixture
    from xvr.viz.annotate import Study, make_app, new_annotators
    from xvr.viz.viewer import build_site
    rel = tmp_path / "release"
    write_release_fixture(rel, packed=True)
    n = len(read_release(rel, "test"))
    summ = build_site(rel, tmp_path / "site", progress=False)
    assert sum(t["unchecked"] for t in summ.values()) == sum(t["n"] for t in summ.values()) > 0
    assert "skipped" in caplog.text                                     # the fixture's bad records, logged
    task = max(summ, key=lambda t: summ[t]["n"])
    pg, errors = _page(browser, (tmp_path / "site" / f"task-{task}.html").as_uri())
    pg.wait_for_selector("#samples article", timeout=10000)
    assert _loaded(pg) == pg.locator("#samples img").count() > 0
    assert "not re-checked" in pg.inner_text("#samples") and not errors
    toks = new_annotators(tmp_path / "ann.txt", ["a"])
    study = Study(rel, toks, tmp_path / "answers", n=n, split="test")
    c = make_app(study).test_client()
    r = c.get(f"/a/{toks['a']}")
    src = re.search(r'src="(/img/[^"]+)"', r.text).group(1)
    img = c.get(src)
    assert img.status_code == 200 and img.data[:4] == b"\x89PNG" and ".tar/" in urllib.parse.unquote(src)
