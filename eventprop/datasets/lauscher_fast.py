"""The lauscher cochlea (PyPI `lauscher`, the front end SHD was made with), its slow stages as compiled kernels.

lauscher's chain: RMS normalisation -> Hanning ramps -> basilar membrane (Sieroka et al. 2006: a transfer function
per channel applied in the frequency domain) -> inner hair cell (Meddis 1986/88 transmitter pools) -> bushy cell
(40 stochastic fibres per channel, 1 ms refractoriness, into one LIF neuron). lauscher runs the hair cell and the
bushy cell as Python loops over every sample (~40 s per spoken digit at 140 channels on one core); here they are
Numba loops over the same recurrences, and the basilar membrane's transfer function is lauscher's own, evaluated for
all channels at once. The normalisation, the window and the transfer function are called from lauscher itself.

Equal to lauscher, not just similar: tests/test_lauscher_fast.py feeds both the same audio and the same random draws
and compares every stage bit for bit (basilar membrane, hair cell, spikes). lauscher draws its
fibre spikes from numpy's global random state (unseeded); here they come from `numpy.random.RandomState(seed)` in
lauscher's order, so an utterance encodes the same way every time.
"""
from __future__ import annotations

import numpy as np
from numba import njit

FIBRES = 40                                   # lauscher's BushyCell defaults
TAU_MEM, TAU_SYN, TAU_REFRAC, WEIGHT = 1e-3, 5e-4, 1e-3, 13e3


def basilar_membrane(audio: np.ndarray, rate: int, channels: int) -> tuple[np.ndarray, int]:
    """Membrane velocity [channels, samples] at rate // 2, as lauscher computes it (normalised, windowed input)."""
    from lauscher.audiowaves import MonoAudioWave
    from lauscher.transformations import BasilarMembrane, HanningWindow, RmsNormalizer
    wave = MonoAudioWave(np.asarray(audio, np.float64), rate).transform(RmsNormalizer(0.3)).transform(HanningWindow())
    model = BasilarMembrane(channels=channels)
    n = wave.num_samples // 2 + 1
    omega = 2 * np.pi * np.linspace(1, wave.sample_rate // 2, n)
    spectrum = np.fft.fft(wave.samples)[:n]
    out = np.empty((channels, n))
    for lo in range(0, channels, 64):             # blocks of channels: lauscher's formula makes ~20 temporaries
        transfer = model._v(omega[None, :], model.ch[lo:lo + 64, None])    # lauscher's transfer function
        out[lo:lo + 64] = np.real(np.fft.ifft(transfer * spectrum, axis=1))
    return out, wave.sample_rate // 2


@njit(cache=True)
def _hair_cells(bm, fs, y=5.05, g=2000.0, l=2500.0, r=6580.0, x=66.3, a=5.0, b=300.0, h=50000.0, m=1.0):
    """Meddis inner hair cell per channel: free transmitter q, cleft c, reprocessing store w; release probability
    per sample c * h / fs. Parameters are lauscher's HairCell defaults."""
    ymdt, xdt, ydt, rdt = y * m / fs, x / fs, y / fs, r / fs
    gdt, hdt, lrdt = g / fs, h / fs, (l + r) / fs
    k0 = g * a / (a + b)
    c0 = m * y * k0 / (l * k0 + y * (l + r))
    out = np.empty_like(bm)
    for ch in range(bm.shape[0]):
        c, q, w = c0, c0 * (l + r) / k0, c0 * r / x
        for j in range(bm.shape[1]):
            v = bm[ch, j]
            kt = gdt * (v + a) / (v + a + b) if v + a > 0 else 0.0
            refill = ymdt - ydt * q if q < m else 0.0
            eject, lost, back, recycled = kt * q, lrdt * c, rdt * c, xdt * w
            q = max(q + refill - eject + recycled, 0.0)
            c = max(c + eject - lost, 0.0)
            w = max(w + back - recycled, 0.0)
            out[ch, j] = c * hdt
    return out


@njit(cache=True)
def _sum_like_numpy(v):
    """numpy's pairwise sum of a short contiguous float64 vector (8 partial sums), so the LIF input is bit-equal."""
    n = v.shape[0]
    if n < 8:
        s = 0.0
        for i in range(n):
            s += v[i]
        return s
    r = v[:8].copy()
    top = n - n % 8
    for i in range(8, top, 8):
        for k in range(8):
            r[k] += v[i + k]
    s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(top, n):
        s += v[i]
    return s


@njit(cache=True)
def _bushy_cell(prob, draws, refrac, syn_decay, mem_decay, weight, dt):
    """One channel: fibre f fires at sample j when draws[j, f] < prob[j] and its last spike lies >= refrac samples
    back; the fibres' exponential currents drive a LIF neuron (threshold 1, clamped at 1, silent for refrac samples
    after a spike, a spike reported one sample before its reset). Returns the spiking sample indices."""
    n, nf = draws.shape
    last = np.full(nf, -refrac)
    isyn = np.zeros(nf)
    spikes = np.zeros(n, np.bool_)
    vm_prev, counter = 0.0, 0.0
    for j in range(n):
        vm = 0.0
        if j > 0:
            if counter <= 0:
                if vm_prev < 1.0:
                    vm = vm_prev * mem_decay
                else:
                    counter = refrac
                    spikes[j - 1] = True
            for f in range(nf):
                isyn[f] *= syn_decay
        for f in range(nf):
            if draws[j, f] < prob[j] and j - last[f] >= refrac:
                last[f] = j
                isyn[f] += 1.0
        if counter <= 0:
            vm += _sum_like_numpy(isyn) * weight * dt
        vm_prev = min(vm, 1.0)
        counter -= 1
    return np.nonzero(spikes)[0]


def bushy_cells(prob: np.ndarray, fs: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """(sample index, channel) of every bushy-cell spike; fibre draws channel by channel from `rng`, as lauscher
    draws them from numpy's global state."""
    dt = 1 / float(fs)
    syn_decay, mem_decay = np.exp(-dt / TAU_SYN), np.exp(-dt / TAU_MEM)
    idx, chans = [], []
    for ch in range(prob.shape[0]):
        draws = rng.random_sample((prob.shape[1], FIBRES))
        s = _bushy_cell(prob[ch], draws, TAU_REFRAC * fs, syn_decay, mem_decay, WEIGHT / float(FIBRES), dt)
        idx.append(s)
        chans.append(np.full(s.size, ch, np.int64))
    return np.concatenate(idx), np.concatenate(chans)


def lauscher_spikes(audio: np.ndarray, rate: int, channels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(times in s, channel ids) sorted by time then channel: lauscher's Wave2Spike with seeded fibre draws."""
    bm, fs = basilar_membrane(audio, rate, channels)
    j, ch = bushy_cells(_hair_cells(bm, float(fs)), fs, np.random.RandomState(seed))
    order = np.lexsort((ch, j))
    return j[order] / fs, ch[order]
