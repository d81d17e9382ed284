"""Mel scales, librosa/torchaudio filterbanks and the DCT matrix against their references."""
import os
import warnings

import numpy as np
import pytest

import slm.features as F
from conftest import assert_close

LIBROSA_CASES = [
    # (sr, n_fft, n_mels, fmin, fmax, htk, norm)
    (16000, 400, 80, 0.0, None, False, "slaney"),   # Whisper
    (16000, 400, 128, 0.0, None, False, "slaney"),  # Whisper large-v3
    (22050, 1024, 80, 0.0, 8000.0, False, "slaney"),  # HiFi-GAN V1
    (24000, 1024, 100, 0.0, None, False, "slaney"),  # BigVGAN 24 kHz
    (44100, 2048, 128, 0.0, 22050.0, False, "slaney"),  # BigVGAN 44 kHz
    (22050, 2048, 128, 30.0, 11025.0, True, None),
    (16000, 512, 40, 133.33, 6855.5, True, "slaney"),
    (8000, 256, 23, 20.0, None, False, None),
    (48000, 1023, 64, 0.0, None, False, "slaney"),  # odd n_fft
]


@pytest.mark.parametrize("case", LIBROSA_CASES)
def test_mel_filterbank_matches_librosa(librosa, case):
    sr, n_fft, n_mels, fmin, fmax, htk, norm = case
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    out = F.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert_close(out, ref, 1e-12, "mel_filterbank")
    # the same float64 operations, rounded once to float32: identical up to one ulp
    np.testing.assert_allclose(out, ref, rtol=2.5e-7, atol=1e-12)


TA_CASES = [
    # (n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale)
    (201, 0.0, 8000.0, 128, 16000, None, "htk"),  # torchaudio MelSpectrogram default
    (513, 0.0, 12000.0, 100, 24000, None, "htk"),  # Vocos
    (201, 0.0, 8000.0, 80, 16000, "slaney", "slaney"),
    (257, 20.0, 7600.0, 64, 16000, "slaney", "htk"),
    (1025, 0.0, 11025.0, 128, 22050, None, "slaney"),
]


@pytest.mark.parametrize("case", TA_CASES)
def test_melscale_fbanks_matches_torchaudio(torchaudio, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torchaudio.functional.melscale_fbanks(*case).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchaudio's default 128 bins over 201 leave 4 empty
        out = F.melscale_fbanks(*case)
    assert out.dtype == np.float32 and out.shape == ref.shape
    # torchaudio builds its bank in float32 (linspace, mel_to_hz and the slopes), so it is
    # off by float32 rounding (observed nmse <= 7e-11); run in float64 it agrees to 1e-14
    assert_close(out, ref, 1e-9, "melscale_fbanks vs float32 torchaudio")
    assert_close(out, _float64(torchaudio.functional.melscale_fbanks, *case), 1e-14,
                 "melscale_fbanks vs float64 torchaudio")


def _float64(fn, *args):
    import torch
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return fn(*args).numpy()
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("htk", [False, True])
def test_scales_match_librosa(librosa, htk):
    f = np.array([0.0, 20.0, 440.0, 999.9, 1000.0, 1000.1, 4000.0, 11025.0, 24000.0])
    np.testing.assert_allclose(F.hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-14)
    m = F.hz_to_mel(f, htk=htk)
    np.testing.assert_allclose(F.mel_to_hz(m, htk=htk), librosa.mel_to_hz(m, htk=htk), rtol=1e-14)
    np.testing.assert_allclose(F.mel_to_hz(m, htk=htk), f, rtol=1e-12, atol=1e-9)
    assert np.ndim(F.hz_to_mel(1000.0, htk=htk)) == 0
    assert float(F.hz_to_mel(1000.0, htk=htk)) == pytest.approx(float(librosa.hz_to_mel(1000.0, htk=htk)))


def test_whisper_filters_equal_its_npz():
    audio = pytest.importorskip("whisper.audio")
    path = os.path.join(os.path.dirname(audio.__file__), "assets", "mel_filters.npz")
    with np.load(path) as z:
        for n in (80, 128):
            assert_close(F.mel_filterbank(16000, 400, n), z[f"mel_{n}"], 1e-12, f"mel_{n}")


@pytest.mark.parametrize("n_mfcc,n_mels,norm", [(40, 128, "ortho"), (13, 23, "ortho"), (20, 40, None)])
def test_create_dct_matches_torchaudio(torchaudio, n_mfcc, n_mels, norm):
    ref = torchaudio.functional.create_dct(n_mfcc, n_mels, norm).numpy()
    # torchaudio evaluates cos() of float32 arguments up to ~120 rad (error ~1e-5 absolute)
    assert_close(F.create_dct(n_mfcc, n_mels, norm), ref, 1e-9, "create_dct vs float32 torchaudio")
    assert_close(F.create_dct(n_mfcc, n_mels, norm), _float64(torchaudio.functional.create_dct, n_mfcc, n_mels, norm),
                 1e-14, "create_dct vs float64 torchaudio")


def test_empty_filters_warn_like_the_references(librosa, torchaudio):
    with pytest.warns(UserWarning, match="empty filters"):
        out = F.mel_filterbank(16000, 64, 128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = librosa.filters.mel(sr=16000, n_fft=64, n_mels=128)
    assert_close(out, ref, 1e-12)
    with pytest.warns(UserWarning, match="all zero values"):
        F.melscale_fbanks(33, 0.0, 8000.0, 128, 16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mel_filterbank(16000, 400, 80)  # no warning for a sane bank


@pytest.mark.parametrize("kw,match", [
    (dict(sr=0), "sample rate"), (dict(sr=-16000), "sample rate"), (dict(sr=float("nan")), "sample rate"),
    (dict(n_fft=0), "n_fft"), (dict(n_mels=0), "n_mels"), (dict(fmin=-1.0), "fmin"),
    (dict(fmax=9000.0), "Nyquist"), (dict(fmin=4000.0, fmax=3000.0), "fmax"), (dict(norm="l2"), "norm"),
])
def test_filterbank_bad_parameters(kw, match):
    args = dict(sr=16000, n_fft=400, n_mels=80, fmin=0.0, fmax=None, htk=False, norm="slaney")
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        F.mel_filterbank(**args)
    assert F.mel_filterbank(16000, 400, 80).shape == (80, 201)


def test_filterbank_absurd_sizes():
    with pytest.raises(MemoryError):
        F.mel_filterbank(16000, 1 << 40, 1 << 30)
    with pytest.raises(ValueError, match="mel_scale"):
        F.melscale_fbanks(201, 0.0, 8000.0, 80, 16000, mel_scale="bark")
    with pytest.raises(ValueError):
        F.create_dct(50, 40)
    assert F.melscale_fbanks(201, 0.0, 8000.0, 80, 16000).shape == (201, 80)
