"""STFT, iSTFT and Griffin-Lim workloads (slm.features) against torch.stft / istft,
torchaudio (Spectrogram, griffinlim) and librosa, on 10 s of audio at the front ends'
settings: 16 kHz n_fft 400 hop 160 (Whisper), 24 kHz n_fft 1024 hop 256 (Vocos), and
n_fft 512 hop 128 for the inverse paths."""
from __future__ import annotations

import sys

import numpy as np

from .harness import Workload


def _torch():
    import torch
    return torch


def _torchaudio():
    # torchaudio's compiled extension does not load with this torch: its pure-Python
    # parts (transforms.Spectrogram, functional.griffinlim) do not need it
    sys.modules.setdefault("torchaudio.lib._torchaudio", None)
    import torchaudio
    return torchaudio


def _librosa():
    try:
        import librosa
        return librosa
    except ImportError:
        return None


def _audio(sr, seconds=10.0):
    return (np.random.default_rng(0).standard_normal(int(sr * seconds)) * 0.1).astype(np.float32)


def _flops(n_samples, n_fft, hop):
    frames = 1 + n_samples // hop
    return frames * 2.5 * n_fft * np.log2(n_fft)  # real FFT ~ 2.5 n log2 n


def stft_power_w(sr, n_fft, hop, seconds=10.0):
    def setup():
        from ..features import spectrogram, window
        torch = _torch()
        x = _audio(sr, seconds)
        w = window("hann", n_fft)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        peers = {"torch.stft": lambda: torch.stft(tx, n_fft, hop, window=tw, return_complex=True).abs().pow(2)}
        try:
            ta = _torchaudio()
            spec = ta.transforms.Spectrogram(n_fft=n_fft, hop_length=hop, power=2.0)
            peers["torchaudio"] = lambda: spec(tx)
        except Exception:  # torchaudio missing or broken: the other peers still run
            pass
        lr = _librosa()
        if lr is not None:
            peers["librosa"] = lambda: np.abs(lr.stft(x, n_fft=n_fft, hop_length=hop, window=w)) ** 2
        return (lambda: spectrogram(x, n_fft, hop, window=w)), peers

    n = int(sr * seconds)
    return Workload(f"stft power ({sr // 1000} kHz, n_fft {n_fft} hop {hop})", f"{seconds:g} s", setup,
                    _flops(n, n_fft, hop), 4.0 * n, "cache", audio_s=seconds)


def istft_w(sr, n_fft, hop, seconds=10.0):
    def setup():
        from ..features import istft, stft, window
        torch = _torch()
        x = _audio(sr, seconds)
        w = window("hann", n_fft)
        X = stft(x, n_fft, hop, window=w)
        TX, tw = torch.from_numpy(X), torch.from_numpy(w)
        peers = {"torch.istft": lambda: torch.istft(TX, n_fft, hop, window=tw, length=len(x))}
        lr = _librosa()
        if lr is not None:
            peers["librosa"] = lambda: lr.istft(X, n_fft=n_fft, hop_length=hop, window=w, length=len(x))
        return (lambda: istft(X, n_fft, hop, window=w, length=len(x))), peers

    n = int(sr * seconds)
    return Workload(f"istft ({sr // 1000} kHz, n_fft {n_fft} hop {hop})", f"{seconds:g} s", setup,
                    _flops(n, n_fft, hop), 8.0 * n * (n_fft // 2 + 1) / hop, "cache", audio_s=seconds)


def griffin_lim_w(sr, n_fft, hop, n_iter=32, seconds=10.0):
    def setup():
        from ..features import griffin_lim, spectrogram, window
        torch = _torch()
        x = _audio(sr, seconds)
        w = window("hann", n_fft)
        S = spectrogram(x, n_fft, hop, window=w)
        TS, tw = torch.from_numpy(S), torch.from_numpy(w)
        peers = {}
        try:
            ta = _torchaudio()
            peers["torchaudio"] = lambda: ta.functional.griffinlim(TS, tw, n_fft, hop, n_fft, 2.0, n_iter, 0.99,
                                                                    len(x), False)
        except Exception:
            pass
        lr = _librosa()
        if lr is not None:
            peers["librosa"] = lambda: lr.griffinlim(np.sqrt(S), n_iter=n_iter, hop_length=hop, n_fft=n_fft,
                                                     window=w, length=len(x), init=None)
        return (lambda: griffin_lim(S, n_fft, hop, window=w, n_iter=n_iter, rand_init=False, length=len(x))), peers

    n = int(sr * seconds)
    return Workload(f"griffin_lim {n_iter} iters ({sr // 1000} kHz, n_fft {n_fft} hop {hop})", f"{seconds:g} s",
                    setup, 2 * n_iter * _flops(n, n_fft, hop), 0.0, "cache", audio_s=seconds)


def workloads(quick: bool = False):
    """STFT power spectrogram (Whisper and Vocos settings), iSTFT and Griffin-Lim;
    quick=True keeps the Whisper-setting STFT only."""
    w = [stft_power_w(16000, 400, 160), stft_power_w(24000, 1024, 256), istft_w(16000, 512, 128),
         griffin_lim_w(16000, 512, 128)]
    return w[:1] if quick else w
