"""The four general-domain generators (point, directional, spatial, viewpoint) on many seeds of the toy scene:
each sample's answer is re-derived from its own `meta` (independently of `xvr.validate`), thresholds hold, output is
deterministic for a seed, impossible scenes are rejected, and answers are balanced over positions and colours."""
import json
from collections import Counter

import numpy as np
import pytest

from xvr.core import Camera, Scene, View
from xvr.projection import project, project_direction, in_image, visible
from xvr.draw import PAPER_COLORS
from xvr.toy import toy_scene
from xvr.tasks.common import (Reject, TASK_INFO, IMAGE_TOKEN, PREAMBLE_GENERAL, REFERENCE_COLORS, check_general_scene,
                              task_generator)
from xvr.tasks.point import point_correspondence, FREE_NOTE
from xvr.tasks.directional import directional_correspondence
from xvr.tasks.spatial import spatial_verification
from xvr.tasks.viewpoint import viewpoint_localization
from xvr.validate import CHECKS

GENERAL = ["point_correspondence", "directional_correspondence", "spatial_verification", "viewpoint_localization"]
GEN = dict(zip(GENERAL, [point_correspondence, directional_correspondence, spatial_verification, viewpoint_localization]))
N_SEEDS = 150


@pytest.fixture(scope="module")
def scenes():
    return [toy_scene(n_views=8, height=120, width=160, seed=0), toy_scene(n_views=6, height=96, width=128, seed=3)]


def _samples(scenes, task, n=N_SEEDS):
    out = []
    for k in range(n):
        sc = scenes[k % len(scenes)]
        try: out.append((sc, GEN[task](sc, np.random.default_rng(k))))
        except Reject: pass
    need = 0.75 if task == "viewpoint_localization" else 0.9   # viewpoint: ~20% `target_camera_not_seen` on a 6-view scene
    assert len(out) >= need * n, f"{task}: too many rejects on the toy scene ({len(out)}/{n})"
    return out


def _cam(v): return Camera.from_dict(v["camera"])
def _uv(p, cam): return project(np.asarray(p, float)[None], cam)[0][0]
def _ang(a, b): return np.degrees(np.arccos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))
def _view_of(scene, cam_dict):
    "The scene view whose camera is `cam_dict` (to re-check visibility against its depth)."
    c = Camera.from_dict(cam_dict)
    return next(v for v in scene.views if np.allclose(v.camera.cam_from_world, c.cam_from_world) and np.allclose(v.camera.K, c.K))


def _common(s, task):
    "Invariants every general-domain sample satisfies."
    assert s.task == task and s.category == TASK_INFO[task]["category"] and s.domain == "general"
    assert s.answer in s.options and s.options[s.meta["answer_index"]] == s.answer
    assert len(set(s.options)) == len(s.options) and s.images == []
    assert s.question.startswith(PREAMBLE_GENERAL) and s.question.count(IMAGE_TOKEN) == len(s.pixels) == len(s.meta["views"])
    for k, (px, v) in enumerate(zip(s.pixels, s.meta["views"]), 1):
        assert px.dtype == np.uint8 and px.ndim == 3 and px.shape[2] == 3
        assert px.shape[:2] == (v["camera"]["height"], v["camera"]["width"])
        assert f"Image {k}" in s.question
    json.dumps(s.meta)                                   # JSON-serialisable as written by the dataset writer
    assert CHECKS[task](s) == [], CHECKS[task](s)        # and the independent validator agrees


def test_task_info_and_registry():
    for t in GENERAL:
        assert TASK_INFO[t]["domain"] == "general" and task_generator(t) is GEN[t]


def test_point(scenes):
    n_free = 0
    for sc, s in _samples(scenes, "point_correspondence"):
        _common(s, "point_correspondence")
        V, p, mp = s.meta["views"], np.array(s.meta["point"]), s.meta["params"]
        assert 3 <= len(s.options) <= 5 and s.options == sorted(s.options) and set(s.options) <= set(PAPER_COLORS)
        assert s.question.rstrip().endswith("Options: " + ", ".join(s.options) + ".")
        assert [v["role"] for v in V] == ["reference"] * (len(V) - 1) + ["target"] and len(V) - 1 >= 2
        assert len({v["markers"][0]["color"] for v in V[:-1]}) == 1 and V[0]["markers"][0]["color"] in REFERENCE_COLORS
        free = s.meta["free_space"]; n_free += free
        assert (FREE_NOTE in s.question) == free
        for v in V:                                      # in front, inside, and (surface points) not occluded
            cam = _cam(v); uv, z = project(p[None], cam)
            assert z[0] > 0 and in_image(uv, cam)[0]
            if not free: assert visible(p[None], _view_of(sc, v["camera"]), tol=mp["tol"])[0]
        for v in V[:-1]:
            assert len(v["markers"]) == 1 and np.abs(np.array(v["markers"][0]["uv"]) - _uv(p, _cam(v))).max() < 1e-6
        t = V[-1]; cam = _cam(t); by = {m["color"]: np.array(m["uv"]) for m in t["markers"]}
        assert sorted(by) == s.options
        assert np.abs(by[s.answer] - _uv(p, cam)).max() < 1e-6
        uvs = np.stack(list(by.values())); assert in_image(uvs, cam).all()
        d = np.hypot(*(uvs[:, None] - uvs[None]).transpose(2, 0, 1)) + np.eye(len(uvs)) * 1e9
        assert d.min() >= mp["min_sep"] - 1e-9
    assert n_free > 0, "no free-space sample over all seeds"


def test_directional(scenes):
    for sc, s in _samples(scenes, "directional_correspondence"):
        _common(s, "directional_correspondence")
        V, mp = s.meta["views"], s.meta["params"]
        p, d, L = np.array(s.meta["point"]), np.array(s.meta["direction"]), s.meta["length"]
        assert len(s.options) == 4 and s.options == sorted(s.options) and abs(np.linalg.norm(d) - 1) < 1e-9
        for v in V:
            assert visible(p[None], _view_of(sc, v["camera"]), tol=mp["tol"])[0]
        for v in V[:-1]:
            st, en = project_direction(p, d, _cam(v), L); m = v["markers"][0]
            assert np.abs(np.array(m["start"]) - st).max() < 1e-6 and np.abs(np.array(m["end"]) - en).max() < 1e-6
        t = V[-1]; cam = _cam(t); by = {m["color"]: m for m in t["markers"]}
        assert sorted(by) == s.options
        st, en = project_direction(p, d, cam, L)
        assert np.abs(np.array(by[s.answer]["end"]) - en).max() < 1e-6
        D = [d] + [np.array(x) for x in s.meta["distractor_directions"]]
        assert len(D) == 4 and all(_ang(a, b) >= mp["min_angle"] for i, a in enumerate(D) for b in D[i + 1:])
        vec = [np.array(m["end"]) - np.array(m["start"]) for m in t["markers"]]
        assert all(np.allclose(m["start"], st) for m in t["markers"])          # same base
        assert all(np.hypot(*x) >= mp["min_len"] - 1e-9 for x in vec)
        assert all(_ang(a, b) >= mp["min_angle_2d"] for i, a in enumerate(vec) for b in vec[i + 1:])
        assert in_image(np.array([m["end"] for m in t["markers"]]), cam).all()
        # every distractor arrow is the projection of its recorded 3D direction
        ends = sorted(tuple(np.round(project_direction(p, x, cam, L)[1], 6)) for x in D)
        assert ends == sorted(tuple(np.round(m["end"], 6)) for m in t["markers"])


def test_spatial(scenes):
    for sc, s in _samples(scenes, "spatial_verification"):
        _common(s, "spatial_verification")
        V, mp = s.meta["views"], s.meta["params"]
        p, q = np.array(s.meta["point"]), np.array(s.meta["displaced_point"])
        assert 3 <= len(V) <= 6 and s.options == [str(k) for k in range(1, len(V) + 1)]
        assert np.linalg.norm(p - q) >= mp["min_offset"]
        assert len({v["markers"][0]["color"] for v in V}) == 1           # one colour: colour gives nothing away
        assert len({json.dumps(v["camera"]) for v in V}) == len(V)       # distinct views
        for k, v in enumerate(V, 1):
            cam = _cam(v); uv = np.array(v["markers"][0]["uv"])
            assert visible(p[None], _view_of(sc, v["camera"]), tol=mp["tol"])[0]
            if str(k) == s.answer:
                assert np.abs(uv - _uv(q, cam)).max() < 1e-6 and np.hypot(*(uv - _uv(p, cam))) >= mp["min_sep"]
                assert in_image(uv[None], cam)[0]
            else: assert np.abs(uv - _uv(p, cam)).max() < 1e-6


def test_viewpoint(scenes):
    for sc, s in _samples(scenes, "viewpoint_localization"):
        _common(s, "viewpoint_localization")
        V, mp, c = s.meta["views"], s.meta["params"], np.array(s.meta["target_center"])
        roles = [v["role"] for v in V]; nref = roles.count("reference")
        assert 2 <= nref and roles == ["reference"] * nref + ["candidate"] * 3
        assert s.options == [str(k) for k in range(nref + 1, nref + 4)]
        for v in V[:nref]:
            cam = _cam(v); uv, z = project(c[None], cam)
            assert z[0] > 0 and in_image(uv, cam)[0] and np.abs(np.array(v["markers"][0]["uv"]) - uv[0]).max() < 1e-6
            assert np.linalg.norm(cam.center - c) > 1e-6
        for k, v in enumerate(V[nref:], nref + 1):
            dist = np.linalg.norm(_cam(v).center - c); assert v["markers"] == []
            if str(k) == s.answer: assert dist < 1e-6
            else: assert dist >= mp["min_baseline"]
        assert len({json.dumps(v["camera"]) for v in V}) == len(V)


@pytest.mark.parametrize("task", GENERAL)
def test_deterministic(scenes, task):
    a, b = (GEN[task](scenes[0], np.random.default_rng(7)) for _ in range(2))
    assert a.question == b.question and a.answer == b.answer and a.options == b.options
    assert json.dumps(a.meta) == json.dumps(b.meta) and all(np.array_equal(x, y) for x, y in zip(a.pixels, b.pixels))
    c = GEN[task](scenes[0], np.random.default_rng(8))
    assert json.dumps(c.meta) != json.dumps(a.meta)


def _bad_scenes(sc):
    one = Scene("one", sc.views[:1], sc.points, sc.colors, "toy", "toy", {})
    nodepth = Scene("nodepth", [View(v.image, v.camera, depth=np.zeros_like(v.depth)) for v in sc.views], sc.points, sc.colors, "toy", "toy", {})
    nopts = Scene("nopts", sc.views, np.zeros((0, 3)), np.zeros((0, 3), np.uint8), "toy", "toy", {})
    return dict(too_few_views=one, no_valid_depth=nodepth, too_few_points=nopts)


@pytest.mark.parametrize("task", GENERAL)
def test_reject_impossible(scenes, task):
    for reason, bad in _bad_scenes(scenes[0]).items():
        with pytest.raises(Reject) as e: GEN[task](bad, np.random.default_rng(0))
        assert e.value.reason == reason
    far = Scene("far", scenes[0].views, scenes[0].points + 1000.0, scenes[0].colors, "toy", "toy", {})  # points behind every view's depth
    if task != "viewpoint_localization":
        with pytest.raises(Reject): GEN[task](far, np.random.default_rng(0), **({"p_free": 0.0} if task == "point_correspondence" else {}))


@pytest.mark.parametrize("task", GENERAL)
def test_balance(scenes, task):
    "No answer position and no answer colour above 1.5x its fair share (expected count given each sample's options)."
    n = 600 if task == "spatial_verification" else 400
    pos, fair_pos, col, fair_col = Counter(), Counter(), Counter(), Counter()
    for _, s in _samples(scenes, task, n):
        k = len(s.options); pos[s.meta["answer_index"]] += 1
        for i in range(k): fair_pos[i] += 1 / k
        if task in ("point_correspondence", "directional_correspondence"):
            col[s.answer] += 1
            for c in s.options: fair_col[c] += 1 / k
    for i, f in fair_pos.items(): assert pos[i] <= 1.5 * f, (task, "position", i, pos[i], f)
    for c, f in fair_col.items(): assert col[c] <= 1.5 * f, (task, "colour", c, col[c], f)
