"""FFT, windows, STFT/iSTFT, spectrogram and Griffin-Lim, in C (csrc/dsp).

Conventions follow numpy.fft / torch.fft (norm "backward": forward unscaled, inverse
times 1/n), torch.stft / torch.istft (argument names, defaults, output layout
(..., freq, frames)) and torchaudio.functional.griffinlim. Inputs are converted to
float32 (real) or complex64 (complex); outputs are new float32 / complex64 arrays.
"""
import numpy as np

from .. import _C

__all__ = ["rfft", "irfft", "fft", "ifft", "window", "stft", "istft", "spectrogram", "griffin_lim"]


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
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{what}: x must be a real numeric array, got {x.dtype}")
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


_WINDOWS = {"rectangular": 0, "boxcar": 0, "ones": 0, "hann": 1, "hanning": 1, "hamming": 2,
            "blackman": 3, "kaiser": 4, "povey": 5}
_PADS = {"constant": 0, "zeros": 0, "reflect": 1, "replicate": 2, "edge": 2, "circular": 3}


def window(name, length, periodic=True, beta=12.0):
    """Analysis window of ``length`` samples, float32.

    name: "hann", "hamming" (0.54/0.46 as torch), "blackman", "kaiser" (``beta``,
    default 12.0 as torch.kaiser_window), "povey" (Kaldi: hann**0.85; Kaldi itself uses
    ``periodic=False``), "rectangular". ``periodic=True`` (the torch default) gives the
    first ``length`` points of the symmetric window of length+1, as
    ``torch.hann_window(length)`` and ``scipy.signal.get_window(name, length)``."""
    if not isinstance(name, str) or name.lower() not in _WINDOWS:
        raise ValueError(f"window: unknown window {name!r}; choose from {sorted(set(_WINDOWS))}")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise TypeError(f"window: length must be an int, got {type(length).__name__}")
    return _C._window(_WINDOWS[name.lower()], int(length), bool(periodic), float(beta))


def _frame_args(fn, n_fft, hop_length, win_length, window):
    for nm, v in (("n_fft", n_fft), ("hop_length", hop_length), ("win_length", win_length)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise TypeError(f"{fn}: {nm} must be an int, got {type(v).__name__}")
    n_fft = int(n_fft)
    if n_fft < 1:
        raise ValueError(f"{fn}: n_fft must be >= 1, got {n_fft}")
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    if hop < 1:
        raise ValueError(f"{fn}: hop_length must be >= 1, got {hop}")
    if win_length is None:
        win_length = n_fft  # torch: the window must then have n_fft values
    win_length = int(win_length)
    if not 1 <= win_length <= n_fft:
        raise ValueError(f"{fn}: win_length must be in [1, n_fft={n_fft}], got {win_length}")
    if window is not None:
        w = np.asarray(window)
        if np.iscomplexobj(w):
            raise TypeError(f"{fn}: window must be real")
        if w.ndim != 1 or w.shape[0] != win_length:
            raise ValueError(f"{fn}: window must have shape ({win_length},), got {w.shape}")
        window = np.ascontiguousarray(w, dtype=np.float32)
    return n_fft, hop, win_length, window


def _batch(x, fn):
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise TypeError(f"{fn}: input must be real (float32), got {x.dtype}")
    if x.dtype.kind not in "fiu" or x.dtype.kind in "iu":
        raise TypeError(f"{fn}: input must be a float array, got {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"{fn}: input must have shape (..., time), got a scalar")
    lead = x.shape[:-1]
    return np.ascontiguousarray(x, dtype=np.float32).reshape(-1, x.shape[-1]), lead


def _stft(fn, x, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided, mode):
    n_fft, hop, win_length, window = _frame_args(fn, n_fft, hop_length, win_length, window)
    if pad_mode not in _PADS:
        raise ValueError(f"{fn}: unknown pad_mode {pad_mode!r}; choose from {sorted(_PADS)}")
    xb, lead = _batch(x, fn)
    out = _C._stft(xb, n_fft, hop, window, win_length, bool(center), _PADS[pad_mode], bool(normalized),
                   True if onesided is None else bool(onesided), mode)
    return out.reshape(lead + out.shape[1:])


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=True):
    """Short-time Fourier transform with ``torch.stft`` semantics.

    input (..., time) float32 -> (..., freq, frames) complex64, freq = n_fft//2+1
    (onesided, the default for real input) or n_fft; frames = 1 + (time + 2*(n_fft//2)
    - n_fft) // hop_length when ``center`` (padding n_fft//2 each side with pad_mode
    "reflect", "constant", "replicate"/"edge" or "circular"), else 1 + (time - n_fft)
    // hop_length. hop_length defaults to n_fft//4, win_length to n_fft; window
    (win_length,) is zero-padded centred to n_fft, None means ones (rectangular) as
    in torch. normalized scales by n_fft**-0.5. return_complex=False gives float32
    (..., freq, frames, 2)."""
    out = _stft("stft", input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided, 0)
    if not return_complex:
        return out.view(np.float32).reshape(out.shape + (2,))
    return out


def spectrogram(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
                normalized=False, onesided=True, power=2.0):
    """|stft(input, ...)| ** power in one fused C pass: power 2.0 (power spectrogram,
    float32), 1.0 (magnitude, float32) or None (the complex STFT, complex64). Arguments
    and shapes as :func:`stft`; (..., freq, frames). Like
    ``torchaudio.functional.spectrogram`` with ``normalized=False`` and an explicit
    window (here window=None means ones, as torch.stft)."""
    if power is None:
        return stft(input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided)
    if power == 2.0:
        mode = 1
    elif power == 1.0:
        mode = 2
    else:
        p = float(power)
        if not np.isfinite(p) or p <= 0:
            raise ValueError(f"spectrogram: power must be > 0 or None, got {power}")
        return _stft("spectrogram", input, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                     onesided, 2) ** np.float32(p)
    return _stft("spectrogram", input, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                 onesided, mode)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """Inverse STFT with ``torch.istft`` semantics: input (..., n_fft//2+1, frames)
    complex -> (..., time) float32 by inverse FFT, windowing, overlap-add and division
    by the overlap-added squared window. Raises ValueError where that envelope is below
    1e-11 (the NOLA condition fails), as torch does. length crops or zero-pads the
    output; by default time = hop_length*(frames-1) (centred) or that + n_fft. Only
    onesided input (real output) is supported."""
    if onesided is False or return_complex:
        raise ValueError("istft: only onesided input with a real output is supported")
    n_fft, hop, win_length, window = _frame_args("istft", n_fft, hop_length, win_length, window)
    X = np.asarray(input)
    if X.dtype.kind not in "fc":
        raise TypeError(f"istft: input must be complex64, got {X.dtype}")
    if X.ndim < 2:
        raise ValueError(f"istft: input must have shape (..., freq, frames), got {X.shape}")
    if length is not None:
        length = int(length)
        if length < 0:
            raise ValueError(f"istft: length must be >= 0, got {length}")
    lead = X.shape[:-2]
    Xb = np.ascontiguousarray(X, dtype=np.complex64).reshape((-1,) + X.shape[-2:])
    out = _C._istft(Xb, n_fft, hop, window, win_length, bool(center), bool(normalized),
                    -1 if length is None else length)
    return out.reshape(lead + out.shape[1:])


def griffin_lim(specgram, n_fft, hop_length=None, win_length=None, window=None, power=2.0, n_iter=32,
                momentum=0.99, length=None, rand_init=True, init_phase=None, seed=0):
    """Waveform from a magnitude/power spectrogram by Griffin-Lim, as
    ``torchaudio.functional.griffinlim``: specgram (..., n_fft//2+1, frames) holding
    |X|**power -> (..., time) float32. Each of ``n_iter`` iterations inverts with the
    current phases, re-analyses (centred, reflect), and applies the fast-GL momentum
    ``angles = R - momentum/(1+momentum) * R_prev`` normalised to unit modulus.
    Initial phases: ``init_phase`` (complex, same shape) if given, else 1 when
    ``rand_init`` is False, else uniform random complex in [0,1)+i[0,1) drawn from
    ``seed`` (slm's own generator: it cannot reproduce torch.rand's stream).
    window None means ones (torch.istft's default); pass window("hann", n_fft) for the
    usual choice (torchaudio.transforms.GriffinLim's default)."""
    if not 0 <= momentum < 1:
        raise ValueError(f"griffin_lim: momentum must be in [0, 1), got {momentum}")
    n_fft, hop, win_length, window = _frame_args("griffin_lim", n_fft, hop_length, win_length, window)
    S = np.asarray(specgram)
    if np.iscomplexobj(S):
        raise TypeError("griffin_lim: specgram must be real (a magnitude or power spectrogram)")
    if S.ndim < 2:
        raise ValueError(f"griffin_lim: specgram must have shape (..., freq, frames), got {S.shape}")
    if int(n_iter) < 0:
        raise ValueError(f"griffin_lim: n_iter must be >= 0, got {n_iter}")
    lead = S.shape[:-2]
    Sb = np.ascontiguousarray(S, dtype=np.float32).reshape((-1,) + S.shape[-2:])
    init = None
    if init_phase is not None:
        init = np.ascontiguousarray(np.broadcast_to(init_phase, S.shape), dtype=np.complex64).reshape(Sb.shape)
    out = _C._griffin_lim(Sb, init, n_fft, hop, window, win_length, float(power), int(n_iter), float(momentum),
                          -1 if length is None else int(length), bool(rand_init), int(seed) & (2**64 - 1))
    return out.reshape(lead + out.shape[1:])
