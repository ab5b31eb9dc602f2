"""lava-dl netx HDF5 exchange format: write an FxNetwork as a layer chain, read netx files back.

/layer/<i>/type (input | dense | dense_rec), shape, weight [N_out, N_in], delay [N_out, N_in], weight_rec,
delay_rec, neuron/{type=CUBA, iDecay, vDecay, vThMant, refDelay, gradedSpike}. Delays are written as trained
(they may exceed 62; netx clamps them, our reader keeps them); an all-zero delay matrix is left out (absent means 0
to both readers), because lava-dl 0.6.0 builds its delay synapses, and mishandles recurrent layers, whenever a
`delay` dataset exists. netx_compatible (a root attribute) is true only where netx_notes finds nothing that netx
runs differently; tests/test_loihi_netx.py runs every kind of file through netx to hold that claim. eventprop's own facts (names, dt, float scales,
readout reductions) go to the attribute `eventprop` of the root as JSON; files without it (written by other
tools) are read with generic names and unit scale.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..files import write_via
from .fixed_point import READOUT_VTH_FOREIGN, FxNetwork, FxPopulation, FxProjection
from .quantize import DeployError

FORMAT = "eventprop-netx-1"


def _chain(fx: FxNetwork):
    """[(population, feed-forward projection, recurrent projection or None)] from input to readout."""
    if len(fx.inputs) != 1 or len(fx.readouts) != 1:
        raise DeployError(f"netx files hold one layer chain; this network has {len(fx.inputs)} input and "
                          f"{len(fx.readouts)} readout populations")
    prev, layers, seen = fx.inputs[0].name, [], set()
    while True:
        nxt = [j for j in fx.projections if j.source == prev and j.target != prev]
        if not nxt:
            break
        if len(nxt) != 1:
            raise DeployError(f"netx files hold one layer chain; population {prev!r} projects to "
                              f"{[j.target for j in nxt]}")
        ff = nxt[0]
        pop = fx.population(ff.target)
        incoming = fx.incoming(pop.name)
        rec = [j for j in incoming if j.source == pop.name]
        if len(incoming) != 1 + len(rec) or len(rec) > 1 or pop.name in seen or pop.kind == "relay":
            raise DeployError(f"netx files hold one layer chain; population {pop.name!r} receives "
                              f"{[j.source for j in incoming]}")
        seen.add(pop.name)
        layers.append((pop, ff, rec[0] if rec else None))
        prev = pop.name
    if len(layers) != len(fx.populations) - 1 or layers[-1][0].kind != "readout":
        raise DeployError("netx files hold one layer chain from the input to the readout; this network has "
                          "populations outside it")
    return layers


NETX_MAX_DELAY = 62


def netx_notes(fx: FxNetwork) -> list[str]:
    """Why lava-dl netx would not run this file as eventprop does (empty: it would, spike for spike)."""
    notes = []
    longest = max((int(j.delay.max(initial=0)) for j in fx.projections), default=0)
    if longest > NETX_MAX_DELAY:
        notes.append(f"delays up to {longest} steps: netx clamps them to {NETX_MAX_DELAY}; eventprop reads them as "
                     f"stored and realises them with relay neurons (--long-delays relay) or clips them (clip)")
    for pop, ff, rec in _chain(fx):
        if rec is not None and (ff.delay.any() or rec.delay.any()):
            notes.append(f"recurrent layer {pop.name!r} with delays: lava-dl 0.6.0's RecurrentDense then drops the "
                         f"weight exponent and applies the feed-forward delays to the recurrent synapses (or refuses "
                         f"the file when the shapes differ), and it has no recurrent delays (delay_rec is an "
                         f"eventprop extension); eventprop reads the file as written")
    return notes


def write_netx(fx: FxNetwork, path: Path) -> list[str]:
    """Write the netx layout (plus eventprop metadata); returns netx_notes(fx), also stored in the file."""
    path = Path(path)
    notes = netx_notes(fx)
    layers = _chain(fx)
    meta = {"format": FORMAT, "dt": fx.dt, "input": fx.inputs[0].name, "meta": fx.meta, "layers": []}

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            g = f.create_group("layer/0")
            g["type"] = np.bytes_("input")
            g["shape"] = np.array([fx.inputs[0].size])
            n_prev = fx.inputs[0].size
            for i, (pop, ff, rec) in enumerate(layers, start=1):
                g = f.create_group(f"layer/{i}")
                g["type"] = np.bytes_("dense_rec" if rec else "dense")
                g["shape"] = np.array([pop.size])
                g["weight"] = ff.matrix(n_prev, pop.size)
                if ff.delay.any():              # absent = 0: netx then builds plain (Recurrent)Dense synapses
                    g["delay"] = ff.matrix(n_prev, pop.size, ff.delay)
                if rec:
                    g["weight_rec"] = rec.matrix(pop.size, pop.size)
                    if rec.delay.any():
                        g["delay_rec"] = rec.matrix(pop.size, pop.size, rec.delay)
                n = g.create_group("neuron")
                n["type"] = np.bytes_("CUBA")
                n["iDecay"], n["vDecay"], n["vThMant"] = pop.du + 1, pop.dv, pop.vth
                n["refDelay"], n["gradedSpike"] = 1, False
                meta["layers"].append({"name": pop.name, "kind": pop.kind, "scale": pop.scale, "readout": pop.readout,
                                       "tau_mem": pop.tau_mem, "tau_syn": pop.tau_syn, "v_thresh": pop.v_thresh,
                                       "ff": ff.name, "ff_dense": ff.dense, "rec": rec.name if rec else None,
                                       "rec_dense": rec.dense if rec else None})
                n_prev = pop.size
            f.attrs["eventprop"] = json.dumps(meta)
            f.attrs["netx_compatible"] = not notes
            f.attrs["netx_notes"] = json.dumps(notes)
    write_via(path, write)
    return notes


def _projection(name, source, target, w, d, dense) -> FxProjection:
    post, pre = np.nonzero(w)
    o = np.lexsort((post, pre))
    return FxProjection(name, source, target, pre[o], post[o], w[post, pre][o].astype(np.int64),
                        d[post, pre][o].astype(np.int64), dense=dense)


def _delays(layer, key: str, shape) -> np.ndarray:
    if key not in layer:
        return np.zeros(shape, np.int64)
    d = np.asarray(layer[key][()])
    if d.ndim == 0:
        return np.full(shape, int(d), np.int64)
    if d.ndim == 1:
        return np.repeat(d.reshape(-1, 1), shape[1], 1) if d.size == shape[0] else np.repeat(d.reshape(1, -1),
                                                                                             shape[0], 0)
    return d.astype(np.int64)


def read_netx(path: Path, dt: float = 1.0) -> FxNetwork:
    """Read a netx file (input + dense / dense_rec CUBA layers) as an FxNetwork."""
    path = Path(path)
    if not path.exists():
        raise DeployError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DeployError(f"{path}: not an HDF5 file or corrupt ({e})") from None
    with f:
        try:
            meta = json.loads(f.attrs["eventprop"]) if "eventprop" in f.attrs else None
            if meta is not None and meta.get("format") != FORMAT:
                raise DeployError(f"{path}: unknown eventprop format {meta.get('format')!r}")
            if "layer" not in f:
                raise DeployError(f"{path}: not a netx network file (no /layer group)")
            groups = [f["layer"][k] for k in sorted(f["layer"], key=int)]
            types = [g["type"][()].decode() if isinstance(g["type"][()], bytes) else str(g["type"][()])
                     for g in groups]
            if not types or types[0] != "input" or any(t not in ("dense", "dense_rec") for t in types[1:]):
                raise DeployError(f"{path}: eventprop reads netx chains input -> dense/dense_rec; found {types}")
            names = [meta["input"]] if meta else ["input"]
            pops = [FxPopulation(names[0], "input", int(np.prod(groups[0]["shape"][()])))]
            projs = []
            for i, (g, t) in enumerate(zip(groups[1:], types[1:])):
                info = meta["layers"][i] if meta else {}
                n = g["neuron"]
                ntype = n["type"][()]
                ntype = ntype.decode() if isinstance(ntype, bytes) else str(ntype)
                if ntype not in ("CUBA", "LOIHI"):
                    raise DeployError(f"{path}: layer {i + 1} has neuron type {ntype!r}; only CUBA is supported")
                size = int(np.prod(g["shape"][()]))
                vth = int(n["vThMant"][()])
                kind = info.get("kind", "readout" if vth >= READOUT_VTH_FOREIGN else "lif")
                name = info.get("name", f"layer{i + 1}")
                pops.append(FxPopulation(name, kind, size, du=int(n["iDecay"][()]) - 1, dv=int(n["vDecay"][()]),
                                         vth=vth, scale=info.get("scale", 1.0), readout=info.get("readout", ""),
                                         tau_mem=info.get("tau_mem", 0.0), tau_syn=info.get("tau_syn", 0.0),
                                         v_thresh=info.get("v_thresh", 0.0)))
                w = np.asarray(g["weight"][()]).astype(np.int64).reshape(size, -1)
                if w.shape[1] != pops[-2].size:
                    raise DeployError(f"{path}: layer {i + 1} weight has shape {w.shape}, expected "
                                      f"({size}, {pops[-2].size})")
                projs.append(_projection(info.get("ff", f"{pops[-2].name}_{name}"), pops[-2].name, name, w,
                                         _delays(g, "delay", w.shape), info.get("ff_dense", True)))
                if t == "dense_rec":
                    wr = np.asarray(g["weight_rec"][()]).astype(np.int64).reshape(size, size)
                    projs.append(_projection(info.get("rec") or f"{name}_rec", name, name, wr,
                                             _delays(g, "delay_rec", wr.shape), info.get("rec_dense", True)))
        except DeployError:
            raise
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as e:
            raise DeployError(f"{path}: malformed netx file ({type(e).__name__}: {e})") from None
    return FxNetwork(meta["dt"] if meta else dt, pops, projs, meta.get("meta", {}) if meta else {})
