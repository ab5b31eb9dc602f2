"""The SHD front end: lauscher 1.0.1 as published (baseline) vs eventprop's compiled lauscher, side by side on the
same spoken digits (espeak-ng), one core each (lauscher's own process pools set to one job). Both runs use the same
fibre draws, so the spikes are compared too. Prints seconds per utterance and the ratio, per stage.

    python benchmarks/cochlea.py [--utterances 2] [--channels 140]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def published(audio, rate, channels, seed):
    from lauscher.audiowaves import MonoAudioWave
    from lauscher.helpers import CommandLineArguments
    from lauscher.transformations import BasilarMembrane, BushyCell, HairCell, HanningWindow, RmsNormalizer
    CommandLineArguments().num_concurrent_jobs = 1
    times = {}
    t = time.perf_counter()
    wave = MonoAudioWave(np.asarray(audio, np.float64), rate).transform(RmsNormalizer(0.3)).transform(HanningWindow())
    bm = wave.transform(BasilarMembrane(channels=channels))
    times["basilar membrane"] = time.perf_counter() - t
    t = time.perf_counter()
    hc = bm.transform(HairCell())
    times["hair cell"] = time.perf_counter() - t
    t = time.perf_counter()
    np.random.seed(seed)
    spikes = hc.transform(BushyCell())._data
    times["bushy cell"] = time.perf_counter() - t
    return times, spikes


def compiled(audio, rate, channels, seed):
    from eventprop.datasets import lauscher_fast as lf
    times = {}
    t = time.perf_counter()
    bm, fs = lf.basilar_membrane(audio, rate, channels)
    times["basilar membrane"] = time.perf_counter() - t
    t = time.perf_counter()
    hc = lf._hair_cells(bm, float(fs))
    times["hair cell"] = time.perf_counter() - t
    t = time.perf_counter()
    j, ch = lf.bushy_cells(hc, fs, np.random.RandomState(seed))
    times["bushy cell"] = time.perf_counter() - t
    order = np.lexsort((ch, j))
    return times, np.stack([j[order] / fs, ch[order].astype(np.float64)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--utterances", type=int, default=2)
    ap.add_argument("--channels", type=int, default=140)
    args = ap.parse_args()
    from eventprop.datasets.spoken_digits import Utterance, speak
    compiled(*speak(Utterance("en", 1, "m1", 200, 50)), 4, 0)          # compile (or load) the kernels first
    total = {"lauscher 1.0.1": {}, "eventprop": {}}
    for k in range(args.utterances):
        audio, rate = speak(Utterance("en" if k % 2 == 0 else "de", k % 10, "m1", 165, 50))
        for name, fn in (("lauscher 1.0.1", published), ("eventprop", compiled)):
            times, spikes = fn(audio, rate, args.channels, k)
            for stage, s in times.items():
                total[name][stage] = total[name].get(stage, 0.0) + s
            if name == "lauscher 1.0.1":
                reference = spikes
            elif not np.array_equal(spikes, reference):
                raise SystemExit(f"utterance {k}: spikes differ from lauscher's")
    print(f"{args.utterances} utterances x {args.channels} channels, spikes equal; load {os.getloadavg()[0]:.1f}")
    print(f"{'stage':18s} {'lauscher s/utt':>15s} {'eventprop s/utt':>16s} {'ratio':>7s}")
    for stage in list(total["eventprop"]) + ["total"]:
        a, b = ((sum(t.values()) if stage == "total" else t[stage]) / args.utterances for t in total.values())
        print(f"{stage:18s} {a:15.3f} {b:16.3f} {a / b:7.1f}")


if __name__ == "__main__":
    main()
