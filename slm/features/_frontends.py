"""The front ends checkpoints expect: Whisper, HiFi-GAN/BigVGAN and Vocos log-mel,
torchaudio/librosa mel spectrograms and MFCC, Kaldi fbank, waveform normalisation.

Each is one call into C (csrc/dsp/frontends.c): padding, framing, window, real FFT,
power or magnitude, mel projection, log and the reference's post-processing, parallel
over blocks of frames (slm.set_num_threads). Names, argument names and defaults follow
the reference each one reproduces; see docs/features.md for parity figures.

Input: float32 NumPy audio (float16/float64 are cast), shape (..., L) unless a function
says otherwise; output: new float32 arrays. Non-finite samples, too-short signals and
impossible parameters raise ValueError.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _C
from ._mel import _dct, _mel_fb, _ta_fb

__all__ = ["whisper_log_mel", "pad_or_trim", "hifigan_mel", "vocos_mel", "melspectrogram", "mfcc",
           "librosa_mfcc", "kaldi_fbank", "zero_mean_unit_var_norm"]

# enums of csrc/include/slm/features.h
_PAD = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3, "symmetric": 4}
_WINDOW = {"hann": 0, "hamming": 1, "blackman": 2, "rectangular": 3, "ones": 3, "boxcar": 3}
_LOG_NONE, _LOG_LN, _LOG_LOG10, _LOG_LN_OFFSET, _LOG_DB = range(5)
_KALDI_WINDOW = {"povey": 0, "hamming": 1, "hanning": 2, "rectangular": 3, "blackman": 4}

# openai-whisper's hard-coded audio parameters
WHISPER_SAMPLE_RATE = 16000
WHISPER_N_SAMPLES = 30 * WHISPER_SAMPLE_RATE


def _pad_mode(mode, fn):
    try:
        return _PAD[mode]
    except (KeyError, TypeError):
        raise ValueError(f"{fn}: unknown pad_mode {mode!r}; choose from {sorted(_PAD)}") from None


def _window(window, win_length, fn):
    """(kind, data): a name of a periodic window, or an array / callable(win_length)"""
    if isinstance(window, str):
        if window not in _WINDOW:
            raise ValueError(f"{fn}: unknown window {window!r}; choose from {sorted(_WINDOW)} or pass an array")
        return _WINDOW[window], None
    w = window(win_length) if callable(window) else window
    return 0, np.ascontiguousarray(np.asarray(w, dtype=np.float32))


def whisper_log_mel(audio, n_mels=80, padding=0):
    """Whisper's log-mel input, equal to ``whisper.audio.log_mel_spectrogram(audio, n_mels,
    padding)`` of openai-whisper.

    audio: (..., L) float32 at 16 kHz; n_mels: 80 (Whisper up to large-v2) or 128
    (large-v3); padding: zero samples appended first. n_fft 400, hop 160, periodic Hann,
    centre reflect padding, last frame dropped, power spectrum, Slaney mel filters
    (librosa's, as whisper's mel_filters.npz), log10 clamped at 1e-10, floor at the
    maximum - 8 (over the whole input, batch included, as the reference), (x + 4) / 4.
    Returns (..., n_mels, (L + padding) // 160) float32. Pad or trim to 30 s first with
    :func:`pad_or_trim` for the encoder's 3000 frames."""
    return _C.whisper_log_mel(audio, int(n_mels), int(padding))


def pad_or_trim(array, length=WHISPER_N_SAMPLES, *, axis=-1):
    """Zero-pad or trim ``array`` to ``length`` samples along ``axis`` (default 30 s at
    16 kHz), as ``whisper.audio.pad_or_trim``. Returns a new array of the input dtype."""
    a = np.asarray(array)
    if length < 0:
        raise ValueError(f"pad_or_trim: length must be >= 0, got {length}")
    n = a.shape[axis]
    if n > length:
        a = np.take(a, np.arange(length), axis=axis)
    if n < length:
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, length - n)
        a = np.pad(a, widths)
    return np.array(a, copy=True) if a is array else a


def hifigan_mel(y, n_fft, num_mels, sampling_rate, hop_size, win_size, fmin, fmax, center=False):
    """The HiFi-GAN / BigVGAN training mel, equal to ``mel_spectrogram`` of jik876/hifi-gan
    and NVIDIA/BigVGAN ``meldataset.py``.

    y: (..., L) float32; reflect padding of (n_fft - hop_size) // 2 on both sides, STFT
    (n_fft, hop_size, periodic Hann of win_size; centre reflect padding too if center),
    magnitude sqrt(re^2 + im^2 + 1e-9), librosa Slaney mel (fmin, fmax; fmax None =
    sampling_rate / 2), ln(max(x, 1e-5)). Returns (..., num_mels, T) float32.
    HiFi-GAN V1: (1024, 80, 22050, 256, 1024, 0, 8000); BigVGAN 24 kHz 100-band:
    (1024, 100, 24000, 256, 1024, 0, None)."""
    fn = "hifigan_mel"
    mel = _mel_fb(sampling_rate, n_fft, num_mels, fmin, fmax, False, "slaney")
    p = int((n_fft - hop_size) / 2)
    return _C.melspec(y, mel, int(n_fft), int(hop_size), int(win_size), pad1_left=p, pad1_right=p,
                      pad1_mode=_PAD["reflect"], center=bool(center), center_mode=_PAD["reflect"], power=1.0,
                      mag_eps=1e-9, log_kind=_LOG_LN, log_floor=1e-5, fn=fn)


def vocos_mel(audio, sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100, padding="center"):
    """The Vocos mel, equal to ``vocos.feature_extractors.MelSpectrogramFeatures(sample_rate,
    n_fft, hop_length, n_mels, padding)(audio)``.

    audio: (..., L) float32; torchaudio MelSpectrogram with power 1 (magnitude), HTK
    filters without normalisation over [0, sample_rate // 2]; padding "center" (torch.stft
    centre reflect) or "same" (reflect (n_fft - hop_length) // 2 both sides, no centre);
    ln(max(x, 1e-7)). Returns (..., n_mels, T) float32."""
    fn = "vocos_mel"
    if padding not in ("center", "same"):
        raise ValueError(f"{fn}: padding must be 'center' or 'same', got {padding!r}")
    mel = _ta_fb(n_fft // 2 + 1, 0.0, float(sample_rate // 2), n_mels, sample_rate).T
    p = (n_fft - hop_length) // 2 if padding == "same" else 0
    return _C.melspec(audio, np.ascontiguousarray(mel), int(n_fft), int(hop_length), int(n_fft), pad1_left=p,
                      pad1_right=p, pad1_mode=_PAD["reflect"], center=padding == "center", power=1.0,
                      log_kind=_LOG_LN, log_floor=1e-7, fn=fn)


def _ta_spec_opts(fn, sample_rate, n_fft, win_length, hop_length, f_min, f_max, pad, n_mels, window_fn, power,
                  normalized, center, pad_mode, norm, mel_scale):
    win_length = n_fft if win_length is None else int(win_length)
    hop_length = win_length // 2 if hop_length is None else int(hop_length)
    if power is None:
        raise ValueError(f"{fn}: power=None (complex output) is not a mel spectrogram; use slm.features.stft")
    f_max = f_max or float(sample_rate // 2)  # torchaudio MelScale
    fb = np.ascontiguousarray(_ta_fb(n_fft // 2 + 1, f_min, f_max, n_mels, sample_rate, norm, mel_scale,
                                     stacklevel=4).T)
    kind, data = _window(window_fn, win_length, fn)
    if normalized is True or normalized == "window":
        w = data if data is not None else _window_values(kind, win_length)
        scale = 1.0 / math.sqrt(float(np.sum(np.asarray(w, np.float64) ** 2)))
    elif normalized == "frame_length":
        scale = n_fft ** -0.5
    elif normalized is False:
        scale = 1.0
    else:
        raise ValueError(f"{fn}: normalized must be a bool, 'window' or 'frame_length', got {normalized!r}")
    return fb, dict(n_fft=int(n_fft), hop_length=hop_length, win_length=win_length, window=kind, window_data=data,
                    pad0_left=int(pad), pad0_right=int(pad), center=bool(center),
                    center_mode=_pad_mode(pad_mode, fn), spec_scale=scale, power=float(power), fn=fn)


def _window_values(kind, n):
    a = 2 * np.pi * np.arange(n) / n
    return [0.5 - 0.5 * np.cos(a), 0.54 - 0.46 * np.cos(a), 0.42 - 0.5 * np.cos(a) + 0.08 * np.cos(2 * a),
            np.ones(n)][kind]


def melspectrogram(waveform, sample_rate=16000, n_fft=400, win_length=None, hop_length=None, f_min=0.0, f_max=None,
                   pad=0, n_mels=128, window_fn="hann", power=2.0, normalized=False, center=True,
                   pad_mode="reflect", norm=None, mel_scale="htk"):
    """Mel spectrogram, equal to ``torchaudio.transforms.MelSpectrogram(...)(waveform)`` with
    the same arguments and defaults.

    waveform: (..., L) float32. window_fn: "hann" (periodic, torchaudio's torch.hann_window),
    "hamming", "blackman", "rectangular", an array of win_length values or a callable
    win_length -> array. pad: zeros on both sides first; center: n_fft // 2 on both sides in
    pad_mode ("reflect", "constant", "replicate", "circular"); power > 0 (2 power, 1
    magnitude); normalized: False, True/"window" or "frame_length"; norm None or "slaney";
    mel_scale "htk" or "slaney". Returns (..., n_mels, T) float32."""
    fb, o = _ta_spec_opts("melspectrogram", sample_rate, n_fft, win_length, hop_length, f_min, f_max, pad, n_mels,
                          window_fn, power, normalized, center, pad_mode, norm, mel_scale)
    return _C.melspec(waveform, fb, **o)


def mfcc(waveform, sample_rate=16000, n_mfcc=40, dct_type=2, norm="ortho", log_mels=False, melkwargs=None):
    """MFCC, equal to ``torchaudio.transforms.MFCC(sample_rate, n_mfcc, dct_type, norm, log_mels,
    melkwargs)(waveform)``.

    The mel spectrogram of :func:`melspectrogram` (melkwargs: its arguments; torchaudio's
    defaults n_fft 400, n_mels 128, HTK), then 10 log10(max(x, 1e-10)) floored at 80 dB
    below the maximum (torchaudio's AmplitudeToDB: one maximum over the whole input for a
    1-D or 2-D waveform, one per leading index over (channel, mel, time) for 3-D and more),
    or ln(x + 1e-6) with log_mels, then the DCT-II (norm "ortho" or None), keeping n_mfcc.
    Returns (..., n_mfcc, T) float32."""
    fn = "mfcc"
    if dct_type != 2:
        raise ValueError(f"{fn}: DCT type not supported: {dct_type}")
    mk = dict(melkwargs or {})
    args = dict(sample_rate=sample_rate, n_fft=400, win_length=None, hop_length=None, f_min=0.0, f_max=None, pad=0,
                n_mels=128, window_fn="hann", power=2.0, normalized=False, center=True, pad_mode="reflect",
                norm=None, mel_scale="htk")
    unknown = set(mk) - set(args) - {"wkwargs", "onesided"}
    if unknown:
        raise TypeError(f"{fn}: unknown melkwargs {sorted(unknown)}")
    mk.pop("wkwargs", None), mk.pop("onesided", None)
    args.update(mk)
    if n_mfcc > args["n_mels"]:
        raise ValueError(f"{fn}: Cannot select more MFCC coefficients ({n_mfcc}) than # mel bins ({args['n_mels']})")
    fb, o = _ta_spec_opts(fn, **args)
    x = np.asarray(waveform)
    group = x.shape[-2] if x.ndim >= 3 else 0
    if log_mels:
        o.update(log_kind=_LOG_LN_OFFSET, log_offset=1e-6)
    else:
        o.update(log_kind=_LOG_DB, log_floor=1e-10, db_mult=10.0, db_ref=1.0, top_db=80.0, top_db_group=group)
    return _C.melspec(waveform, fb, dct=_dct(n_mfcc, args["n_mels"], norm, fn), **o)


def librosa_mfcc(y, sr=22050, n_mfcc=20, dct_type=2, norm="ortho", lifter=0, n_fft=2048, hop_length=512,
                 win_length=None, window="hann", center=True, pad_mode="constant", power=2.0, n_mels=128, fmin=0.0,
                 fmax=None, htk=False):
    """MFCC, equal to ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc, dct_type=2, norm=norm,
    lifter=lifter, n_fft=..., hop_length=..., ...)`` with librosa's defaults.

    librosa.feature.melspectrogram (periodic window, centre padding in pad_mode, default
    "constant"; Slaney filters with Slaney norm unless htk), then power_to_db (ref 1.0,
    amin 1e-10, top_db 80 below the maximum of the whole input, batch included, as
    librosa), DCT-II (norm "ortho" or None) keeping n_mfcc, and the sinusoidal lifter
    when lifter > 0. y: (..., L) float32. Returns (..., n_mfcc, T) float32."""
    fn = "librosa_mfcc"
    if dct_type != 2:
        raise ValueError(f"{fn}: only DCT type 2 is supported, got {dct_type}")
    if lifter < 0:
        raise ValueError(f"{fn}: MFCC lifter={lifter} must be a non-negative number")
    win_length = n_fft if win_length is None else int(win_length)
    fb = _mel_fb(sr, n_fft, n_mels, fmin, fmax, htk, "slaney")
    d = _dct(n_mfcc, n_mels, norm, fn)
    if lifter > 0:
        lift = 1 + (lifter / 2) * np.sin(np.pi * np.arange(1, 1 + n_mfcc) / lifter)
        d = np.ascontiguousarray((d * lift[:, None]).astype(np.float32))
    kind, data = _window(window, win_length, fn)
    return _C.melspec(y, fb, int(n_fft), int(hop_length), win_length, window=kind, window_data=data,
                      center=bool(center), center_mode=_pad_mode(pad_mode, fn), power=float(power),
                      log_kind=_LOG_DB, log_floor=1e-10, db_mult=10.0, db_ref=1.0, top_db=80.0, top_db_group=0,
                      dct=d, fn=fn)


def kaldi_fbank(waveform, blackman_coeff=0.42, channel=-1, dither=0.0, energy_floor=1.0, frame_length=25.0,
                frame_shift=10.0, high_freq=0.0, htk_compat=False, low_freq=20.0, min_duration=0.0,
                num_mel_bins=23, preemphasis_coefficient=0.97, raw_energy=True, remove_dc_offset=True,
                round_to_power_of_two=True, sample_frequency=16000.0, snip_edges=True, subtract_mean=False,
                use_energy=False, use_log_fbank=True, use_power=True, vtln_high=-500.0, vtln_low=100.0,
                vtln_warp=1.0, window_type="povey"):
    """Kaldi filterbank features, equal to ``torchaudio.compliance.kaldi.fbank`` with the same
    arguments and defaults (frame_length/frame_shift in ms; defaults: 25/10 ms, povey
    window, preemphasis 0.97, DC removal, 512-point FFT, 23 bins over [20 Hz, Nyquist], log
    power floored at float32 eps, snip_edges).

    waveform: (C, L) (channel picks one; -1 means 0, as torchaudio) or (L,), float32.
    Returns (T, num_mel_bins (+1 with use_energy)) float32; an empty (0,) array when the
    signal is shorter than min_duration seconds. dither must be 0 (torchaudio's default;
    random dither cannot be reproduced) and vtln_warp 1: other values are a ValueError."""
    fn = "kaldi_fbank"
    if dither != 0.0:
        raise ValueError(f"{fn}: dither={dither} is not supported (only 0.0, torchaudio's default)")
    if vtln_warp != 1.0:
        raise ValueError(f"{fn}: vtln_warp={vtln_warp} is not supported (only 1.0)")
    if window_type not in _KALDI_WINDOW:
        raise ValueError(f"{fn}: invalid window type {window_type!r}; choose from {sorted(_KALDI_WINDOW)}")
    x = np.asarray(waveform)
    if x.ndim == 2:
        c = max(channel, 0)
        if c >= x.shape[0]:
            raise ValueError(f"{fn}: invalid channel {channel} for {x.shape[0]} channels")
        x = x[c]
    elif x.ndim != 1:
        raise ValueError(f"{fn}: waveform must be (C, L) or (L,), got shape {x.shape}")
    if x.shape[0] < min_duration * sample_frequency:
        return np.empty(0, np.float32)
    return _C.kaldi_fbank(x, blackman_coeff=blackman_coeff, energy_floor=energy_floor, frame_length=frame_length,
                          frame_shift=frame_shift, high_freq=high_freq, low_freq=low_freq,
                          num_mel_bins=int(num_mel_bins), preemphasis_coefficient=preemphasis_coefficient,
                          raw_energy=raw_energy, remove_dc_offset=remove_dc_offset,
                          round_to_power_of_two=round_to_power_of_two, sample_frequency=sample_frequency,
                          snip_edges=snip_edges, subtract_mean=subtract_mean, use_energy=use_energy,
                          use_log_fbank=use_log_fbank, use_power=use_power, htk_compat=htk_compat,
                          window_type=_KALDI_WINDOW[window_type])


def zero_mean_unit_var_norm(input_values, attention_mask=None, padding_value=0.0, *, lengths=None):
    """Per-utterance waveform normalisation, (x - mean) / sqrt(var + 1e-7), as the Hugging Face
    Wav2Vec2FeatureExtractor's ``zero_mean_unit_var_norm`` (wav2vec2, HuBERT, WavLM
    checkpoints with do_normalize).

    input_values: a (B, L) array, or a list of 1-D arrays (each normalised on its own; a
    list of arrays comes back). attention_mask (B, L) or lengths (B,): statistics over each
    row's first lengths[b] samples, padding_value after them. Statistics in float64.
    Returns float32."""
    fn = "zero_mean_unit_var_norm"
    if isinstance(input_values, (list, tuple)):
        if attention_mask is not None or lengths is not None:
            raise ValueError(f"{fn}: attention_mask/lengths apply to a (B, L) array, not a list")
        return [_C.zero_mean_unit_var_norm(np.asarray(v, np.float32).reshape(1, -1), None, padding_value)[0]
                for v in input_values]
    if attention_mask is not None and lengths is not None:
        raise ValueError(f"{fn}: give attention_mask or lengths, not both")
    if attention_mask is not None:
        lengths = np.asarray(attention_mask, np.int64).sum(-1)
    return _C.zero_mean_unit_var_norm(input_values, lengths, float(padding_value))
