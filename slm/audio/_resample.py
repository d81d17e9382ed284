"""Band-limited resampling with torchaudio's kernel (C: csrc/dsp/resample.c)."""
from __future__ import annotations

import math
import numbers

from .. import _C

__all__ = ["resample"]

_METHODS = {"sinc_interp_hann": 0, "sinc_interp_kaiser": 1}
_KAISER_BETA = 14.769656459379492  # torchaudio's default beta


def _rate(v, name):
    """A sample rate as a positive int; ValueError/TypeError naming the argument."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a sample rate in Hz (a positive integer), got {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f) or f <= 0:
        raise ValueError(f"{name} must be a positive sample rate in Hz, got {v!r}")
    if f != int(f):
        raise ValueError(f"{name} must be a whole number of Hz, got {v!r} (scale both rates to integers that keep "
                         "their ratio)")
    if f > 2**31 - 1:
        raise ValueError(f"{name} is too large: {v!r} Hz")
    return int(f)


def resample(x, orig_sr, new_sr, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interp_hann",
             beta=None):
    """Resample ``x`` (..., time) from ``orig_sr`` to ``new_sr`` Hz (band-limited).

    Same arguments, defaults and kernel as ``torchaudio.functional.resample``: a sinc
    low-pass with cutoff ``rolloff * min(orig_sr, new_sr) / 2``, cut after
    ``lowpass_filter_width`` zero crossings on each side by a Hann window
    (``"sinc_interp_hann"``) or a Kaiser window of shape ``beta``
    (``"sinc_interp_kaiser"``, beta 14.769656459379492 by default), applied polyphase
    over the ratio reduced by the gcd of the rates. Any integer rates work (8k, 16k,
    22.05k, 24k, 44.1k, 48k, ...). Leading axes are batch/channels; every row is
    resampled independently, in parallel.

    Returns a new float32 array (..., ceil(time * new_sr / orig_sr)); equal rates give a
    copy. Rates must be positive whole numbers of Hz, the input finite (ValueError
    otherwise)."""
    orig_sr = _rate(orig_sr, "orig_sr")
    new_sr = _rate(new_sr, "new_sr")
    if resampling_method not in _METHODS:
        raise ValueError(f"unknown resampling_method {resampling_method!r}; choose from {sorted(_METHODS)}")
    if isinstance(lowpass_filter_width, bool) or not isinstance(lowpass_filter_width, numbers.Integral):
        raise TypeError(f"lowpass_filter_width must be an int, got {lowpass_filter_width!r}")
    if not 0 < lowpass_filter_width <= 4096:
        raise ValueError(f"lowpass_filter_width must lie in [1, 4096], got {lowpass_filter_width}")
    b = _KAISER_BETA if beta is None else float(beta)
    return _C.resample(x, orig_sr, new_sr, int(lowpass_filter_width), float(rolloff),
                       _METHODS[resampling_method], b)
