"""VLA learning check on the CPU: expert demos (LeRobot) -> tiny-backbone VLA -> closed-loop rollouts.

Usage: MUJOCO_GL=egl python bench/vla_learning_check.py [--task press_button] [--demos 30] [--steps 1200] [--episodes 20] [--out /tmp/vla_check]
Reports the rollout success of the trained policy, of the same policy with an untrained head, and of the scripted expert.
"""
import argparse, json, time
import numpy as np, torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="press_button"); ap.add_argument("--demos", type=int, default=30)
    ap.add_argument("--steps", type=int, default=1200); ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--size", type=int, default=64); ap.add_argument("--out", default="/tmp/vla_check")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from xvr.vla.demos import record_demos, evaluate_policy, ExpertChunkPolicy, env_settings
    from xvr.vla.training import VLATrainConfig, train, build_policy, load_episodes, evaluate_tasks, policy_from_dir, ChunkDataset
    from xvr.vla.policy import VLAPolicy
    t0 = time.time()
    summ = record_demos(f"{a.out}/demos", a.task, episodes=a.demos, height=a.size, width=a.size, progress=False)
    print(f"demos: {summ['per_task']} ({time.time() - t0:.0f}s)", flush=True)
    dims = env_settings(f"{a.out}/demos")          # the action size comes from the dataset (7 for the Panda + OSC)
    head = dict(width=64, hidden=64, layers=4, heads=4, head_dim=16, vl_layers=1, n_future=8,
                action_dim=dims["action_dim"], state_dim=max(8, dims["state_dim"]))
    cfg = VLATrainConfig(model="tiny", data_dir=[f"{a.out}/demos"], output_dir=f"{a.out}/run", max_steps=a.steps, per_device_batch=16,
                         lr=1e-3, num_workers=0, save_steps=a.steps, logging_steps=50, min_pixels=a.size ** 2, max_pixels=a.size ** 2,
                         head=head)
    t0 = time.time(); h = train(cfg)["history"]
    print(f"train: {len(h)} steps in {time.time() - t0:.0f}s; loss {h[0]['loss']:.3f} -> {np.mean([x['loss'] for x in h[-20:]]):.3f}", flush=True)
    res = {}
    ev = lambda pol: evaluate_tasks(pol, [a.task], a.episodes, 0, 8, a.size, a.size)[a.task]
    res["trained"] = ev(policy_from_dir(f"{a.out}/run/final"))
    eps = load_episodes(cfg.data_dir)
    model, proc = build_policy(cfg, sorted({e["instruction"] for e in eps}))  # same init, untrained head
    res["untrained head"] = ev(VLAPolicy(model, proc, ChunkDataset(eps, 16).normalizer))
    r = evaluate_policy(ExpertChunkPolicy(), a.task, a.episodes, 0, 8, a.size, a.size, progress=False)
    res["expert"] = (int(sum(r["successes"])), len(r["successes"]))
    print(json.dumps(res), flush=True)
    return res


if __name__ == "__main__": main()
