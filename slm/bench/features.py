"""Feature and audio workloads: file decode, resampling, STFT/iSTFT/Griffin-Lim and the
front ends checkpoints expect, each against the implementations people use instead
(torchaudio, librosa, soundfile, openai-whisper, vocos). Each workload's ``audio_s`` is
the seconds of audio one call processes, so the report reads as throughput."""
from __future__ import annotations

import importlib
import sys

from .harness import versions

# torchaudio 2.9.1 beside torch 2.13 (see tests/conftest.py): its compiled extension is
# built for another torch and cannot load; the functions compared here are plain torch.
sys.modules.setdefault("torchaudio.lib._torchaudio", None)

_PARTS = ("features_audio", "features_stft", "features_frontends")


def workloads(quick=False):
    out = []
    for name in _PARTS:
        mod = importlib.import_module(f"{__package__}.{name}")
        out += mod.workloads(quick=quick)
    return out


def peer_versions():
    return versions(("torch", "torchaudio", "librosa", "soundfile", "whisper", "vocos", "numpy"))
