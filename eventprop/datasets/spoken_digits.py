"""Offline spoken digits: espeak-ng says 0-9 in English and German (20 classes, like SHD) with many voices, speeds
and pitches; a cochlea-like front end turns each utterance into spikes - `logmel` (log-mel filterbank at 1 ms hops
+ one integrate-and-fire encoder per channel; fast) or `lauscher` (the basilar-membrane / hair-cell / bushy-cell
model SHD itself was made with; faithful, minutes per utterance at 700 channels) - written in the SHD HDF5 layout (<out>/SHD/shd_{train,test}.h5) so the
SHD loader reads it. Train and test are split by voice: test voices are never heard in training.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from rich.progress import Progress

from ..errors import DataError
from ..files import write_via

WORDS = {"en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
         "de": ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"]}
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4"]
TEST_VARIANTS = ("m7", "f4")


class SpeechError(DataError, RuntimeError):
    """espeak-ng is missing or failed."""


@dataclass(frozen=True)
class Utterance:
    lang: str
    digit: int
    variant: str
    speed: int
    pitch: int

    @property
    def label(self) -> int:          # SHD: English digits 0-9, German 10-19
        return self.digit + (10 if self.lang == "de" else 0)

    @property
    def speaker(self) -> int:
        return VARIANTS.index(self.variant)


def utterances(speeds=(130, 165, 200), pitches=(35, 50, 65), variants=VARIANTS) -> list[Utterance]:
    return [Utterance(lang, d, v, s, p) for lang in WORDS for v in variants for s in speeds for p in pitches
            for d in range(10)]


def speak(u: Utterance) -> tuple[np.ndarray, int]:
    """(mono float audio, sample rate) from espeak-ng."""
    import soundfile
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechError("espeak-ng is not installed: `apt-get install espeak-ng` (make install does it when run "
                          "as root)")
    proc = subprocess.run([exe, "-v", f"{u.lang}+{u.variant}", "-s", str(u.speed), "-p", str(u.pitch), "--stdout",
                           WORDS[u.lang][u.digit]], capture_output=True, timeout=60)
    if proc.returncode != 0 or not proc.stdout:
        raise SpeechError(f"espeak-ng failed for {u}: {proc.stderr.decode(errors='replace').strip()}")
    audio, rate = soundfile.read(io.BytesIO(proc.stdout), dtype="float32")
    return (audio if audio.ndim == 1 else audio.mean(1)), rate


def cochlea(audio: np.ndarray, rate: int, channels: int = 140, max_rate_hz: float = 250.0,
            dynamic_range_db: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """Log-mel energies every 1 ms drive one integrate-and-fire unit per channel (rate = max_rate * level, level in
    [0, 1] over the top `dynamic_range_db` of the utterance). Returns (times in s, channel ids), sorted by time."""
    import librosa
    hop = max(1, int(round(rate / 1000)))
    mel = librosa.feature.melspectrogram(y=audio, sr=rate, n_fft=1024, hop_length=hop, n_mels=channels, fmin=60.0,
                                         fmax=min(8000.0, rate / 2), power=2.0)
    db = librosa.power_to_db(mel, ref=np.max)
    level = np.clip((db + dynamic_range_db) / dynamic_range_db, 0.0, 1.0)      # [channels, frames]
    dt = hop / rate
    acc = np.cumsum(level * max_rate_hz * dt, axis=1)
    counts = np.diff(np.floor(acc), axis=1, prepend=0.0).astype(np.int64)
    ch, frame = np.nonzero(counts)
    reps = counts[ch, frame]
    ch, frame = np.repeat(ch, reps), np.repeat(frame, reps)
    order = np.lexsort((ch, frame))
    return (frame[order] * dt).astype(np.float64), ch[order].astype(np.int64)


def lauscher_cochlea(audio: np.ndarray, rate: int, channels: int = 140) -> tuple[np.ndarray, np.ndarray]:
    """The lauscher cochlea model (PyPI `lauscher`, as used for SHD). Returns (times in s, channel ids)."""
    from lauscher.audiowaves import MonoAudioWave
    from lauscher.transformations.wave2spike import Wave2Spike
    train = MonoAudioWave(audio.astype(np.float64), rate).transform(Wave2Spike(num_channels=channels))
    t, x = np.asarray(train.spike_times, np.float64), np.asarray(train.spike_labels).astype(np.int64)
    order = np.lexsort((x, t))
    return t[order], x[order]


FRONTENDS = {"logmel": cochlea, "lauscher": lauscher_cochlea}


def write_shd_file(path: Path, samples, labels, speakers, keys, n_channels: int) -> None:
    """SHD HDF5 layout (float16 seconds, uint16 units/labels/speakers), plus extra.attrs['n_channels']."""

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            times = f.create_dataset("spikes/times", (len(samples),), dtype=h5py.vlen_dtype(np.float16))
            units = f.create_dataset("spikes/units", (len(samples),), dtype=h5py.vlen_dtype(np.uint16))
            for k, (t, x) in enumerate(samples):
                times[k], units[k] = t.astype(np.float16), x.astype(np.uint16)
            f["labels"] = np.asarray(labels, np.uint16)
            f["extra/speaker"] = np.asarray(speakers, np.uint16)
            f["extra/keys"] = np.array([k.encode() for k in keys])
            f["extra"].attrs["n_channels"] = n_channels
    write_via(path, write)
    path.with_name(path.name + ".zip").touch()    # tonic's "already downloaded" marker


def generate(out: Path, channels: int = 140, speeds=(130, 165, 200), pitches=(35, 50, 65), variants=VARIANTS,
             test_variants=TEST_VARIANTS, workers: int = 2, quiet: bool = False, frontend: str = "logmel") -> dict:
    """Speak, encode and write the set; returns counts and timing."""
    if frontend not in FRONTENDS:
        raise ValueError(f"front end must be one of {sorted(FRONTENDS)}, got {frontend!r}")
    encode = FRONTENDS[frontend]
    todo = utterances(speeds, pitches, variants)
    keys = [f"english-{w}" for w in WORDS["en"]] + [f"german-{w}" for w in WORDS["de"]]
    t0 = time.perf_counter()

    def one(u):
        audio, rate = speak(u)
        return encode(audio, rate, channels)

    results = []
    with Progress(transient=True, disable=quiet) as bar, ThreadPoolExecutor(workers) as pool:
        task = bar.add_task("speaking digits", total=len(todo))
        for res in pool.map(one, todo):
            results.append(res)
            bar.update(task, advance=1)
    seconds = time.perf_counter() - t0
    summary = {"seconds": seconds, "seconds_per_1000": 1000 * seconds / max(len(todo), 1), "channels": channels,
               "frontend": frontend}
    for split, keep in (("train", lambda u: u.variant not in test_variants),
                        ("test", lambda u: u.variant in test_variants)):
        idx = [k for k, u in enumerate(todo) if keep(u)]
        write_shd_file(Path(out) / "SHD" / f"shd_{split}.h5", [results[k] for k in idx], [todo[k].label for k in idx],
                       [todo[k].speaker for k in idx], keys, channels)
        summary[split] = len(idx)
    summary["spikes_per_sample"] = float(np.mean([t.size for t, _ in results])) if results else 0.0
    return summary
