"""events_to_steps (one Numba pass per sample) against the conversion rule written out in numpy, on random batches:
unsorted and sorted events, ties, padding, events past the trial, float and integer ids; and its refusals."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventprop.models.events import SpikeEvents, events_to_steps


def reference(ev: SpikeEvents, dt: float):
    """The rule: step = floor(t / dt + 1e-9), dropped at or after n_steps, stable order by step, padding
    (int32 max, 0) after the sample's events."""
    n_steps = ev.n_steps(dt)
    B, S = ev.times.shape
    steps = np.full((B, S), np.iinfo(np.int32).max, np.int32)
    ids = np.zeros((B, S), np.int32)
    n = np.zeros(B, np.int32)
    for b in range(B):
        t, i = ev.times[b, :ev.counts[b]].astype(np.float64), ev.ids[b, :ev.counts[b]]
        s = np.floor(t / dt + 1e-9)
        keep = s < n_steps
        order = np.argsort(s[keep], kind="stable")
        n[b] = keep.sum()
        steps[b, :n[b]], ids[b, :n[b]] = s[keep][order], i[keep][order]
    return steps, ids, n, n_steps


@st.composite
def batches(draw):
    B = draw(st.integers(0, 5))
    n_channels = draw(st.integers(1, 50))
    duration = draw(st.sampled_from([1.0, 7.5, 20.0, 100.0]))
    samples = []
    for _ in range(B):
        m = draw(st.integers(0, 40))
        # times on a coarse grid (ties and exact step edges) or anywhere, some past the trial
        grid = draw(st.booleans())
        t = draw(st.lists(st.integers(0, 60) if grid else st.floats(0, 1.3 * duration, allow_nan=False),
                          min_size=m, max_size=m))
        t = np.array(t, np.float64) * (duration / 50 if grid else 1.0)
        if draw(st.booleans()):
            t = np.sort(t)
        samples.append((t, np.array(draw(st.lists(st.integers(0, n_channels - 1), min_size=m, max_size=m)))))
    ev = SpikeEvents.from_lists(samples, n_channels, duration)
    if draw(st.booleans()):
        ev.ids = ev.ids.astype(np.float64)
    return ev, draw(st.sampled_from([0.1, 0.25, 1.0, 2.0]))


@settings(max_examples=150, deadline=None)
@given(batches())
def test_events_to_steps_follows_the_rule(case):
    ev, dt = case
    got = events_to_steps(ev, dt, ev.n_channels, "input")
    want = reference(ev, dt)
    for g, w in zip(got[:3], want[:3]):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    assert got[3] == want[3]


@pytest.mark.parametrize("edit,message", [
    (lambda t, i: (np.where(np.arange(t.size) == 2, np.nan, t), i), "NaN spike times"),
    (lambda t, i: (np.where(np.arange(t.size) == 1, -0.5, t), i), r"negative spike times \(min -0.5 ms\)"),
    (lambda t, i: (t, np.where(np.arange(i.size) == 0, 9, i)), r"ids must lie in \[0, 9\), got range \[.*, 9\]"),
    (lambda t, i: (t, np.where(np.arange(i.size) == 0, -3, i)), r"got range \[-3, "),
    (lambda t, i: (t, i + 0.5), "channel ids must be integers"),
])
def test_bad_events_are_refused_naming_the_problem(edit, message):
    t, i = edit(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 1, 2, 3]))
    ev = SpikeEvents(t[None], i[None], np.array([4]), 9, 10.0)
    with pytest.raises(ValueError, match=message):
        events_to_steps(ev, 1.0, 9, "input")


def test_padding_beyond_counts_is_ignored():
    """Entries past a sample's count (padding: anything, NaN included) neither count nor fail."""
    ev = SpikeEvents(np.array([[1.0, np.nan, -4.0]]), np.array([[2, 99, -1]]), np.array([1]), 3, 5.0)
    steps, ids, n, _ = events_to_steps(ev, 1.0, 3, "input")
    assert n.tolist() == [1] and steps[0, 0] == 1 and ids[0, 0] == 2
