"""Audio workloads of ``python -m slm.bench features``: resampling (16k->24k, 44.1k->16k,
48k->16k) and file decoding (WAV, FLAC) of 10 s of audio, against torchaudio, librosa
and soundfile. Workload.audio_s turns times into seconds of audio per second."""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

from .. import audio
from .harness import Workload

SECONDS = 10.0


def _signal(sr, seconds=SECONDS, channels=1):
    """speech-like test audio: a gliding harmonic tone with syllable-rate envelope plus
    noise, in (-1, 1)"""
    rng = np.random.default_rng(0)
    t = np.arange(int(sr * seconds)) / sr
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
    x = 0.25 * x + 0.01 * rng.standard_normal(len(t))
    x = np.clip(x, -0.99, 0.99).astype(np.float32)
    return np.ascontiguousarray(np.tile(x, (channels, 1))) if channels > 1 else x


def _torchaudio_resample():
    # the extension of the installed torchaudio may not load; resample is plain PyTorch
    sys.modules.setdefault("torchaudio.lib._torchaudio", None)
    import torch
    import torchaudio.functional as F
    return torch, F.resample


def resample_w(orig, new, seconds=SECONDS):
    def setup():
        x = _signal(orig, seconds)
        peers = {}
        try:
            torch, ta_resample = _torchaudio_resample()
            tx = torch.from_numpy(x)
            peers["torchaudio"] = lambda: ta_resample(tx, orig, new)
        except ImportError:
            pass
        try:
            import librosa
            peers["librosa"] = lambda: librosa.resample(x, orig_sr=orig, target_sr=new)  # res_type soxr_hq
        except ImportError:
            pass
        return (lambda: audio.resample(x, orig, new)), peers

    return Workload(f"resample {orig / 1000:g}k->{new / 1000:g}k", f"{seconds:g} s mono", setup,
                    bytes=4.0 * orig * seconds, bound="cache", audio_s=seconds)


def decode_w(ext, subtype="PCM_16", sr=16000, seconds=SECONDS):
    def setup():
        d = tempfile.mkdtemp(prefix="slm_bench_")
        path = os.path.join(d, f"speech.{ext}")
        audio.save(path, _signal(sr, seconds), sr, subtype=subtype)
        peers = {}
        try:
            import soundfile
            peers["soundfile"] = lambda: soundfile.read(path, dtype="float32")
        except ImportError:
            pass
        try:
            import librosa
            peers["librosa"] = lambda: librosa.load(path, sr=None)
        except ImportError:
            pass
        return (lambda: audio.load(path)), peers

    return Workload(f"decode {ext.upper()}", f"{seconds:g} s {sr // 1000}k mono {subtype}", setup,
                    bytes=2.0 * sr * seconds, bound="cache", audio_s=seconds)


def workloads(quick: bool = False):
    """Resample and decode workloads (quick=True: one of each)."""
    if quick:
        return [resample_w(44100, 16000), decode_w("flac")]
    return [resample_w(16000, 24000), resample_w(44100, 16000), resample_w(48000, 16000),
            decode_w("wav"), decode_w("flac")]
