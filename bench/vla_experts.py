"""Scripted-expert success of the robosuite VLA tasks over many layout seeds, and the cost of a control step.

Usage: MUJOCO_GL=egl nice python bench/vla_experts.py [--seeds 200] [--tasks press_button,open_drawer,pick_place]
           [--render-steps 20] [--size 128] [--workers 1]

For each task: the expert's success over seeds 0..N-1 (the demonstration range; evaluation seeds start at
xvr.vla.demos.EVAL_SEED_OFFSET) without rendering, the failed seeds, the steps per episode, and the time per control
step without rendering (physics + OSC) and with the three cameras rendered offscreen (EGL) at --size pixels, as wall
time and as this process's CPU time (on a loaded machine the CPU time is the one to compare).
"""
import argparse, json, os, time
from concurrent.futures import ProcessPoolExecutor
os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np


def _episodes(task, seeds):
    from xvr.vla.envs import make_env, expert_policy
    env, out = make_env(task, cameras=()), []
    t0, c0, steps = time.time(), time.process_time(), 0
    for s in seeds:
        obs, done = env.reset(s), False
        pi = expert_policy(env)
        while not done: obs, r, done, info = env.step(pi(obs))
        out.append((s, bool(info["success"]), info["t"]))
        steps += info["t"]
    env.close()
    return out, (time.time() - t0) / max(steps, 1), (time.process_time() - c0) / max(steps, 1)


def _render_cost(task, n, size):
    from xvr.vla.envs import make_env, expert_policy
    env = make_env(task, height=size, width=size)
    obs = env.reset(0)
    pi, t0, c0 = expert_policy(env), time.time(), time.process_time()
    for _ in range(n): obs, *_ = env.step(pi(obs))
    dt, dc = (time.time() - t0) / n, (time.process_time() - c0) / n
    env.close()
    return dt, dc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--tasks", default="press_button,open_drawer,pick_place")
    ap.add_argument("--render-steps", type=int, default=20)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    res = {}
    for task in a.tasks.split(","):
        parts = [p.tolist() for p in np.array_split(np.arange(a.seeds), max(1, a.seeds // 25))]
        outs = []
        with ProcessPoolExecutor(a.workers) as ex:
            for o in ex.map(_episodes, [task] * len(parts), parts):
                outs.append(o)
                done = [e for o, *_ in outs for e in o]
                print(f"  {task}: {sum(k for _, k, _ in done)}/{len(done)} so far", flush=True)
        eps = [e for o, *_ in outs for e in o]
        ok = [s for s, k, _ in eps if k]
        steps = [t for _, k, t in eps if k]
        r = dict(success=len(ok), seeds=len(eps), rate=len(ok) / len(eps), failed=[s for s, k, _ in eps if not k],
                 steps_min=min(steps), steps_mean=round(float(np.mean(steps)), 1), steps_max=max(steps),
                 step_s_no_render=round(float(np.mean([dt for _, dt, _ in outs])), 4),
                 step_cpu_s_no_render=round(float(np.mean([dc for *_, dc in outs])), 4))
        if a.render_steps:
            r["step_s_3cams"], r["step_cpu_s_3cams"] = (round(x, 4) for x in _render_cost(task, a.render_steps, a.size))
        res[task] = r
        print(f"{task:13s} expert {r['success']}/{r['seeds']} ({100 * r['rate']:.1f}%), steps {r['steps_min']}-"
              f"{r['steps_max']} (mean {r['steps_mean']}); per control step without rendering "
              f"{1000 * r['step_s_no_render']:.1f} ms wall / {1000 * r['step_cpu_s_no_render']:.1f} ms CPU, "
              f"with 3 cameras at {a.size}px {1000 * r.get('step_s_3cams', float('nan')):.0f} ms wall / "
              f"{1000 * r.get('step_cpu_s_3cams', float('nan')):.0f} ms CPU; failed seeds {r['failed']}",
              flush=True)
    print(json.dumps(res))
    return res


if __name__ == "__main__": main()
