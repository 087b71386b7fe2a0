"""VLA learning check on the CPU: expert demos (LeRobot) -> tiny-backbone VLA -> closed-loop rollouts on held-out seeds.

Usage: MUJOCO_GL=egl python bench/vla_learning_check.py [--task pick_place] [--demos 50] [--steps 2400] [--episodes 20]
           [--size 96] [--pixels 96] [--patch 16] [--cameras agentview_left wrist] [--image-shift 2] [--state-noise 0]
           [--tiny '{"vision_hidden": 64}'] [--record-noise 0.3] [--record-noise-floor 0] [--record-workers 2]
           [--action-space target] [--ema 0.999]
           [--head '{"tune_llm": false}']
           [--eval "" "ensemble=1,ensemble_coeff=-0.1" "n_action_steps=4"] [--out /tmp/vla_check]
Demonstrations are recorded once per task, image size and DART noise into `--out` (resumed, and reused by later runs:
a run trains on the first `--demos` episodes); rollouts render only the cameras the policy reads. Reports the rollout successes of the trained policy under each `--eval`
setting (VLAConfig inference fields; by default GR00T's 8-action chunks and ACT-style temporal ensembling weighted
towards the newest chunk), of the same policy with an untrained head, and of the scripted expert;
for pick_place also how many episodes lifted the object. Appends one JSON line per run to `--out/results.jsonl`.
On a 2-core machine `--record-workers 2 --threads 2` uses both cores (recording in two processes, training with two
threads); the best pick_place count so far (11/20; 36% over 50 episodes, other seeds 5/20): `--task pick_place
--demos 100 --steps 4800 --record-workers 2 --threads 2 --tiny '{"vision_hidden": 128, "hidden": 128}'` (bench/README.md).
"""
import argparse, json, time
from dataclasses import asdict
from pathlib import Path
import numpy as np, torch


class Probe:
    "Wraps a chunk policy; per episode: how far the task's object rose, the first action's error to the expert's."
    def __init__(self, pol): self.pol, self.env, self.rise, self.first_err = pol, None, [], []
    def reset(self, env=None):
        self.env, self.first, self.z0 = env, True, None
        self.rise.append(0.0)
        self.pol.reset(env)
    def _object_z(self):
        "Height of the task's object (pick_place's cube), metres; None where the environment has none."
        f = getattr(getattr(self.env, "env", None), "cube_pos", None)
        return float(f()[2]) if f else None
    def __call__(self, obs):
        from xvr.vla.envs import expert_policy
        z = self._object_z() if self.env is not None else None
        if z is not None:
            self.z0 = z if self.z0 is None else self.z0
            self.rise[-1] = max(self.rise[-1], z - self.z0)
        chunk = self.pol(obs)
        if self.first and self.env is not None:   # does the policy head for the right place from the first frame?
            self.first_err.append(np.abs(np.asarray(chunk)[0] - expert_policy(self.env)(obs)))
        self.first = False
        return chunk


def evaluate(pol, a, cameras=None):
    "Successes and (pick_place) lifts of `pol` on `a.episodes` held-out seeds (rendering `cameras`, default the policy's)."
    from xvr.vla.demos import evaluate_policy
    from xvr.vla.training import ChunkPolicy
    p = Probe(pol if hasattr(pol, "horizon") else ChunkPolicy(pol))
    n = getattr(pol, "n_action_steps", 8)
    r = evaluate_policy(p, a.task, a.episodes, 0, n, a.size, a.size, cameras=a.cameras if cameras is None else cameras,
                        progress=False)
    out = dict(successes=int(sum(r["successes"])), episodes=len(r["successes"]), steps=int(np.mean(r["steps"])))
    if a.task == "pick_place": out["lifted"] = int(sum(dz > 0.05 for dz in p.rise))   # raised 5 cm or more
    out["first_action_err"] = [round(float(x), 3) for x in np.mean(p.first_err, 0)]  # per dim, mean |policy - expert|
    return out


ENSEMBLE = "ensemble=1,ensemble_coeff=-0.1"   # a chunk per step, averaged; weights exp(0.1 i): the newest count most


def parse_setting(s):
    "'n_action_steps=4,binary_gripper=0' -> {'n_action_steps': 4, 'binary_gripper': False}."
    out = {}
    for kv in filter(None, s.split(",")):
        k, v = kv.split("=")
        flag = k in ("binary_gripper", "ensemble")
        out[k] = v.lower() in ("1", "true") if flag else (float(v) if "." in v else int(v))
    return out


PART_SEEDS = 100_000   # with --record-workers k > 1, part i records layouts from seed i * PART_SEEDS


def _record(kw):
    from xvr.vla.demos import record_demos
    return record_demos(**kw)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="press_button")
    ap.add_argument("--demos", type=int, default=50)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--size", type=int, default=96, help="recorded and rendered image side, pixels")
    ap.add_argument("--pixels", type=int, default=96, help="image side the policy's processor resizes to, pixels")
    ap.add_argument("--patch", type=int, default=16, help="vision patch side of the tiny backbone (8: 4x the tokens)")
    ap.add_argument("--tiny", default="{}", help="JSON tiny_qwen3_vl overrides (vision_hidden, vision_depth, ...)")
    ap.add_argument("--record-workers", type=int, default=1,
                    help="processes recording the demonstrations (k > 1: k folders of disjoint layout seeds)")
    ap.add_argument("--record-noise", type=float, default=0.3, help="DART noise of the recorded demonstrations")
    ap.add_argument("--record-noise-floor", type=float, default=0.0,
                    help="smallest speed the DART noise scales with (0: proportional, none when the expert is still)")
    ap.add_argument("--action-space", choices=["delta", "target"], default="delta",
                    help="recorded actions: the env's deltas, or the expert's absolute grip-site targets")
    ap.add_argument("--cameras", nargs="*", default=None, help="camera slots the policy reads (default all)")
    ap.add_argument("--image-shift", type=int, default=2, help="random-shift pixels (2 of 96: GR00T's 95%% crop)")
    ap.add_argument("--state-noise", type=float, default=None, help="state noise std (default VLATrainConfig's)")
    ap.add_argument("--action-min-span", type=float, default=0.0, help="narrow action dims widened to this span")
    ap.add_argument("--aux", default="", help="auxiliary target of the head: '' none, 'keyposes' (next two keyposes)")
    ap.add_argument("--aux-weight", type=float, default=1.0, help="weight of the auxiliary error in the loss")
    ap.add_argument("--aux-condition", action="store_true", help="the action head also reads the auxiliary prediction")
    ap.add_argument("--ema", type=float, default=0.0, help="EMA decay of the weights (0 off; 0.999: a horizon of about 1,000 steps)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--head", default="{}", help="JSON VLAConfig overrides of the head")
    ap.add_argument("--eval", nargs="*", default=["", ENSEMBLE],
                    help="inference settings to evaluate (default: chunks of 8, and temporal ensembling)")
    ap.add_argument("--no-references", action="store_true", help="skip the untrained-head and expert rows")
    ap.add_argument("--out", default="/tmp/vla_check")
    ap.add_argument("--tag", default="", help="run folder suffix; the same tag resumes (or reuses) that run")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    if a.record_workers < 1: ap.error(f"--record-workers must be >= 1, got {a.record_workers}")
    torch.set_num_threads(a.threads)
    from xvr.vla.demos import record_demos, ExpertChunkPolicy
    from xvr.vla.training import (VLATrainConfig, train, build_policy, load_episodes, policy_from_dir, ChunkDataset,
                                  data_dims)
    from xvr.vla.policy import VLAPolicy
    out, t0 = Path(a.out), time.time()
    demos = out / (f"demos_{a.task}_{a.size}" + (f"_dart{a.record_noise:g}" if a.record_noise else "")
                  + (f"_floor{a.record_noise_floor:g}" if a.record_noise_floor else "")
                  + ("_target" if a.action_space == "target" else ""))
    w = a.record_workers
    parts = [demos] if w == 1 else [demos.with_name(f"{demos.name}_part{k}of{w}") for k in range(w)]
    jobs = [dict(out=d, tasks=a.task, episodes=-(-a.demos // w), seed=k * PART_SEEDS, height=a.size, width=a.size,
                 noise=a.record_noise, noise_floor=a.record_noise_floor, action_space=a.action_space,
                 progress=False) for k, d in enumerate(parts)]
    if w == 1: summ = [record_demos(**jobs[0])]
    else:   # one process per part (MuJoCo contexts are per process), disjoint layout seeds
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(w, mp_context=mp.get_context("spawn")) as ex:
            summ = list(ex.map(_record, jobs))
    eps = load_episodes(parts)[:a.demos]
    record_min = (time.time() - t0) / 60
    print(f"demos: {[s['per_task'] for s in summ]}, training on {len(eps)} ({record_min:.1f} min)", flush=True)
    head = dict(width=64, hidden=64, layers=4, heads=4, head_dim=16, vl_layers=1, n_future=8, tune_llm=True)
    head |= json.loads(a.head)   # the tiny LLM is random: nothing pretrained to keep frozen
    aug = {k: v for k, v in (("image_shift", a.image_shift), ("state_noise", a.state_noise)) if v is not None}
    run = out / f"run_{a.task}_{a.tag or int(time.time())}"
    cfg = VLATrainConfig(model="tiny", data_dir=[str(demos)], output_dir=str(run), max_steps=a.steps,
                         per_device_batch=a.batch, lr=a.lr, num_workers=0, save_steps=max(200, a.steps // 4),
                         logging_steps=50, min_pixels=a.pixels ** 2, max_pixels=a.pixels ** 2, head=head,
                         cameras=a.cameras or [], tiny_kwargs=dict(patch_size=a.patch) | json.loads(a.tiny),
                         action_min_span=a.action_min_span, aux=a.aux, aux_weight=a.aux_weight, aux_condition=a.aux_condition, ema_decay=a.ema, **aug)
    t0 = time.time()
    h = train(cfg, eps)["history"]
    train_min = (time.time() - t0) / 60
    loss = (h[0]["loss"], float(np.mean([x["loss"] for x in h[-20:]]))) if h else (None, None)
    print(f"train: {len(h)} steps in {train_min:.1f} min; loss {loss}", flush=True)
    res = dict(task=a.task, demos=len(eps), steps=a.steps, pixels=a.pixels, size=a.size, train_min=round(train_min, 1),
               record_min=round(record_min, 1),
               config={k: v for k, v in asdict(cfg).items() if k not in ("data_dir", "output_dir")}, eval={})
    pol = policy_from_dir(run / "final")
    trained_cfg = pol.model.cfg
    for s in a.eval:
        pol.model.cfg = type(trained_cfg)(**(asdict(trained_cfg) | parse_setting(s)))
        p = VLAPolicy(pol.model, pol.processor, pol.normalizer)
        t1 = time.time()
        res["eval"][s or "default"] = evaluate(p, a) | dict(eval_min=round((time.time() - t1) / 60, 1))
        print(f"eval {s or 'default'}: {res['eval'][s or 'default']}", flush=True)
    if not a.no_references:
        ds = ChunkDataset(eps, 16, cameras=a.cameras, action_min_span=a.action_min_span)
        model, proc = build_policy(cfg, sorted({e["instruction"] for e in eps}), **data_dims(ds))  # untrained head
        res["untrained head"] = evaluate(VLAPolicy(model, proc, ds.normalizer), a)
        res["expert"] = evaluate(ExpertChunkPolicy(), a, cameras=())   # blind: nothing rendered
    print(json.dumps(res), flush=True)
    with open(out / "results.jsonl", "a") as f: f.write(json.dumps(res) + "\n")
    return res


if __name__ == "__main__": main()
