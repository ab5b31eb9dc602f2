"""The compiled lauscher cochlea against lauscher itself: every stage equal on the same audio and fibre draws."""
import numpy as np
import pytest

from eventprop.datasets import lauscher_fast

pytest.importorskip("lauscher")


def _vowel(rate=16000, seconds=0.25, seed=0):
    """A voiced sound: harmonics of a gliding pitch under a rise-and-fall envelope, plus a little noise."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 120 + 80 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / rate
    audio = sum(np.sin(k * phase) / k for k in range(1, 12)) * np.sin(np.pi * t / seconds) ** 2
    return audio + 0.01 * np.random.default_rng(seed).standard_normal(t.size), rate


@pytest.mark.parametrize("seed, channels", [(0, 66), (7, 10)])     # 66: two blocks of the basilar membrane
def test_every_stage_equals_lauscher(seed, channels):
    from lauscher.audiowaves import MonoAudioWave
    from lauscher.transformations import BasilarMembrane, BushyCell, HairCell, HanningWindow, RmsNormalizer
    audio, rate = _vowel(seed=seed)
    wave = MonoAudioWave(audio.copy(), rate).transform(RmsNormalizer(0.3)).transform(HanningWindow())
    bm = wave.transform(BasilarMembrane(channels=channels))
    hc = bm.transform(HairCell())
    np.random.seed(seed)                                 # lauscher's fibres draw from numpy's global state
    theirs = hc.transform(BushyCell())

    ours_bm, fs = lauscher_fast.basilar_membrane(audio, rate, channels)
    assert fs == bm.sample_rate
    np.testing.assert_array_equal(ours_bm, bm.channels)
    ours_hc = lauscher_fast._hair_cells(ours_bm, float(fs))
    np.testing.assert_array_equal(ours_hc, np.asarray(hc.channels))
    t, x = lauscher_fast.lauscher_spikes(audio, rate, channels, seed)
    assert t.size > 50 and len(set(x.tolist())) > 3        # a test with spikes in it
    np.testing.assert_array_equal(np.stack([t, x.astype(np.float64)]), theirs._data)


def test_fibre_draws_follow_the_seed():
    audio, rate = _vowel()
    a, b, c = (lauscher_fast.lauscher_spikes(audio, rate, 6, s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    assert not (a[0].size == c[0].size and np.array_equal(a[0], c[0]))


def test_the_lif_input_sum_rounds_like_numpy():
    """lauscher sums the fibre currents with np.sum (pairwise, 8 partial sums); the kernel's sum must round the same
    way, or a membrane at threshold could tip the other way."""
    rng = np.random.default_rng(0)
    for n in [1, 7, 8, 9, 16, 40, 41, 127]:
        for _ in range(20):
            v = rng.exponential(size=n) * 10.0 ** rng.integers(-3, 3)
            assert lauscher_fast._sum_like_numpy(v) == np.sum(v), n
