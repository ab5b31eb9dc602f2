"""Offline spoken digits: espeak-ng says 0-9 in English and German (20 classes, like SHD) with many voices, speeds
and pitches; a cochlea-like front end turns each utterance into spikes - `logmel` (log-mel filterbank at 1 ms hops
+ one integrate-and-fire encoder per channel; fast) or `lauscher` (the basilar-membrane / hair-cell / bushy-cell
model SHD itself was made with; faithful, minutes per utterance at 700 channels) - written in the SHD HDF5 layout (<out>/SHD/shd_{train,test}.h5) so the
SHD loader reads it. Train and test are split by voice: test voices are never heard in training.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from rich.progress import Progress

from ..errors import DataError, EventpropError
from ..files import write_via

WORDS = {"en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
         "de": ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"]}
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4"]
TEST_VARIANTS = ("m7", "f4")


class SpeechError(DataError, RuntimeError):
    """A speech engine is missing or failed."""


@dataclass(frozen=True)
class Voice:
    """One speaker: a speech engine and its voice. espeak-ng's variants speak English and German; flite's and
    festival's voices (derived from recordings of real speakers) English only."""
    engine: str          # espeak-ng | flite | festival
    name: str
    langs: tuple = ("en", "de")

    def __str__(self):
        return f"{self.engine}:{self.name}"


def as_voice(v: "str | Voice") -> "Voice":
    """A Voice, from an espeak-ng variant name or a Voice."""
    return v if isinstance(v, Voice) else Voice("espeak-ng", v)


OTHER_TEST_VOICES = {("flite", "awb"), ("festival", "ked_diphone")}   # in the fixed split's test set when present
ESPEAK_EXTRA = ["m8", "f5", "adam", "Alicia", "Andy", "anika", "annie", "aunty", "belinda", "benjamin", "boris",
                "caleb", "david", "edward", "Gene", "grandma", "grandpa", "iven", "john", "linda", "max", "michel",
                "Mike", "norbert", "paul", "pedro"]                       # espeak-ng's human-sounding variants
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL_VOICES = ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]
ENGINES = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "text2wave"}   # engine -> executable
INSTALL = {"espeak-ng": "espeak-ng", "flite": "flite",
           "festival": "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"}


def available_voices(voice_set: str = "default") -> tuple[list[Voice], list[str]]:
    """(voices, notes): `default` is espeak-ng's 11 variants m1-m7, f1-f4; `extended` adds 26 more espeak-ng
    variants, flite's and festival's voices - each engine only when installed, else a note saying how to install."""
    if voice_set not in ("default", "extended"):
        raise ValueError(f"voice set must be 'default' or 'extended', got {voice_set!r}")
    names = {"espeak-ng": VARIANTS + (ESPEAK_EXTRA if voice_set == "extended" else [])}
    if voice_set == "extended":
        names["flite"], names["festival"] = FLITE_VOICES, FESTIVAL_VOICES
    voices, notes = [], []
    for engine, listed in names.items():
        if shutil.which(ENGINES[engine]) is None:
            notes.append(f"{engine} is not installed, its voices are left out: `apt-get install {INSTALL[engine]}` "
                         f"(make install does it when run as root)")
            continue
        if engine == "festival":
            have = {p.name for p in Path("/usr/share/festival/voices").glob("*/*")}
            missing = [n for n in listed if n not in have]
            if missing:
                notes.append(f"festival voices {missing} are not installed: `apt-get install {INSTALL[engine]}`")
            listed = [n for n in listed if n in have]
        langs = ("en", "de") if engine == "espeak-ng" else ("en",)
        voices += [Voice(engine, n, langs) for n in listed]
    if not any(v.engine == "espeak-ng" for v in voices):
        raise SpeechError("espeak-ng is not installed: `apt-get install espeak-ng` (make install does it when run "
                          "as root)")
    return voices, notes


@dataclass(frozen=True)
class Utterance:
    lang: str
    digit: int
    variant: str | Voice         # an espeak-ng variant name, or a Voice of any engine
    speed: int
    pitch: int

    @property
    def voice(self) -> Voice:
        return as_voice(self.variant)

    @property
    def label(self) -> int:          # SHD: English digits 0-9, German 10-19
        return self.digit + (10 if self.lang == "de" else 0)


def utterances(speeds=(130, 165, 200), pitches=(35, 50, 65), variants=VARIANTS) -> list[Utterance]:
    """Every digit in every language each voice speaks, at every speed and pitch."""
    voices = [as_voice(v) for v in variants]
    return [Utterance(lang, d, v, s, p) for lang in WORDS for v in voices if lang in v.langs for s in speeds
            for p in pitches for d in range(10)]


def _command(u: Utterance, wav: str) -> tuple[list[str], str | None]:
    """(argv, stdin text) that makes u.voice's engine write `wav` (espeak-ng: stdout)."""
    v, word = u.voice, WORDS[u.lang][u.digit]
    stretch = f"{165.0 / u.speed:.4f}"                      # speed in words per minute, 165 = each engine's own pace
    if v.engine == "espeak-ng":
        return ["espeak-ng", "-v", f"{u.lang}+{v.name}", "-s", str(u.speed), "-p", str(u.pitch), "--stdout", word], None
    if v.engine == "flite":                                 # pitch 0-99 -> mean f0 50-199 Hz
        return ["flite", "-voice", v.name, "-t", word, "-o", wav, "--setf", f"duration_stretch={stretch}",
                "--setf", f"int_f0_target_mean={50 + 1.5 * u.pitch:.1f}"], None
    return ["text2wave", "-eval", f"(voice_{v.name})", "-eval", f"(Parameter.set 'Duration_Stretch {stretch})",
            "-o", wav], word                                # festival: the voice's own pitch


def speak(u: Utterance) -> tuple[np.ndarray, int]:
    """(mono float audio, sample rate) of one utterance from its voice's engine."""
    import tempfile
    import soundfile
    v = u.voice
    if shutil.which(ENGINES[v.engine]) is None:
        raise SpeechError(f"{v.engine} is not installed: `apt-get install {INSTALL[v.engine]}` (make install does it "
                          f"when run as root)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = str(Path(tmp) / "u.wav")
        argv, text = _command(u, wav)
        proc = subprocess.run(argv, input=text.encode() if text else None, capture_output=True, timeout=60)
        data = proc.stdout if v.engine == "espeak-ng" else (Path(wav).read_bytes() if Path(wav).exists() else b"")
        if proc.returncode != 0 or not data:
            raise SpeechError(f"{v.engine} failed for {u}: {proc.stderr.decode(errors='replace').strip()}")
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32")
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
    """The lauscher cochlea model (PyPI `lauscher`, as used for SHD), its loops compiled (lauscher_fast: equal to
    lauscher spike for spike given the same fibre draws). The draws are seeded from the audio's bytes, so the same
    utterance always gives the same spikes. Returns (times in s, channel ids), sorted by time."""
    from .lauscher_fast import lauscher_spikes
    audio = np.ascontiguousarray(audio, np.float64)
    return lauscher_spikes(audio, rate, channels, seed=zlib.crc32(audio.tobytes()))


FRONTENDS = {"logmel": cochlea, "lauscher": lauscher_cochlea}


def cache_dir() -> Path:
    """Where encoded utterances are kept ($EVENTPROP_SPEECH_CACHE, default ~/.cache/eventprop/speech)."""
    return Path(os.environ.get("EVENTPROP_SPEECH_CACHE", Path.home() / ".cache" / "eventprop" / "speech"))


def _encoded(job) -> tuple[np.ndarray, np.ndarray]:
    """(times s, channels) of one utterance through a front end, from the cache when it was encoded before (the key
    holds everything that shapes the spikes: engine, voice, language, digit, speed, pitch, front end, channels)."""
    u, frontend, channels = job
    v = u.voice
    name = f"{v.engine}-{v.name}-{u.lang}-{u.digit}-s{u.speed}-p{u.pitch}.npz"
    path = cache_dir() / f"{frontend}-{channels}" / name
    if path.exists():
        try:
            with np.load(path) as f:
                return f["t"], f["x"]
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)           # a damaged entry is encoded again
    audio, rate = speak(u)
    t, x = FRONTENDS[frontend](audio, rate, channels)
    def save(tmp):
        with open(tmp, "wb") as fh:                # a file object: np.savez adds no ".npz" to the temporary name
            np.savez(fh, t=t, x=x)
    try:
        write_via(path, save)
    except (OSError, EventpropError):
        pass                                       # a cache that cannot be written only costs time
    return t, x


def write_shd_file(path: Path, samples, labels, speakers, keys, n_channels: int, meta: dict | None = None) -> None:
    """SHD HDF5 layout (float16 seconds, uint16 units/labels/speakers), plus extra.attrs['n_channels'] and, per
    sample, extra/meta/<field> (voice, engine, language, speed, pitch, fold) - extras the SHD readers ignore."""

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
            for name, values in (meta or {}).items():
                values = np.asarray(values)
                f[f"extra/meta/{name}"] = values.astype("S") if values.dtype.kind == "U" else values
    write_via(path, write)
    path.with_name(path.name + ".zip").touch()    # tonic's "already downloaded" marker


def assign_folds(voices: list[Voice], folds: int) -> dict[Voice, int]:
    """Each voice in exactly one fold; engines spread over the folds (voices taken engine by engine, round robin)."""
    if not 2 <= folds <= len(voices):
        raise ValueError(f"--folds must lie in 2..{len(voices)} (the number of voices), got {folds}")
    ordered = sorted(voices, key=lambda v: (v.engine, v.name.lower()))
    return {v: k % folds for k, v in enumerate(ordered)}


def generate(out: Path, channels: int = 140, speeds=(130, 165, 200), pitches=(35, 50, 65), variants=None,
             test_variants=None, workers: int = 2, quiet: bool = False, frontend: str = "logmel",
             voice_set: str = "default", folds: int = 0) -> dict:
    """Speak, encode and write the set under out/SHD (the fixed split: test voices never heard in training) and, with
    `folds` = K, K leave-voices-out splits under out/folds/fold-k/SHD (every voice tested in exactly one fold).
    `variants` / `test_variants` (espeak-ng names or Voices) override the voice set. Returns counts, timing, notes."""
    if frontend not in FRONTENDS:
        raise ValueError(f"front end must be one of {sorted(FRONTENDS)}, got {frontend!r}")
    notes = []
    if variants is None:
        voices, notes = available_voices(voice_set)
    else:
        voices = [as_voice(v) for v in variants]
    test = {as_voice(v) for v in (test_variants or TEST_VARIANTS)}
    test |= {v for v in voices if (v.engine, v.name) in OTHER_TEST_VOICES}
    fold_of = assign_folds(voices, folds) if folds else {}
    todo = utterances(speeds, pitches, voices)
    keys = [f"english-{w}" for w in WORDS["en"]] + [f"german-{w}" for w in WORDS["de"]]
    t0 = time.perf_counter()
    jobs = [(u, frontend, channels) for u in todo]
    # lauscher: processes (its numpy / scipy / Numba stages are not all GIL-free); log-mel and the speech engines
    # release the GIL: threads
    executor = ProcessPoolExecutor(workers) if frontend == "lauscher" else ThreadPoolExecutor(workers)
    results = []
    with Progress(transient=True, disable=quiet) as bar, executor as pool:
        task = bar.add_task(f"speaking and encoding ({frontend})", total=len(todo))
        for res in pool.map(_encoded, jobs, chunksize=1):
            results.append(res)
            bar.update(task, advance=1)
    seconds = time.perf_counter() - t0
    summary = {"seconds": seconds, "seconds_per_1000": 1000 * seconds / max(len(todo), 1), "channels": channels,
               "frontend": frontend, "voices": len(voices), "notes": notes}
    speaker = {v: k for k, v in enumerate(voices)}
    meta = {"voice": [str(u.voice) for u in todo], "engine": [u.voice.engine for u in todo],
            "language": [u.lang for u in todo], "speed": [u.speed for u in todo],
            "pitch": [u.pitch if u.voice.engine != "festival" else -1 for u in todo],
            "fold": [fold_of.get(u.voice, -1) for u in todo]}

    def write(root: Path, split: str, idx: list[int]):
        write_shd_file(root / "SHD" / f"shd_{split}.h5", [results[k] for k in idx], [todo[k].label for k in idx],
                       [speaker[todo[k].voice] for k in idx], keys, channels,
                       {name: [values[k] for k in idx] for name, values in meta.items()})

    for split, keep in (("train", lambda u: u.voice not in test), ("test", lambda u: u.voice in test)):
        idx = [k for k, u in enumerate(todo) if keep(u)]
        write(Path(out), split, idx)
        summary[split] = len(idx)
    for k in range(folds):
        root = Path(out) / "folds" / f"fold-{k}"
        write(root, "train", [i for i, u in enumerate(todo) if fold_of[u.voice] != k])
        write(root, "test", [i for i, u in enumerate(todo) if fold_of[u.voice] == k])
    summary["folds"] = folds
    summary["spikes_per_sample"] = float(np.mean([t.size for t, _ in results])) if results else 0.0
    return summary
