"""slm.audio.resample against torchaudio.functional.resample (every rate pair, every
path), by SNR on sines, and on bad input."""
import itertools

import numpy as np
import pytest

import slm
from conftest import assert_close, load_speech, noncontig

RATES = (8000, 16000, 22050, 24000, 44100, 48000)
# real speech per source rate (fixtures at other rates are taken as if recorded at it:
# the resampler sees a speech-like signal either way)
SPEECH_AT = {8000: "codec2_hts1a_8k.wav", 16000: "flite_slt.wav", 22050: "flite_awb.wav",
             24000: "flite_rms.wav", 44100: "alsa_front_left_48k.wav", 48000: "alsa_front_center_48k.wav"}
_ref_cache = {}


def _speech(sr, seconds=0.4):
    x, _ = load_speech(SPEECH_AT[sr])
    n = int(sr * seconds)
    start = min(len(x) - n, len(x) // 4)
    return np.ascontiguousarray(x[start:start + n])


def _ta(torchaudio, torch, x, a, b, **kw):
    key = (x.tobytes().__hash__(), x.shape, a, b, tuple(sorted(kw.items())))
    if key not in _ref_cache:
        _ref_cache[key] = torchaudio.functional.resample(torch.from_numpy(x), a, b, **kw).numpy()
    return _ref_cache[key]


@pytest.mark.parametrize("a,b", [p for p in itertools.permutations(RATES, 2)])
def test_speech_matches_torchaudio_every_ratio(path, torch, torchaudio, a, b):
    x = _speech(a)
    ref = _ta(torchaudio, torch, x, a, b)
    out = slm.audio.resample(x, a, b)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert_close(out, ref, what=f"{a}->{b} speech")


@pytest.mark.parametrize("a,b", [(16000, 24000), (44100, 16000), (48000, 22050), (8000, 44100)])
def test_random_batch_matches_torchaudio(path, torch, torchaudio, rng, a, b):
    x = rng.standard_normal((2, 3, 2001)).astype(np.float32)
    ref = _ta(torchaudio, torch, x, a, b)
    out = slm.audio.resample(x, a, b)
    assert out.shape == ref.shape
    assert_close(out, ref, what=f"{a}->{b} batch")
    assert_close(slm.audio.resample(noncontig(x), a, b), ref, what="non-contiguous")
    assert_close(slm.audio.resample(x.astype(np.float64), a, b), ref, what="float64 input")


@pytest.mark.parametrize("L", [1, 2, 5, 13, 40])
def test_shorter_than_the_filter(path, torch, torchaudio, rng, L):
    x = rng.standard_normal((2, L)).astype(np.float32)
    for a, b in [(16000, 24000), (44100, 16000), (8000, 48000)]:
        ref = _ta(torchaudio, torch, x, a, b)
        assert_close(slm.audio.resample(x, a, b), ref, what=f"L={L} {a}->{b}")


@pytest.mark.parametrize("kw", [dict(resampling_method="sinc_interp_kaiser"),
                                dict(resampling_method="sinc_interp_kaiser", beta=8.0, lowpass_filter_width=16),
                                dict(lowpass_filter_width=24, rolloff=0.9),
                                dict(lowpass_filter_width=1, rolloff=0.5)])
def test_window_options_match_torchaudio(path, torch, torchaudio, kw):
    for a, b in [(16000, 22050), (48000, 16000), (8000, 24000)]:
        x = _speech(a, 0.25)
        ref = _ta(torchaudio, torch, x, a, b, **kw)
        assert_close(slm.audio.resample(x, a, b, **kw), ref, what=f"{kw} {a}->{b}")


def test_lengths_equal_rates_and_empty(torch, torchaudio, rng):
    x = rng.standard_normal(1000).astype(np.float32)
    out = slm.audio.resample(x, 16000, 16000)
    assert np.array_equal(out, x) and out is not x
    assert slm.audio.resample(np.zeros((3, 0), np.float32), 16000, 8000).shape == (3, 0)
    for L in (1, 7, 441, 1000):
        for a, b in [(44100, 16000), (16000, 44100), (22050, 8000)]:
            assert slm.audio.resample(np.zeros(L, np.float32), a, b).shape[-1] == -(-L * b // a)
    # integral floats are rates too (torchaudio accepts them)
    assert_close(slm.audio.resample(x, 16000.0, 24000.0), slm.audio.resample(x, 16000, 24000), bound=0)


def _snr_db(y, ref):
    return 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((y.astype(np.float64) - ref) ** 2))


@pytest.mark.parametrize("a,b", [(16000, 8000), (44100, 16000), (48000, 22050), (8000, 24000), (22050, 44100)])
def test_sines_pass_below_and_vanish_above_nyquist(path, a, b):
    t_in = np.arange(int(0.5 * a)) / a
    edge = b // 100  # the zero padding at both ends is a step: skip 10 ms each side
    # tones at 10%, 20%, 30% of the lower rate (20-60% of its Nyquist). The passband
    # ripple of the default filter (Hann, 6 zero crossings, rolloff 0.99; torchaudio's)
    # is ~0.3% at 60% of the Nyquist, hence the lower bound there (observed 49.5-50.4 dB)
    for frac, min_snr in ((0.1, 60), (0.2, 60), (0.3, 45)):
        f_low = frac * min(a, b)
        y = slm.audio.resample(np.sin(2 * np.pi * f_low * t_in).astype(np.float32), a, b)
        ideal = np.sin(2 * np.pi * f_low * np.arange(len(y)) / b)
        assert _snr_db(y[edge:-edge], ideal[edge:-edge]) > min_snr, (frac, f_low)
    if b < a:  # a tone between the new and the old Nyquist must be removed
        f_high = 0.5 * (b / 2 + a / 2) if a / 2 > 0.6 * b else 0.55 * b
        y = slm.audio.resample(np.sin(2 * np.pi * f_high * t_in).astype(np.float32), a, b)
        rms = np.sqrt(np.mean(y[edge:-edge].astype(np.float64) ** 2))
        assert 20 * np.log10(rms / np.sqrt(0.5)) < -50  # observed -55 to -76 dB


def test_speech_round_trip_keeps_the_band(path):
    x, sr = load_speech("codec2_speech_16k.wav")
    y = slm.audio.resample(slm.audio.resample(x, sr, 48000), 48000, sr)
    # energy above 0.99 * 8 kHz is lost, the rest comes back
    assert _snr_db(y[800:-800], x[800:-800]) > 30


def test_bad_input_then_still_works(rng):
    x = rng.standard_normal(100).astype(np.float32)
    bad = x.copy()
    bad[17] = np.nan
    with pytest.raises(ValueError, match="sample 17"):
        slm.audio.resample(bad, 16000, 8000)
    bad[17] = np.inf
    with pytest.raises(ValueError, match="finite"):
        slm.audio.resample(bad, 16000, 8000)
    for r in (0, -16000, float("nan"), float("inf"), 16000.5):
        with pytest.raises(ValueError, match="sr"):
            slm.audio.resample(x, r, 8000)
        with pytest.raises(ValueError, match="new_sr"):
            slm.audio.resample(x, 8000, r)
    for r in (True, "16000", None):
        with pytest.raises(TypeError):
            slm.audio.resample(x, r, 8000)
    with pytest.raises(TypeError):
        slm.audio.resample(x.astype(np.int16), 16000, 8000)
    with pytest.raises(ValueError):
        slm.audio.resample(np.float32(1.0), 16000, 8000)
    with pytest.raises(ValueError, match="resampling_method"):
        slm.audio.resample(x, 16000, 8000, resampling_method="linear")
    with pytest.raises(ValueError, match="lowpass_filter_width"):
        slm.audio.resample(x, 16000, 8000, lowpass_filter_width=0)
    with pytest.raises(ValueError, match="rolloff"):
        slm.audio.resample(x, 16000, 8000, rolloff=0.0)
    with pytest.raises(ValueError, match="rolloff"):
        slm.audio.resample(x, 16000, 8000, rolloff=float("nan"))
    with pytest.raises(ValueError, match="beta"):
        slm.audio.resample(x, 16000, 8000, resampling_method="sinc_interp_kaiser", beta=-1.0)
    with pytest.raises(MemoryError):  # 2^40 samples: never materialised
        slm.audio.resample(np.broadcast_to(np.zeros(1, np.float32), (1 << 40,)), 16000, 8000)
    # coprime huge rates: the filter table would be enormous -> MemoryError, not a crash
    with pytest.raises(MemoryError):
        slm.audio.resample(x, 2**31 - 1, 2**31 - 2, lowpass_filter_width=4096)
    ref = slm.audio.resample(x, 16000, 8000)
    assert ref.shape == (50,) and np.all(np.isfinite(ref))


@pytest.mark.parametrize("a,b", [(16000, 22050), (44100, 16000), (16000, 24000), (48000, 8000)])
def test_closer_to_the_exact_kernel_than_float32(path, torch, torchaudio, a, b):
    # torchaudio computes the taps in the input's dtype: in float64 they are exact to
    # double, and slm (taps in double, rounded once to float32) lands within ~1e-15 of
    # that, while torchaudio in float32 is up to 5e-11 away (the float32 tap positions)
    x = _speech(a)
    ref64 = torchaudio.functional.resample(torch.from_numpy(x.astype(np.float64)), a, b).numpy()
    assert_close(slm.audio.resample(x, a, b), ref64, bound=1e-13, what=f"{a}->{b} vs float64 torchaudio")


def test_threads_give_the_same_result(rng):
    x = rng.standard_normal((3, 30011)).astype(np.float32)
    n = slm.get_num_threads()
    try:
        slm.set_num_threads(1)
        one = slm.audio.resample(x, 44100, 16000)
        slm.set_num_threads(max(2, n))
        many = slm.audio.resample(x, 44100, 16000)
    finally:
        slm.set_num_threads(n)
    assert np.array_equal(one, many)


@pytest.mark.parametrize("L", [1001, 5000, 33333])
def test_lengths_across_tiles_and_blocks(path, torch, torchaudio, rng, L):
    # the SIMD path switches between whole tiles, per-output edges and work blocks at
    # positions that depend on L and the ratio: sweep lengths that cross them
    x = rng.standard_normal((2, L)).astype(np.float32)
    for a, b in [(48000, 8000), (22050, 44100), (44100, 16000), (24000, 22050)]:
        ref = _ta(torchaudio, torch, x, a, b)
        assert_close(slm.audio.resample(x, a, b), ref, what=f"L={L} {a}->{b}")


def test_coprime_rates(path):
    # 44099 -> 44100: P = 44100 phases. torchaudio would build a 44100 x 44113 kernel
    # (7.8 GB); here each phase keeps its ~14 taps. Checked against the ideal tone.
    a, b = 44099, 44100
    y = slm.audio.resample(np.sin(2 * np.pi * 1000 * np.arange(a) / a).astype(np.float32), a, b)
    assert y.shape == (b,)
    ideal = np.sin(2 * np.pi * 1000 * np.arange(b) / b)
    assert _snr_db(y[500:-500], ideal[500:-500]) > 60
