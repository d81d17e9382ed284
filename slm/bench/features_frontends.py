"""Feature front-end workloads (Whisper log-mel, HiFi-GAN and Vocos mel, MFCC, Kaldi
fbank) against the reference implementations users run: openai-whisper, torchaudio and
librosa, in the same process at the same thread count. Throughput is reported as seconds
of audio per second (Workload.audio_s)."""
from __future__ import annotations

import sys
import warnings

import numpy as np

from .harness import Workload


def _audio(seconds, sr, seed=0):
    """speech-like test signal: noise shaped by a slow envelope, float32 in [-1, 1)"""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * np.arange(n) / sr)
    return (0.3 * env * rng.standard_normal(n)).astype(np.float32)


def _torch():
    import torch
    return torch


def _torchaudio():
    sys.modules.setdefault("torchaudio.lib._torchaudio", None)  # its extension does not load here
    import torchaudio
    return torchaudio


def _features():
    from .. import features
    return features


def whisper_w():
    def setup():
        F, torch = _features(), _torch()
        x = _audio(30.0, 16000)
        tx = torch.from_numpy(x)
        peers = {}
        try:
            import whisper.audio as wa
            peers["whisper"] = lambda: wa.log_mel_spectrogram(tx)
        except ImportError:
            pass
        try:
            import librosa
            mel = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)

            def lib():
                s = np.abs(librosa.stft(x, n_fft=400, hop_length=160, pad_mode="reflect"))[..., :-1] ** 2
                lg = np.log10(np.maximum(mel @ s, 1e-10))
                return (np.maximum(lg, lg.max() - 8.0) + 4.0) / 4.0
            peers["librosa"] = lib
        except ImportError:
            pass
        return (lambda: F.whisper_log_mel(x)), peers

    return Workload("whisper log-mel (80)", "30 s 16 kHz", setup, audio_s=30.0)


def hifigan_w():
    cfg = dict(n_fft=1024, num_mels=80, sampling_rate=22050, hop_size=256, win_size=1024, fmin=0, fmax=8000)

    def setup():
        F, torch = _features(), _torch()
        import librosa
        x = _audio(10.0, 22050)[None]
        tx = torch.from_numpy(x)
        mel = torch.from_numpy(librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0, fmax=8000))
        win = torch.hann_window(1024)

        def ref():  # jik876/hifi-gan meldataset.py mel_spectrogram
            y = torch.nn.functional.pad(tx.unsqueeze(1), (384, 384), mode="reflect").squeeze(1)
            s = torch.stft(y, 1024, hop_length=256, win_length=1024, window=win, center=False,
                           return_complex=True)
            s = torch.sqrt(torch.view_as_real(s).pow(2).sum(-1) + 1e-9)
            return torch.log(torch.clamp(mel @ s, min=1e-5))

        def lib():
            y = np.pad(x, ((0, 0), (384, 384)), mode="reflect")
            s = np.sqrt(np.abs(librosa.stft(y, n_fft=1024, hop_length=256, center=False)) ** 2 + 1e-9)
            return np.log(np.maximum(mel.numpy() @ s, 1e-5))
        return (lambda: F.hifigan_mel(x, **cfg)), {"torch (meldataset.py)": ref, "librosa": lib}

    return Workload("HiFi-GAN V1 mel", "10 s 22.05 kHz", setup, audio_s=10.0)


def vocos_w():
    def setup():
        F, torch = _features(), _torch()
        _torchaudio()
        x = _audio(10.0, 24000)[None]
        tx = torch.from_numpy(x)
        peers = {}
        try:
            from vocos.feature_extractors import MelSpectrogramFeatures
            m = MelSpectrogramFeatures()
            peers["vocos (torchaudio)"] = lambda: m(tx)
        except ImportError:
            pass
        import librosa
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peers["librosa"] = lambda: np.log(np.maximum(librosa.feature.melspectrogram(
                y=x, sr=24000, n_fft=1024, hop_length=256, n_mels=100, power=1.0, htk=True, norm=None,
                pad_mode="reflect"), 1e-7))
        return (lambda: F.vocos_mel(x)), peers

    return Workload("Vocos mel", "10 s 24 kHz", setup, audio_s=10.0)


def mfcc_w():
    def setup():
        F, torch = _features(), _torch()
        ta = _torchaudio()
        import librosa
        x = _audio(10.0, 16000)
        tx = torch.from_numpy(x)
        mk = dict(n_fft=400, hop_length=160, n_mels=80)
        m = ta.transforms.MFCC(sample_rate=16000, n_mfcc=40, melkwargs=mk)
        return (lambda: F.mfcc(x, 16000, 40, melkwargs=mk)), {
            "torchaudio": lambda: m(tx),
            "librosa": lambda: librosa.feature.mfcc(y=x, sr=16000, n_mfcc=40, n_fft=400, hop_length=160, n_mels=80,
                                                    htk=True, norm="ortho")}

    return Workload("MFCC (40 of 80 mels)", "10 s 16 kHz", setup, audio_s=10.0)


def kaldi_w():
    def setup():
        F, torch = _features(), _torch()
        ta = _torchaudio()
        x = _audio(10.0, 16000)
        tx = torch.from_numpy(x)[None]
        return (lambda: F.kaldi_fbank(x, num_mel_bins=80)), {
            "torchaudio": lambda: ta.compliance.kaldi.fbank(tx, num_mel_bins=80)}

    return Workload("Kaldi fbank (80)", "10 s 16 kHz", setup, audio_s=10.0)


def workloads(quick: bool = False):
    """The front-end workloads; quick=True keeps Whisper and Kaldi fbank."""
    w = [whisper_w(), hifigan_w(), vocos_w(), mfcc_w(), kaldi_w()]
    if quick:
        w = [x for x in w if x.name.startswith(("whisper", "Kaldi"))]
    return w


def main(threads=(1, 2), quick=False):
    """print each workload's time and audio throughput against its peers at each thread count"""
    import slm
    from .harness import run_workloads
    torch = _torch()
    for n in threads:
        slm.set_num_threads(n)
        torch.set_num_threads(n)
        print(f"threads={n}")
        for r in run_workloads(workloads(quick), repeats=3 if quick else 5, min_time=0.05):
            w = r.workload
            if r.error:
                print(f"  {w.name:<24} skipped: {r.error}")
                continue
            peers = "  ".join(f"{k} {v:8.2f} ms (x{v / r.slm_ms:.2f})" for k, v in r.peers_ms.items())
            print(f"  {w.name:<24} {w.shape:<16} slm {r.slm_ms:8.2f} ms ({w.audio_s / r.slm_ms * 1e3:7.0f} s/s)  {peers}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
