"""FFT, windows, STFT/iSTFT, spectrogram and Griffin-Lim, in C (csrc/dsp).

Conventions follow numpy.fft / torch.fft (norm "backward": forward unscaled, inverse
times 1/n), torch.stft / torch.istft (argument names, defaults, output layout
(..., freq, frames)) and torchaudio.functional.griffinlim. Inputs are converted to
float32 (real) or complex64 (complex); outputs are new float32 / complex64 arrays.
"""
import numpy as np

from .. import _C

__all__ = ["rfft", "irfft", "fft", "ifft"]


def _fit_last(x, n, what):
    """x cropped or zero-padded on the last axis to n (numpy's n= semantics)."""
    if n is None:
        return x
    n = int(n)
    if n < 1:
        raise ValueError(f"{what}: n must be >= 1, got {n}")
    m = x.shape[-1]
    if m == n:
        return x
    if m > n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - m)]
    return np.pad(x, pad)


def _real(x, what):
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise TypeError(f"{what}: x must be real (float32), got {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"{what}: x must have at least 1 dimension, got a scalar")
    return x


def _complex(x, what):
    x = np.asarray(x)
    if x.dtype.kind not in "fc" and x.dtype.kind not in "iu":
        raise TypeError(f"{what}: x must be a numeric array, got {x.dtype}")
    if x.dtype.kind in "iu":
        raise TypeError(f"{what}: x must be float or complex, got {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"{what}: x must have at least 1 dimension, got a scalar")
    return np.ascontiguousarray(x, dtype=np.complex64)


def rfft(x, n=None):
    """Real FFT of the last axis: x (..., L) float32 -> (..., n//2+1) complex64.

    Like ``numpy.fft.rfft(x, n)`` / ``torch.fft.rfft`` with norm "backward" (unscaled).
    ``n`` crops or zero-pads the last axis (default L). Any n >= 1 (mixed radix
    2/3/4/5/odd, Bluestein for large prime factors)."""
    x = _real(x, "rfft")
    return _C._rfft(np.ascontiguousarray(_fit_last(x, n, "rfft"), dtype=np.float32))


def irfft(X, n=None):
    """Inverse real FFT of the last axis: X (..., m) complex -> (..., n) float32.

    Like ``numpy.fft.irfft(X, n)`` (norm "backward": times 1/n); n defaults to
    2*(m-1); X is cropped or zero-padded to n//2+1 bins. The imaginary parts of bin 0
    (and of bin n/2 for even n) are ignored, as numpy and torch do."""
    X = _complex(X, "irfft")
    m = X.shape[-1]
    if n is None:
        n = 2 * (m - 1)
    n = int(n)
    if n < 1:
        raise ValueError(f"irfft: output length n must be >= 1, got {n} (input has {m} bins)")
    X = np.ascontiguousarray(_fit_last(X, n // 2 + 1, "irfft"), dtype=np.complex64)
    return _C._irfft(X, n)


def fft(x, n=None):
    """Complex FFT of the last axis: (..., L) -> (..., n) complex64, like
    ``numpy.fft.fft(x, n)`` (unscaled). Real input is taken as complex."""
    x = _complex(x, "fft")
    return _C._fft(np.ascontiguousarray(_fit_last(x, n, "fft")), False)


def ifft(x, n=None):
    """Inverse complex FFT of the last axis (times 1/n), like ``numpy.fft.ifft(x, n)``."""
    x = _complex(x, "ifft")
    return _C._fft(np.ascontiguousarray(_fit_last(x, n, "ifft")), True)
