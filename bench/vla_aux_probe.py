"""Does a policy trained with the keypose target (`aux="keyposes"`) find the keyposes? Its error in cm, one run.

The auxiliary head of a policy trained with `VLATrainConfig(aux="keyposes")` predicts, from the images and the
prompt alone, where the end effector goes next (the next two keyposes: gripper-command changes, then the last step,
relative to the end effector). This probe measures that prediction against the truth on some of the training
demonstrations and on clean expert episodes recorded on held-out layouts (`eval_seeds`, never trained on), split by
phase (before the grasp, after it). A large gap between the two says the localisation does not generalise; a large
held-out error before the grasp says the policy cannot tell where the plate is from the first frames.

Usage: MUJOCO_GL=egl python bench/vla_aux_probe.py --policy RUN/final --demos DIR [DIR ...] [--train-demos 100]
       [--task pick_place] [--episodes 10] [--every 2] [--size 96]
`--demos`/`--train-demos` name the run's training episodes (the training-layout rows); the targets' scale comes with the
policy (`head.aux_scale`, saved by training).
"""
import argparse, json
import numpy as np, torch


def predict(model, proc, nz, ep, cams, every, scale, batch=16):
    "Predicted and true keyposes (T', n, 3) in metres of episode `ep`, every `every`-th step; its grasp step."
    from xvr.vla.policy import make_batch
    from xvr.vla.training import keypose_targets, _closed, _eef_dims, _gripper_dim
    ts = np.arange(0, len(ep["action"]), every)
    true = keypose_targets(ep["state"], ep["action"], _eef_dims(ep), _gripper_dim(ep))[ts]
    pred = []
    for k in range(0, len(ts), batch):
        obs = [dict(images=[np.asarray(ep["images"][c][t]) for c in cams], cameras=cams, instruction=ep["instruction"],
                    state=nz.state(ep["state"][t]).astype(np.float32)) for t in ts[k:k + batch]]
        with torch.no_grad():
            ctx, m = model.condition(make_batch(proc, obs))
            pred.append(model.head.aux(ctx, m).numpy() * scale)
    closed = np.flatnonzero(_closed(np.asarray(ep["action"])[:, _gripper_dim(ep)]))
    grasp = closed[0] if len(closed) else len(ep["action"])
    return np.concatenate(pred).reshape(len(ts), -1, 3), true.reshape(len(ts), -1, 3), ts < grasp


def summarise(rows):
    "Mean error (cm) of keypose 1 and 2, before and after the grasp, over episodes' (pred, true, before) rows."
    p = np.concatenate([r[0] for r in rows]); y = np.concatenate([r[1] for r in rows])
    b = np.concatenate([r[2] for r in rows])
    err = np.linalg.norm(p - y, axis=-1) * 100
    out = {}
    for name, sel in (("before grasp", b), ("after grasp", ~b)):
        if sel.any(): out[name] = [round(float(e), 1) for e in err[sel].mean(0)]
    out["true distance, cm"] = [round(float(e), 1) for e in (np.linalg.norm(y, axis=-1) * 100).mean(0)]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--policy", required=True, help="a trained policy folder (`final/`) with the keypose head")
    ap.add_argument("--demos", nargs="+", required=True, help="the run's demonstration folders")
    ap.add_argument("--train-demos", type=int, default=100, help="episodes the run trained on (the first N)")
    ap.add_argument("--task", default="pick_place")
    ap.add_argument("--episodes", type=int, default=10, help="training and held-out episodes probed")
    ap.add_argument("--every", type=int, default=2, help="probe every N-th step")
    ap.add_argument("--size", type=int, default=96, help="rendered image side of the held-out episodes, pixels")
    a = ap.parse_args(argv)
    from xvr.vla.demos import record_episode, eval_seeds
    from xvr.vla.envs import make_env
    from xvr.vla.policy import load_vla
    from xvr.vla.training import load_episodes, ChunkDataset
    model, proc, nz = load_vla(a.policy)
    if model.cfg.aux_dim <= 0: raise SystemExit(f"{a.policy}: the policy has no auxiliary head (aux_dim 0)")
    eps = load_episodes(a.demos, [a.task])[:a.train_demos]
    cams = list(model.cfg.cameras or eps[0]["images"])
    scale = model.head.aux_scale.numpy()   # the training targets' std per dimension, saved with the head
    if np.allclose(scale, 1):   # a policy saved before the scale was: refit it on the training episodes
        scale = ChunkDataset(eps, model.cfg.horizon, cameras=cams, aux="keyposes").aux_scale
    train = [predict(model, proc, nz, e, cams, a.every, scale) for e in eps[:a.episodes]]
    env = make_env(a.task, cameras=cams, height=a.size, width=a.size)
    held = []
    for s in eval_seeds(a.episodes):
        ep = record_episode(env, s)
        held.append(predict(model, proc, nz, ep | dict(state_names=eps[0]["state_names"],
                                                      action_names=eps[0]["action_names"]), cams, a.every, scale))
    res = dict(policy=a.policy, task=a.task, episodes=a.episodes, training=summarise(train), held_out=summarise(held))
    print(json.dumps(res))
    return res


if __name__ == "__main__": main()
