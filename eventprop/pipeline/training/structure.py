"""Structure learning (spec/structure.md): DEEP R removal, RigL reintroduction and Dale's law on sparse connections.

A structured connection is Sparse with a fixed number S of synapse slots. Every candidate pair (i, j) has a fixed
sign s_ij (Dale: one sign per presynaptic neuron) and a fixed candidate delay drawn from the delay init. The weight of
an active slot is w = s * theta (theta > 0). After each optimiser step a slot whose theta = s * w <= 0 is dormant and
is refilled at once with a dormant pair, so exactly S synapses are active after every step: DEEP R draws the pair at
random; RigL takes the dormant pair with the most negative dL/dtheta from the last dense backward pass (computed every
`period` steps on that step's batch; at that step RigL also exchanges `fraction` of the active slots, the smallest
theta out). A reactivated synapse starts at theta = 1e-6 with its pair's candidate delay: the delay at which its
gradient was evaluated, so the gradient that chose it is the one it starts with.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from .config import RunConfig, StructureConfig

THETA_0 = 1e-6


@dataclass
class Candidates:
    """Fixed per-pair attributes of one structured connection, and its initial synapses (CSR order)."""
    sign: np.ndarray          # [N_pre, N_post] +1 / -1
    delay: np.ndarray         # [N_pre, N_post] candidate delays (steps)
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delays: np.ndarray        # initial delays of the active synapses


def candidates(name: str, n_pre: int, n_post: int, st: StructureConfig, w_init: tuple[float, float],
               delay_range: tuple[float, float], seed: int) -> Candidates:
    """Deterministic in (seed, connection name): the Trainer and every later reader rebuild the same candidates."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    n_syn = max(1, int(round((1 - st.sparsity) * n_pre * n_post)))
    chosen = np.sort(rng.choice(n_pre * n_post, n_syn, replace=False))      # flat pre * n_post + post: CSR order
    draw = rng.normal(w_init[0], w_init[1], (n_pre, n_post))
    if st.dale:
        sign = np.where(rng.random(n_pre) < st.excitatory, 1, -1)[:, None].repeat(n_post, 1)
    else:
        sign = np.where(draw < 0, -1, 1)
    magnitude = np.maximum(np.abs(draw), THETA_0)
    delay = rng.uniform(delay_range[0], delay_range[1], (n_pre, n_post))
    pre, post = chosen // n_post, chosen % n_post
    return Candidates(sign.astype(np.int8), delay, pre, post, (sign * magnitude)[pre, post], delay[pre, post])


class Rewirer:
    """Keeps the structured connections of a Trainer's model at exactly S active synapses (see module doc)."""

    def __init__(self, cfg: RunConfig, model, optims: dict, cands: dict[str, Candidates], dense_twin=None,
                 dist=None):
        self.st, self.seed, self.model, self.optims = cfg.structure, cfg.seed, model, optims
        self.cands, self.twin, self.dist = cands, dense_twin, dist
        self.score: dict[str, np.ndarray] = {}            # RigL: -dL/dtheta per pair from the last dense pass
        self.counts = {name: {"pruned": 0, "regrown": 0} for name in cands}

    # ---- per step ---------------------------------------------------------------------------------------------
    def penalty(self) -> torch.Tensor | None:
        """l1 * sum |w| over the structured connections (None when l1 = 0)."""
        if self.st.l1 <= 0:
            return None
        return self.st.l1 * sum(self.model._param(f"{n}.weight").abs().sum() for n in self.cands)

    def after_step(self, step: int, lr: float, batch=None, labels=None):
        """Noise, then removal and refill; at RigL periods first a dense backward on (batch, labels)."""
        rigl_now = self.st.method == "deep_r+rigl" and step % self.st.period == 0 and batch is not None
        if rigl_now:
            self._dense_scores(batch, labels)
        for k, name in enumerate(self.cands):
            if self.st.method == "fixed":
                continue
            self._rewire(name, np.random.default_rng([self.seed, step, k]), lr, exchange=rigl_now)

    def _rewire(self, name: str, rng, lr: float, exchange: bool):
        c, w = self.cands[name], self.model._param(f"{name}.weight")
        pre, post = self.model._param(f"{name}.pre_ind"), self.model._param(f"{name}.post_ind")
        with torch.no_grad():
            p, q = pre.cpu().numpy(), post.cpu().numpy()
            s = torch.as_tensor(c.sign[p, q], dtype=w.dtype, device=w.device)
            if self.st.noise > 0:
                w += s * math.sqrt(2 * lr * self.st.noise) * torch.randn(w.shape, dtype=w.dtype, device=w.device)
            theta = (s * w).cpu().numpy()
            drop = np.flatnonzero(theta <= 0)
            if exchange and self.st.fraction > 0:
                alive = np.flatnonzero(theta > 0)
                n_ex = min(int(round(self.st.fraction * len(theta))), alive.size)
                drop = np.concatenate([drop, alive[np.argsort(theta[alive], kind="stable")[:n_ex]]])
            if drop.size == 0:
                return
            n_pre, n_post = c.sign.shape
            active = np.zeros(n_pre * n_post, bool)
            active[p * n_post + q] = True
            dormant = np.flatnonzero(~active)
            if name in self.score and self.st.method == "deep_r+rigl":
                order = np.argsort(-self.score[name][dormant], kind="stable")
                new = dormant[order[:drop.size]]
            else:
                new = rng.choice(dormant, min(drop.size, dormant.size), replace=False)
            drop = drop[:new.size]
            p[drop], q[drop] = new // n_post, new % n_post
            self._refill(name, drop, p, q)
            self.counts[name]["pruned"] += int(drop.size)
            self.counts[name]["regrown"] += int(new.size)

    def _refill(self, name: str, slots: np.ndarray, p: np.ndarray, q: np.ndarray):
        """New pairs in `slots`: theta = 0+, candidate delay, fresh optimiser moments; then CSR order again. Walks
        every per-synapse tensor of the connection (model.synapse_state), Parameter or buffer alike."""
        c = self.cands[name]
        pairs = (p[slots], q[slots])
        fresh = {"weight": c.sign[pairs] * THETA_0, "delay": c.delay[pairs], "pre_ind": pairs[0],
                 "post_ind": pairs[1]}
        state = self.model.synapse_state(name)
        unknown = set(state) - set(fresh)
        if unknown:
            raise RuntimeError(f"structure learning does not know how to refill {sorted(unknown)} of {name!r}")
        order = np.lexsort((q, p))
        for key, t in state.items():
            idx = torch.as_tensor(slots, device=t.device)
            perm = torch.as_tensor(order, device=t.device)
            moments = [m for opt in self.optims.values() for m in opt.state.get(t, {}).values()
                       if torch.is_tensor(m) and m.shape == t.shape]
            t[idx] = torch.as_tensor(fresh[key], dtype=t.dtype, device=t.device)
            t.copy_(t[perm])
            for m in moments:
                m[idx] = 0
                m.copy_(m[perm])

    # ---- RigL's dense backward ----------------------------------------------------------------------------------
    def _dense_scores(self, batch, labels):
        """-dL/dtheta for every pair of each structured connection, from the dense twin at the current parameters
        (dormant pairs at weight 0 with their candidate delays); summed over ranks under torch.distributed."""
        twin, model = self.twin, self.model
        with torch.no_grad():
            for name, value in model.state_dict().items():
                conn, attr = name.split(".")
                if conn in self.cands:
                    continue
                getattr(getattr(twin, conn), attr).copy_(value)
            for conn, c in self.cands.items():
                p = model._param(f"{conn}.pre_ind").cpu().numpy()
                q = model._param(f"{conn}.post_ind").cpu().numpy()
                holder = getattr(twin, conn)
                w = torch.zeros_like(holder.weight)
                w[p, q] = model._param(f"{conn}.weight").to(w.dtype)
                holder.weight.copy_(w)
                if hasattr(holder, "delay"):
                    d = torch.as_tensor(c.delay, dtype=holder.delay.dtype, device=holder.delay.device).clone()
                    own = getattr(getattr(model, conn), "delay", None)
                    if own is not None:
                        d[p, q] = own.to(d.dtype)
                    holder.delay.copy_(d)
        twin.zero_grad()
        if len(labels):
            out = twin(batch)
            torch.nn.functional.cross_entropy(out, torch.as_tensor(labels, device=out.device), reduction="sum").backward()
        if self.dist is not None:
            self.dist.sum_grads(twin.parameters())
        for conn, c in self.cands.items():
            g = getattr(twin, conn).weight.grad
            g = np.zeros(c.sign.shape) if g is None else g.detach().cpu().double().numpy()
            self.score[conn] = -(c.sign * g).ravel()

    # ---- logging and checkpoints --------------------------------------------------------------------------------
    def epoch_stats(self) -> dict:
        """Per connection: active synapses, pruned and regrown since the last call, share excitatory."""
        out = {}
        for name, c in self.cands.items():
            w = self.model._param(f"{name}.weight").detach().cpu().numpy()
            p = self.model._param(f"{name}.pre_ind").cpu().numpy()
            q = self.model._param(f"{name}.post_ind").cpu().numpy()
            s = c.sign[p, q]
            out[name] = {"active": int(np.sum(s * w > 0)), "slots": int(w.size), **self.counts[name],
                         "excitatory": float(np.mean(s > 0))}
            self.counts[name] = {"pruned": 0, "regrown": 0}
        return out

    def state_dict(self) -> dict:
        return {"score": self.score, "counts": self.counts}

    def load_state_dict(self, state: dict):
        self.score, self.counts = state["score"], state["counts"]
