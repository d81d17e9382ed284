"""F0 (pitch) tracking with a voicing decision: YIN and probabilistic YIN in C.

``yin`` and ``pyin`` follow ``librosa.yin`` / ``librosa.pyin`` (librosa 0.11): same
arguments, defaults, framing and outputs (float32 here). ``f0`` is the short form a
vocoder's F0 conditioning or a prosody metric wants. See docs/f0.md.
"""
import math
import warnings

import numpy as np

from .. import _C

__all__ = ["yin", "pyin", "f0"]

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _check_common(fmin, fmax, win_length, pad_mode):
    if fmin is None or fmax is None:
        raise ValueError('both "fmin" and "fmax" must be provided')
    if win_length is not None:
        warnings.warn("win_length has no effect (deprecated in librosa 0.11, as there)",
                      FutureWarning, stacklevel=3)
    if not isinstance(pad_mode, str):
        raise TypeError(f"pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")


def yin(y, fmin, fmax, sr=22050, frame_length=2048, win_length=None, hop_length=None,
        trough_threshold=0.1, center=True, pad_mode="constant"):
    """F0 by YIN (de Cheveigne & Kawahara 2002), as ``librosa.yin``.

    y: float32 array (..., n) of samples; each leading index is a separate channel.
    fmin, fmax: search range in Hz, 0 < fmin < fmax <= sr / 2, and sr / fmin must be
    below frame_length - 1 (one period of fmin fits in a frame).
    sr: sample rate in Hz. frame_length: samples per frame (2048).
    win_length: ignored (deprecated in librosa 0.11; a FutureWarning if given).
    hop_length: samples between frames (None: frame_length // 4).
    trough_threshold: absolute threshold on the normalised difference (0.1).
    center: if True, y is padded by frame_length // 2 on both sides (``pad_mode``:
    'constant' (zeros), 'edge', 'reflect', 'symmetric', 'wrap', as numpy.pad) and frame t
    is centred on sample t * hop_length; if False frame t starts there.

    Returns f0, float32 (..., n_frames) in Hz, n_frames = 1 + (n + 2 * (frame_length // 2)
    - frame_length) // hop_length when center (1 + n // hop_length for an even
    frame_length), 1 + (n - frame_length) // hop_length otherwise. Every frame gets an
    estimate (a frame with no trough under the threshold takes the global minimum);
    use ``pyin`` or ``f0`` for a voicing decision. Raises ValueError for impossible
    parameters, empty input, or NaN/Inf samples.
    """
    _check_common(fmin, fmax, win_length, pad_mode)
    hop = 0 if hop_length is None else _int("hop_length", hop_length)
    out, _ = _C.yin(y, float(fmin), float(fmax), float(sr), _int("frame_length", frame_length), hop,
                    float(trough_threshold), bool(center), pad_mode)
    return out


def pyin(y, fmin, fmax, sr=22050, frame_length=2048, win_length=None, hop_length=None,
         n_thresholds=100, beta_parameters=(2, 18), boltzmann_parameter=2, resolution=0.1,
         max_transition_rate=35.92, switch_prob=0.01, no_trough_prob=0.01, fill_na=np.nan,
         center=True, pad_mode="constant"):
    """F0 by probabilistic YIN (Mauch & Dixon 2014) with Viterbi decoding, as
    ``librosa.pyin``.

    Arguments as ``yin``, plus (librosa's names and defaults):
    n_thresholds: thresholds in (0, 1] (100); beta_parameters: (a, b) of the beta prior
    over them ((2, 18)); boltzmann_parameter: prior over troughs, favouring short periods
    (2); resolution: pitch-bin width in semitones (0.1); max_transition_rate: octaves per
    second (35.92); switch_prob: voiced <-> unvoiced switch probability (0.01);
    no_trough_prob: mass given to the global minimum when no trough is under a
    threshold (0.01); fill_na: f0 of unvoiced frames (NaN; None keeps the decoded
    best-guess pitch).

    Returns (f0, voiced_flag, voiced_prob), each (..., n_frames): f0 float32 Hz on the
    grid fmin * 2^(k * resolution / 12), voiced_flag bool, voiced_prob float32 in [0, 1].
    The transition band must fit the pitch grid as in librosa: a band wider than the
    grid is truncated at the grid's ends instead of raising.
    """
    _check_common(fmin, fmax, win_length, pad_mode)
    hop = 0 if hop_length is None else _int("hop_length", hop_length)
    try:
        a, b = beta_parameters
    except (TypeError, ValueError):
        raise ValueError(f"beta_parameters must be a pair (a, b), got {beta_parameters!r}") from None
    fill = fill_na is not None
    f, v, p = _C.pyin(y, float(fmin), float(fmax), float(sr), _int("frame_length", frame_length), hop,
                      _int("n_thresholds", n_thresholds), float(a), float(b), float(boltzmann_parameter),
                      float(resolution), float(max_transition_rate), float(switch_prob),
                      float(no_trough_prob), bool(center), pad_mode, fill,
                      float(fill_na) if fill else 0.0)
    return f, v, p


def f0(y, sr, fmin=50.0, fmax=500.0, hop_length=None, method="pyin", frame_length=None,
       unvoiced=0.0):
    """F0 track and voicing at a chosen frame rate: the conditioning input of
    pitch-conditioned vocoders and of prosody metrics.

    y: float32 (..., n) samples at sr Hz. fmin, fmax: range in Hz (50-500 covers speech).
    hop_length: samples per frame step (None: sr // 100, i.e. 10 ms); choose the hop of
    the features you align with (e.g. a vocoder's mel hop). frame_length: analysis
    window (None: the smallest power of two holding two periods of fmin).
    method: 'pyin' (Viterbi-smoothed, probabilistic voicing; the default) or 'yin'
    (raw YIN, voiced where a trough is under the 0.1 threshold; faster, noisier).
    unvoiced: the f0 value of unvoiced frames (0.0; pass np.nan for NaN).

    Returns (f0, voiced): float32 and bool arrays (..., 1 + n // hop_length). Frame t is
    centred on sample t * hop_length (time t * hop_length / sr s), the samples around it
    come from zero padding at the edges, exactly like a centred STFT with that hop.
    """
    if method not in ("pyin", "yin"):
        raise ValueError(f"unknown method {method!r}; choose from ['pyin', 'yin']")
    sr = float(sr)
    if not (math.isfinite(sr) and sr > 0):
        raise ValueError(f"f0: sr={sr} must be finite and > 0")
    if hop_length is None:
        hop_length = max(1, int(sr // 100))
    if frame_length is None:
        if not (math.isfinite(float(fmin)) and fmin > 0):
            raise ValueError(f"f0: fmin={fmin} must be strictly positive")
        # librosa's difference function keeps the energy of the frame's last k samples
        # at lag k, which lifts the normalised difference at the period T by about
        # T / (2 * frame_length): four periods of fmin keep that under YIN's 0.1
        frame_length = 1 << max(2, math.ceil(math.log2(4 * math.ceil(sr / fmin))))
    if method == "yin":
        f, v = _C.yin(y, float(fmin), float(fmax), sr, _int("frame_length", frame_length),
                      _int("hop_length", hop_length), 0.1, True, "constant")
        f = np.where(v, f, np.float32(unvoiced)).astype(np.float32, copy=False)
        return f, v
    f, v, _ = _C.pyin(y, float(fmin), float(fmax), sr, _int("frame_length", frame_length),
                      _int("hop_length", hop_length), fill=True, fill_value=float(unvoiced))
    return f, v


def _int(name, v):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    return int(v)
