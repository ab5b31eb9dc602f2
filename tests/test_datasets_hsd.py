"""SHD/SSC-layout files through the real tonic path, augmentations, malformed files, spoken digits."""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from eventprop.cli import main
from eventprop.datasets.augment import Augment, blend_pair, shift_channels, stretch_times
from eventprop.errors import ConfigError
from eventprop.datasets.hsd import DataError, HSDDataset, speaker_split
from eventprop.pipeline.training import config as configs
from eventprop.pipeline.training.tasks import make_datasets
from eventprop.pipeline.training.checkpoints import load_checkpoint
from eventprop.pipeline.training.trainer import Trainer, prepare_run_dir

from shd_files import write_hsd, write_shd_root, write_ssc_root


def test_samples_read_through_tonic_match_the_file(tmp_path):
    samples, labels = write_hsd(tmp_path / "SHD" / "shd_train.h5", 12)
    ds = HSDDataset("shd", tmp_path, "train", duration=1000.0)
    assert len(ds) == 12 and ds.n_channels == 700 and ds.n_classes == 20
    assert np.array_equal(ds.labels, labels)
    for k, (t, x) in enumerate(samples):
        got_t, got_x = ds.sample(k)
        keep = t * 1000 < 1000.0
        assert np.allclose(got_t, t[keep] * 1000, atol=1e-3) and np.array_equal(got_x, x[keep])
    pooled = HSDDataset("shd", tmp_path, "train", pool=5, duration=500.0)
    t, x = pooled.sample(3)
    assert pooled.n_channels == 140 and x.max() < 140 and t.max() < 500.0
    assert np.array_equal(x, samples[3][1][samples[3][0] * 1000 < 500.0] // 5)
    events, lab = ds.batch([0, 5])
    assert events.n_channels == 700 and events.duration == 1000.0 and list(lab) == [labels[0], labels[5]]


def test_speaker_split_and_config_splits(tmp_path):
    write_shd_root(tmp_path)
    tr, va = speaker_split(np.array([0, 1, 2, 0, 1, 2, 0]), [2])
    assert list(va) == [2, 5] and list(tr) == [0, 1, 3, 4, 6]
    with pytest.raises(DataError, match="speakers \\[9\\]"):
        speaker_split(np.array([0, 1]), [9])
    cfg = configs.preset("shd")
    cfg.data.root, cfg.data.val_speakers = str(tmp_path), [1]
    train, val, test = make_datasets(cfg)
    assert set(val.speakers) == {1} and 1 not in set(train.speakers) and len(train) + len(val) == 60
    assert len(test) == 20 and train.augment is not None and val.augment is None
    write_ssc_root(tmp_path / "ssc")
    cfg = configs.preset("ssc")
    cfg.data.root, cfg.data.n_train = str(tmp_path / "ssc"), 10
    train, val, test = make_datasets(cfg)
    assert (len(train), len(val), len(test)) == (10, 30, 30) and train.n_classes == 35


def test_validation_holds_about_val_fraction_of_the_speakers():
    """Without data.val_speakers: one speaker (the share closest to the fraction) while round(fraction x speakers)
    is 1 - as before for SHD's 10 training speakers - and several, spread over the ids, when that is more."""
    ten = np.repeat(np.arange(10), [40, 60, 70, 80, 90, 100, 110, 120, 130, 200])    # shares 4 .. 20 %
    _, va = speaker_split(ten, [])
    assert set(ten[va]) == {5}                                  # 100 of 1000: the share closest to 10 %
    many = np.repeat(np.arange(36), 180)                        # the 45-voice spoken digits: 36 training voices
    tr, va = speaker_split(many, [])
    assert sorted(set(many[va])) == [0, 12, 23, 35] and len(va) == 4 * 180
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(many.size))
    _, va = speaker_split(many, [], fraction=0.25)
    assert len(set(many[va])) == 9
    _, va = speaker_split(np.array([3, 7]), [], fraction=0.9)  # never every speaker
    assert va.size == 1
    cfg = configs.preset("spoken-digits")
    cfg.data.val_fraction = 1.0
    with pytest.raises(ConfigError, match="data.val_fraction"):
        configs.check_ranges(cfg)


def test_missing_and_malformed_files_name_file_and_field(tmp_path):
    with pytest.raises(DataError, match="shd_train.h5: file not found.*eventprop data fetch shd"):
        HSDDataset("shd", tmp_path, "train")
    write_hsd(tmp_path / "a" / "SHD" / "shd_train.h5", 4, drop="labels")
    with pytest.raises(DataError, match="shd_train.h5: missing field 'labels'"):
        HSDDataset("shd", tmp_path / "a", "train")
    write_hsd(tmp_path / "b" / "SHD" / "shd_train.h5", 4, times_dtype=np.int32)
    with pytest.raises(DataError, match="'spikes/times' must be variable-length floats"):
        HSDDataset("shd", tmp_path / "b", "train")
    write_hsd(tmp_path / "c" / "SHD" / "shd_train.h5", 4, bad_unit=True)
    ds = HSDDataset("shd", tmp_path / "c", "train")
    with pytest.raises(DataError, match="shd_train.h5: field 'spikes/units' of sample 3 holds unit 700"):
        ds.load_all(quiet=True)
    (tmp_path / "d" / "SHD").mkdir(parents=True)
    (tmp_path / "d" / "SHD" / "shd_train.h5").write_bytes(b"nonsense")
    (tmp_path / "d" / "SHD" / "shd_train.h5.zip").touch()
    with pytest.raises(DataError, match="not an HDF5 file"):
        HSDDataset("shd", tmp_path / "d", "train")


def _sorted_events(seed: int, n: int):
    """n events on 700 channels with sorted times in (0, 1000) ms."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(1e-3, 1000, n)), rng.integers(0, 700, n)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(0, 60), st.integers(1, 200))
def test_shift_keeps_times_and_bounds(seed, shift, n):
    t, x = _sorted_events(seed, n)
    t2, x2 = shift_channels(t, x, shift, 700, np.random.default_rng(seed + 1))
    assert x2.size == t2.size and (x2.size == 0 or (x2.min() >= 0 and x2.max() < 700))
    s = np.random.default_rng(seed + 1).integers(-shift, shift + 1)
    inside = (x + s >= 0) & (x + s < 700)
    assert np.array_equal(t2, t[inside]) and np.array_equal(x2, x[inside] + s)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.floats(0.0, 0.9), st.integers(1, 200))
def test_stretch_scales_every_time_by_one_factor_and_keeps_order(seed, stretch, n):
    t, x = _sorted_events(seed, n)
    t2, x2 = stretch_times(t, x, stretch, 1000.0, np.random.default_rng(seed + 1))
    factor = np.random.default_rng(seed + 1).uniform(1 - stretch, 1 + stretch)
    inside = t * factor < 1000.0
    assert np.array_equal(x2, x[inside]) and np.allclose(t2, t[inside] * factor, rtol=1e-12)
    assert np.all(np.diff(t2) >= 0) and (t2.size == 0 or t2.max() < 1000.0)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 100), st.integers(1, 100))
def test_blend_events_come_from_the_two_samples(seed, na, nb):
    rng = np.random.default_rng(seed)
    a = (rng.uniform(0, 900, na), rng.integers(0, 700, na))
    b = (rng.uniform(0, 900, nb), rng.integers(0, 700, nb))
    t, x = blend_pair(a, b, 700, 1000.0, np.random.default_rng(seed))
    assert x.size == t.size and (x.size == 0 or (x.min() >= 0 and x.max() < 700 and t.min() >= 0))
    tb = b[0] + (a[0].mean() - b[0].mean())
    xb = np.rint(b[1] + (a[1].mean() - b[1].mean()))
    pool = set(zip(a[0].tolist(), a[1].tolist())) | set(zip(tb.tolist(), xb.astype(int).tolist()))
    assert all((ti, int(xi)) in pool for ti, xi in zip(t.tolist(), x.tolist()))


def test_augmented_batches_keep_labels_and_are_reproducible(tmp_path):
    write_hsd(tmp_path / "SHD" / "shd_train.h5", 30)
    ds = HSDDataset("shd", tmp_path, "train", augment=Augment(shift=40, blend=0.5, stretch=0.1))
    order = np.random.default_rng(0).permutation(30)
    first = list(ds.batches(8, order))
    again = list(ds.batches(8, order))
    for (ev, lab), (ev2, lab2) in zip(first, again):
        assert np.array_equal(lab, lab2)
        assert np.array_equal(ev.times, ev2.times) and np.array_equal(ev.ids, ev2.ids)
        valid = np.arange(ev.ids.shape[1])[None] < ev.counts[:, None]
        assert ev.ids[valid].min() >= 0 and ev.ids[valid].max() < 700
    labels = np.concatenate([lab for _, lab in first])
    assert np.array_equal(labels, ds.labels[order])
    plain = list(HSDDataset("shd", tmp_path, "train").batches(8, order))
    assert any(not np.array_equal(a.ids, b.ids) for (a, _), (b, _) in zip(first, plain))
    with pytest.raises(ValueError, match="data.blend"):
        Augment(blend=2.0)


def test_training_runs_end_to_end_on_shd_layout(tmp_path):
    write_shd_root(tmp_path / "data")
    cfg = configs.preset("shd")
    cfg.data.root, cfg.data.duration, cfg.data.pool = str(tmp_path / "data"), 300.0, 5
    cfg.model.hidden, cfg.model.max_delay_ms, cfg.model.delay_init_ms = [16], 20.0, [0.0, 20.0]
    cfg.train.epochs, cfg.train.batch_size = 2, 16
    cfg = prepare_run_dir(tmp_path / "run", cfg, resume=False, force=False)
    summary = Trainer(cfg, tmp_path / "run", quiet=True).fit()
    assert summary["epochs"] == 2 and 0 <= summary["test_acc"] <= 1
    speakers = np.asarray(h5py.File(tmp_path / "data" / "SHD" / "shd_train.h5")["extra/speaker"])
    _, val = speaker_split(speakers, [])
    assert summary["val_speakers"] == sorted(set(speakers[val].tolist()))      # results.json names the split it ran


def test_data_inspect_and_fetch_offline(tmp_path, monkeypatch):
    write_hsd(tmp_path / "SHD" / "shd_train.h5", 6)
    r = CliRunner().invoke(main, ["data", "inspect", str(tmp_path / "SHD" / "shd_train.h5")])
    assert r.exit_code == 0 and '"samples": 6' in r.output
    import tonic

    def offline(self):
        raise OSError("Temporary failure in name resolution")
    monkeypatch.setattr(tonic.dataset.Dataset, "download", offline)
    r = CliRunner().invoke(main, ["data", "fetch", "shd", "--root", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "are you offline" in r.output


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng not installed (make install installs it when run as root)")
def test_spoken_digits_are_written_in_shd_layout_and_split_by_voice(tmp_path):
    from eventprop.datasets.spoken_digits import generate
    summary = generate(tmp_path, channels=40, speeds=(160,), pitches=(50,), variants=["m1", "f1", "m7"],
                       test_variants=("m7",), quiet=True)
    assert (summary["train"], summary["test"]) == (40, 20)
    train = HSDDataset("shd", tmp_path, "train", duration=1500.0)
    test = HSDDataset("shd", tmp_path, "test", duration=1500.0)
    assert train.n_channels == 40 and train.n_classes == 20
    assert set(train.speakers) == {0, 1} and set(test.speakers) == {2}     # speaker = the voice's index
    assert sorted(set(train.labels)) == list(range(20))
    t, x = train.sample(0)
    assert t.size > 50 and x.max() < 40
    with h5py.File(tmp_path / "SHD" / "shd_test.h5") as f:
        assert h5py.check_vlen_dtype(f["spikes/times"].dtype) == np.float16


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng not installed (make install installs it when run as root)")
def test_lauscher_front_end_spikes_follow_the_audio(tmp_path):
    from eventprop.datasets.spoken_digits import Utterance, cochlea, lauscher_cochlea, speak
    audio, rate = speak(Utterance("en", 7, "m1", 200, 50))
    t, x = lauscher_cochlea(audio, rate, channels=12)
    assert t.size > 20 and x.min() >= 0 and x.max() < 12 and np.all(np.diff(t) >= 0)
    assert t.max() <= audio.size / rate + 0.01
    t2, _ = cochlea(audio, rate, channels=12)           # both front ends are active while the word is spoken
    assert abs(np.median(t) - np.median(t2)) < 0.25


def test_prefetched_training_is_bit_identical_to_sequential(tmp_path, monkeypatch):
    """The trainer reads the next batch (h5py, shift and blend augmentation) in a background thread; the run must
    equal one that reads each batch in turn."""
    import eventprop.pipeline.training.trainer as trainer_module
    write_shd_root(tmp_path / "data")
    cfg = configs.preset("shd")                            # shift 40 and blend 0.5: augmentation draws random numbers
    cfg.data.root, cfg.data.duration, cfg.data.pool, cfg.data.cache = str(tmp_path / "data"), 300.0, 5, False
    cfg.model.hidden, cfg.model.max_delay_ms, cfg.model.delay_init_ms = [16], 20.0, [0.0, 20.0]
    cfg.train.epochs, cfg.train.batch_size = 2, 8
    states = []
    for name, fetch in (("prefetched", trainer_module.prefetch), ("sequential", lambda batches, depth=1: batches)):
        monkeypatch.setattr(trainer_module, "prefetch", fetch)
        run = prepare_run_dir(tmp_path / name, cfg, resume=False, force=False)
        trainer = Trainer(run, tmp_path / name, quiet=True)
        trainer.fit()
        trainer.close()
        states.append(load_checkpoint(tmp_path / name / "checkpoints" / "last.pt")["model"])
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


@pytest.mark.skipif(not all(shutil.which(e) for e in ("espeak-ng", "flite", "text2wave")),
                    reason="espeak-ng, flite and festival are not all installed (make install installs them as root)")
def test_spoken_digits_voices_of_three_engines_metadata_and_leave_voices_out_folds(tmp_path):
    from eventprop.datasets.spoken_digits import Voice, generate
    voices = [Voice("espeak-ng", "m1"), Voice("espeak-ng", "f2"), Voice("espeak-ng", "m7"),
              Voice("flite", "slt", ("en",)), Voice("festival", "kal_diphone", ("en",))]
    summary = generate(tmp_path, channels=20, speeds=(165,), pitches=(50,), variants=voices, test_variants=("m7",),
                       quiet=True, folds=3)
    assert (summary["train"], summary["test"]) == (2 * 20 + 10 + 10, 20) and summary["folds"] == 3
    with h5py.File(tmp_path / "SHD" / "shd_train.h5") as f:
        meta = {k: f[f"extra/meta/{k}"][()] for k in ("voice", "engine", "language", "speed", "pitch", "fold")}
        labels = f["labels"][()]
    engines = meta["engine"].astype(str)
    assert set(engines) == {"espeak-ng", "flite", "festival"} and set(meta["speed"]) == {165}
    assert np.all(labels[engines != "espeak-ng"] < 10)                 # flite and festival speak English only
    assert set(meta["pitch"][engines == "festival"]) == {-1} and set(meta["pitch"][engines == "flite"]) == {50}
    assert b"espeak-ng:m7" not in set(meta["voice"])                   # the fixed split's test voice
    tested = {}
    for k in range(3):
        sets = {}
        for split in ("train", "test"):
            with h5py.File(tmp_path / "folds" / f"fold-{k}" / "SHD" / f"shd_{split}.h5") as f:
                sets[split] = set(f["extra/meta/voice"][()].astype(str))
                assert set(f["extra/meta/fold"][()]) == ({k} if split == "test" else set(range(3)) - {k})
        assert sets["train"].isdisjoint(sets["test"]) and sets["train"] | sets["test"] == {str(v) for v in voices}
        tested.update({v: k for v in sets["test"]})
    assert sorted(tested) == sorted(str(v) for v in voices)              # every voice tested exactly once
    cfg = configs.preset("spoken-digits")
    cfg.data.root, cfg.data.fold, cfg.data.duration = str(tmp_path), 1, 1500.0
    train, val, test = make_datasets(cfg)
    assert len(test) == 20 * sum(1 for v in voices if tested[str(v)] == 1 and v.engine == "espeak-ng") + \
        10 * sum(1 for v in voices if tested[str(v)] == 1 and v.engine != "espeak-ng")
    cfg.data.fold = 5
    with pytest.raises(DataError, match="data.fold = 5: .*fold-5 does not exist .*fold-0"):
        make_datasets(cfg)


def test_missing_speech_engines_are_left_out_with_a_note(monkeypatch):
    from eventprop.datasets import spoken_digits as sd
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name in ("flite", "text2wave") else real(name))
    if real("espeak-ng") is None:
        with pytest.raises(sd.SpeechError, match="espeak-ng is not installed"):
            sd.available_voices("extended")
        return
    voices, notes = sd.available_voices("extended")
    assert {v.engine for v in voices} == {"espeak-ng"} and len(voices) == 11 + len(sd.ESPEAK_EXTRA)
    assert any("flite is not installed" in n and "apt-get install flite" in n for n in notes)
    assert any("festival is not installed" in n for n in notes)
    with pytest.raises(sd.SpeechError, match="flite is not installed"):
        sd.speak(sd.Utterance("en", 3, sd.Voice("flite", "slt", ("en",)), 165, 50))


def test_fold_is_refused_outside_the_spoken_digits():
    from eventprop.errors import ConfigError
    cfg = configs.preset("yinyang").to_dict()
    cfg["data"]["fold"] = 2
    with pytest.raises(ConfigError, match="'data.fold': leave-voices-out folds exist for the spoken digits only"):
        configs.from_dict(cfg)


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng not installed (make install installs it when run as root)")
def test_lauscher_front_end_runs_in_processes_and_encoded_utterances_are_cached(tmp_path, monkeypatch):
    """The SHD front end (lauscher) on a few utterances through generate(): worker processes, then a second run
    reads every utterance from the cache (the speech engine is not called again) and writes the same spikes."""
    from eventprop.datasets import spoken_digits as sd
    monkeypatch.setenv("EVENTPROP_SPEECH_CACHE", str(tmp_path / "cache"))
    kw = dict(channels=2, speeds=(300,), pitches=(50,), variants=["m1", "m7"], test_variants=("m7",), quiet=True,
              frontend="lauscher")
    first = sd.generate(tmp_path / "a", **kw)
    assert (first["train"], first["test"]) == (20, 20)
    assert len(list((tmp_path / "cache" / "lauscher-2").glob("*.npz"))) == 40
    monkeypatch.setattr(sd, "speak", lambda u: (_ for _ in ()).throw(AssertionError("spoke again")))
    sd.generate(tmp_path / "b", **{**kw, "workers": 1})
    for split in ("train", "test"):
        with h5py.File(tmp_path / "a" / "SHD" / f"shd_{split}.h5") as fa, \
                h5py.File(tmp_path / "b" / "SHD" / f"shd_{split}.h5") as fb:
            for k in range(len(fa["labels"])):
                np.testing.assert_array_equal(fa["spikes/times"][k], fb["spikes/times"][k])
                np.testing.assert_array_equal(fa["spikes/units"][k], fb["spikes/units"][k])
