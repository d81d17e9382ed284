"""Mel scales and filterbanks (C: csrc/dsp/mel.c).

Two constructions, each equal to the library its users know: ``mel_filterbank`` is
``librosa.filters.mel`` (Slaney scale and Slaney area normalisation by default, shape
(n_mels, 1 + n_fft // 2)); ``melscale_fbanks`` is ``torchaudio.functional.melscale_fbanks``
(HTK scale, no normalisation by default, shape (n_freqs, n_mels)). Both are computed in
float64 and returned as float32.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .. import _C

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "melscale_fbanks", "create_dct"]

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies, htk: bool = False):
    """Hz -> mel (float64), as ``librosa.hz_to_mel``: HTK ``2595 log10(1 + f/700)`` or the
    Slaney scale (linear below 1 kHz, logarithmic above). Scalars give a NumPy scalar."""
    f = np.asanyarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP,
                        f / _F_SP)[()]


def mel_to_hz(mels, htk: bool = False):
    """mel -> Hz (float64), the inverse of :func:`hz_to_mel` (``librosa.mel_to_hz``)."""
    m = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)[()]


def _norm_flag(norm, fn):
    if norm is None:
        return False
    if norm == "slaney":
        return True
    raise ValueError(f"{fn}: norm must be 'slaney' or None, got {norm!r}")


@functools.lru_cache(maxsize=64)
def _mel_fb_cached(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    fb, empty = _C.mel_filterbank(float(sr), int(n_fft), int(n_mels), float(fmin),
                                  -1.0 if fmax is None else float(fmax), bool(htk), bool(norm))
    fb.flags.writeable = False
    return fb, empty


def _mel_fb(sr, n_fft, n_mels, fmin=0.0, fmax=None, htk=False, norm="slaney", stacklevel=3):
    """the cached, read-only librosa-style bank; warns once per call about empty filters"""
    fb, empty = _mel_fb_cached(sr, n_fft, n_mels, fmin, fmax, htk, _norm_flag(norm, "mel_filterbank"))
    if empty:
        warnings.warn(f"mel_filterbank: {empty} empty filters detected in the mel frequency basis (n_mels={n_mels}, "
                      f"n_fft={n_fft}, sr={sr}); some channels will produce empty responses. Try increasing n_fft "
                      f"or reducing n_mels (librosa warns alike).", UserWarning, stacklevel=stacklevel)
    return fb


def mel_filterbank(sr, n_fft, n_mels=128, fmin=0.0, fmax=None, htk=False, norm="slaney"):
    """Triangular mel filters, equal to ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels,
    fmin=fmin, fmax=fmax, htk=htk, norm=norm)``.

    sr: sample rate (Hz, > 0); n_fft: FFT size (bins at k * sr / n_fft Hz); fmin/fmax: band
    edges in Hz (fmax None = sr / 2; above sr / 2 is a ValueError, unlike librosa);
    htk: HTK mel scale instead of Slaney's; norm: "slaney" (area normalisation) or None.
    Returns (n_mels, 1 + n_fft // 2) float32. All-zero filters (too many mels for the FFT
    resolution) give a UserWarning, as librosa's."""
    return np.array(_mel_fb(sr, n_fft, n_mels, fmin, fmax, htk, norm))


@functools.lru_cache(maxsize=64)
def _ta_fb_cached(n_freqs, f_min, f_max, n_mels, sample_rate, norm, htk):
    fb, empty = _C.melscale_fbanks(int(n_freqs), float(f_min), float(f_max), int(n_mels), float(sample_rate),
                                   bool(norm), bool(htk))
    fb.flags.writeable = False
    return fb, empty


def _mel_scale_flag(mel_scale, fn):
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f'{fn}: mel_scale should be one of "htk" or "slaney", got {mel_scale!r}')
    return mel_scale == "htk"


def _ta_fb(n_freqs, f_min, f_max, n_mels, sample_rate, norm=None, mel_scale="htk", stacklevel=3):
    fb, empty = _ta_fb_cached(n_freqs, f_min, f_max, n_mels, sample_rate, _norm_flag(norm, "melscale_fbanks"),
                              _mel_scale_flag(mel_scale, "melscale_fbanks"))
    if empty:
        warnings.warn(f"melscale_fbanks: {empty} mel filterbanks have all zero values. The value for `n_mels` "
                      f"({n_mels}) may be set too high. Or, the value for `n_freqs` ({n_freqs}) may be set too low "
                      f"(torchaudio warns alike).", UserWarning, stacklevel=stacklevel)
    return fb


def melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm=None, mel_scale="htk"):
    """Triangular mel filters, equal to ``torchaudio.functional.melscale_fbanks(n_freqs, f_min,
    f_max, n_mels, sample_rate, norm, mel_scale)``.

    Bins lie evenly over [0, sample_rate // 2] (torchaudio's spacing); f_min/f_max in Hz;
    norm "slaney" or None; mel_scale "htk" (default) or "slaney". Returns (n_freqs, n_mels)
    float32, torchaudio's layout (a spectrogram (..., n_freqs, T) maps with ``fb.T @ S``)."""
    return np.array(_ta_fb(n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale))


@functools.lru_cache(maxsize=64)
def _dct_cached(n_mfcc, n_mels, ortho):
    d = _C.dct_matrix(int(n_mfcc), int(n_mels), bool(ortho))
    d.flags.writeable = False
    return d


def _dct(n_mfcc, n_mels, norm, fn):
    if norm is not None and norm != "ortho":
        raise ValueError(f'{fn}: norm must be either "ortho" or None, got {norm!r}')
    return _dct_cached(n_mfcc, n_mels, norm == "ortho")


def create_dct(n_mfcc, n_mels, norm="ortho"):
    """The DCT-II matrix of ``torchaudio.functional.create_dct(n_mfcc, n_mels, norm)``:
    (n_mels, n_mfcc) float32, to right-multiply row-wise log-mel data; norm "ortho" or None."""
    return np.ascontiguousarray(_dct(n_mfcc, n_mels, norm, "create_dct").T)
