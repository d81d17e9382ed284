"""Front ends against the references their checkpoints were trained with: openai-whisper,
HiFi-GAN/BigVGAN meldataset.py (re-written here from its facts), Vocos, torchaudio
(MelSpectrogram, MFCC, compliance.kaldi.fbank), librosa (feature.mfcc) and the Hugging Face
wav2vec2 normalisation (re-written here), on real speech and random input, every path."""
import functools
import threading
import warnings

import numpy as np
import pytest

import slm
import slm.features as F
from conftest import assert_close, load_speech, nmse


@functools.lru_cache(maxsize=None)
def speech(name, sr=None, seconds=3.0):
    """a committed speech fixture (first `seconds`), resampled to sr with torchaudio"""
    x, rate = load_speech(name)
    if x.ndim > 1:
        x = x[0]
    if sr is not None and sr != rate:
        import torch
        import torchaudio
        x = torchaudio.functional.resample(torch.from_numpy(x), rate, sr).numpy()
        rate = sr
    x = np.ascontiguousarray(x[: int(seconds * rate)], dtype=np.float32)
    x.flags.writeable = False
    return x


def noise(n, seed=0, scale=0.3):
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(np.float32)


# ---- Whisper ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def whisper_audio():
    return pytest.importorskip("whisper.audio")


@pytest.mark.parametrize("n_mels", [80, 128])
def test_whisper_log_mel(path, torch, whisper_audio, n_mels):
    for x in (speech("codec2_speech_16k.wav"), speech("flite_slt.wav"), noise(16000 * 2 + 123)):
        ref = whisper_audio.log_mel_spectrogram(torch.from_numpy(x.copy()), n_mels=n_mels).numpy()
        out = F.whisper_log_mel(x, n_mels=n_mels)
        assert out.shape == ref.shape and out.dtype == np.float32
        assert_close(out, ref, 1e-7, f"whisper n_mels={n_mels}")


def test_whisper_padding_batch_and_30s(path, torch, whisper_audio):
    x = speech("flite_awb.wav")
    ref = whisper_audio.log_mel_spectrogram(torch.from_numpy(x.copy()), padding=480000 - len(x)).numpy()
    assert_close(F.whisper_log_mel(x, padding=480000 - len(x)), ref, 1e-7, "padding")
    # the 3000-frame encoder input
    xp = F.pad_or_trim(x)
    ref = whisper_audio.log_mel_spectrogram(torch.from_numpy(xp)).numpy()
    out = F.whisper_log_mel(xp)
    assert out.shape == (80, 3000)
    assert_close(out, ref, 1e-7, "30 s")
    # a batch: the reference takes the max - 8 floor over the whole batch
    b = np.stack([speech("flite_rms.wav")[:32000], 0.01 * speech("flite_slt.wav")[:32000]])
    ref = whisper_audio.log_mel_spectrogram(torch.from_numpy(b.copy())).numpy()
    assert_close(F.whisper_log_mel(b), ref, 1e-7, "batch")


def test_pad_or_trim(whisper_audio):
    x = noise(1000)
    for n in (10, 1000, 1500):
        np.testing.assert_array_equal(F.pad_or_trim(x, n), whisper_audio.pad_or_trim(x, n))
    m = noise(60).reshape(3, 20)
    np.testing.assert_array_equal(F.pad_or_trim(m, 7, axis=0), whisper_audio.pad_or_trim(m, 7, axis=0))
    assert F.pad_or_trim(x, 1000) is not x


# ---- HiFi-GAN / BigVGAN -------------------------------------------------------------------

def hifigan_ref(torch, librosa, y, n_fft, num_mels, sampling_rate, hop_size, win_size, fmin, fmax, center=False):
    """mel_spectrogram() of jik876/hifi-gan meldataset.py and NVIDIA/BigVGAN meldataset.py
    (BigVGAN's return_complex form of the same math): reflect pad (n_fft - hop)/2, stft with
    a periodic Hann of win_size, sqrt(re^2 + im^2 + 1e-9), librosa Slaney mel, log(clamp 1e-5)."""
    mel = torch.from_numpy(librosa.filters.mel(sr=sampling_rate, n_fft=n_fft, n_mels=num_mels, fmin=fmin,
                                               fmax=fmax)).float()
    window = torch.hann_window(win_size)
    p = int((n_fft - hop_size) / 2)
    y = torch.nn.functional.pad(y.unsqueeze(1), (p, p), mode="reflect").squeeze(1)
    spec = torch.stft(y, n_fft, hop_length=hop_size, win_length=win_size, window=window, center=center,
                      pad_mode="reflect", normalized=False, onesided=True, return_complex=True)
    spec = torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1) + 1e-9)
    return torch.log(torch.clamp(torch.matmul(mel, spec), min=1e-5))


HIFIGAN_CONFIGS = {
    "hifigan_v1_22k": (22050, dict(n_fft=1024, num_mels=80, sampling_rate=22050, hop_size=256, win_size=1024, fmin=0,
                                   fmax=8000)),
    "bigvgan_24k_100band": (24000, dict(n_fft=1024, num_mels=100, sampling_rate=24000, hop_size=256, win_size=1024,
                                        fmin=0, fmax=None)),
}


@pytest.mark.parametrize("config", sorted(HIFIGAN_CONFIGS))
@pytest.mark.parametrize("center", [False, True])
def test_hifigan_mel(path, torch, librosa, config, center):
    sr, cfg = HIFIGAN_CONFIGS[config]
    y = np.stack([speech("festival_slt.wav", sr, 2.0), noise(int(2.0 * sr), seed=3)])
    ref = hifigan_ref(torch, librosa, torch.from_numpy(y.copy()), center=center, **cfg).numpy()
    out = F.hifigan_mel(y, center=center, **cfg)
    assert out.shape == ref.shape
    assert_close(out, ref, 1e-7, f"{config} center={center}")
    assert_close(F.hifigan_mel(y[0], center=center, **cfg), ref[0], 1e-7, "1-D input")


# ---- Vocos ------------------------------------------------------------------------------

@pytest.mark.parametrize("padding", ["center", "same"])
def test_vocos_mel(path, torch, torchaudio, padding):
    fe = pytest.importorskip("vocos.feature_extractors")
    y = np.stack([speech("alsa_front_center_48k.wav", 24000, 1.4), noise(int(1.4 * 24000), seed=5)])
    m = fe.MelSpectrogramFeatures(padding=padding)
    ref = m(torch.from_numpy(y.copy())).numpy()
    out = F.vocos_mel(y, padding=padding)
    assert out.shape == ref.shape
    assert_close(out, ref, 1e-7, f"vocos {padding}")


# ---- torchaudio MelSpectrogram / MFCC -----------------------------------------------------

MELSPEC_OPTS = [
    dict(),
    dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, n_mels=80, f_min=20.0, f_max=7600.0,
         window_fn="hamming"),
    dict(n_fft=400, hop_length=100, pad=37, power=1.0, normalized=True, n_mels=64),
    dict(n_fft=256, center=False, n_mels=40, norm="slaney", mel_scale="slaney", normalized="frame_length"),
    dict(n_fft=400, pad_mode="constant", power=1.5, n_mels=40),
    dict(n_fft=320, pad_mode="replicate", n_mels=40, window_fn="blackman"),
]


@pytest.mark.parametrize("i", range(len(MELSPEC_OPTS)))
def test_melspectrogram_matches_torchaudio(path, torch, torchaudio, i):
    opts = dict(MELSPEC_OPTS[i])
    topts = dict(opts)
    wf = topts.pop("window_fn", "hann")
    topts["window_fn"] = {"hann": torch.hann_window, "hamming": torch.hamming_window,
                          "blackman": torch.blackman_window}[wf]
    x = np.stack([speech("flite_rms.wav", seconds=2.0), noise(32000, seed=7)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torchaudio.transforms.MelSpectrogram(**topts)(torch.from_numpy(x.copy())).numpy()
        out = F.melspectrogram(x, **opts)
    assert out.shape == ref.shape
    assert_close(out, ref, 1e-7, f"melspectrogram {opts}")


def test_melspectrogram_window_array_and_callable(path, torch, torchaudio):
    x = speech("flite_slt.wav", seconds=1.0)
    ref = torchaudio.transforms.MelSpectrogram(n_fft=512, win_length=300, n_mels=40,
                                               window_fn=torch.hann_window, wkwargs=dict(periodic=False))(
        torch.from_numpy(x.copy())).numpy()
    w = torch.hann_window(300, periodic=False).numpy()
    assert_close(F.melspectrogram(x, n_fft=512, win_length=300, n_mels=40, window_fn=w), ref, 1e-7)
    assert_close(F.melspectrogram(x, n_fft=512, win_length=300, n_mels=40,
                                  window_fn=lambda n: torch.hann_window(n, periodic=False)), ref, 1e-7)


@pytest.mark.parametrize("log_mels", [False, True])
def test_mfcc_matches_torchaudio(path, torch, torchaudio, log_mels):
    x = speech("codec2_speech_16k.wav")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchaudio's default: 128 mels over 201 bins, 4 empty
        ref = torchaudio.transforms.MFCC(log_mels=log_mels)(torch.from_numpy(x.copy())).numpy()
        out = F.mfcc(x, log_mels=log_mels)
    assert out.shape == ref.shape == (40, 241)
    assert_close(out, ref, 1e-7, f"mfcc log_mels={log_mels}")


def test_mfcc_top_db_grouping(path, torch, torchaudio):
    """AmplitudeToDB takes one maximum over a 2-D or 3-D mel input and one per leading index
    of a 4-D one: (C, L) audio shares one floor, (B, C, L) one per B."""
    mk = dict(n_fft=400, hop_length=160, n_mels=40)
    a, b = speech("flite_awb.wav", seconds=1.0), speech("flite_slt.wav", seconds=1.0)
    # very different levels make the floor matter
    two = np.stack([a, 1e-4 * b])
    three = np.stack([two, two[::-1] * 3]).astype(np.float32)
    m = torchaudio.transforms.MFCC(n_mfcc=13, melkwargs=mk)
    for x in (two, three):
        ref = m(torch.from_numpy(np.ascontiguousarray(x))).numpy()
        assert_close(F.mfcc(x, n_mfcc=13, melkwargs=mk), ref, 1e-7, f"mfcc {x.shape}")


@pytest.mark.parametrize("kw", [dict(), dict(n_mfcc=13, lifter=22, n_fft=512, hop_length=160, n_mels=40, fmax=8000.0),
                                dict(n_mfcc=20, norm=None, htk=True, pad_mode="reflect", n_mels=64)])
def test_librosa_mfcc(path, librosa, kw):
    x = speech("codec2_speech_16k.wav")
    ref = librosa.feature.mfcc(y=x, sr=16000, **kw)
    out = F.librosa_mfcc(x, sr=16000, **kw)
    assert out.shape == ref.shape
    assert_close(out, ref, 1e-7, f"librosa mfcc {kw}")


def test_librosa_mfcc_batch_shares_one_floor(path, librosa):
    x = np.stack([speech("flite_rms.wav", seconds=1.0), 1e-4 * noise(16000)])
    ref = librosa.feature.mfcc(y=x, sr=16000, n_mfcc=13)
    assert_close(F.librosa_mfcc(x, sr=16000, n_mfcc=13), ref, 1e-7, "librosa mfcc batch")


# ---- Kaldi fbank ---------------------------------------------------------------------------

KALDI_OPTS = [
    dict(),
    dict(num_mel_bins=80),
    dict(num_mel_bins=128),
    dict(num_mel_bins=80, snip_edges=False),
    dict(use_energy=True),
    dict(use_energy=True, htk_compat=True, raw_energy=False),
    dict(frame_length=20.0, frame_shift=5.0, num_mel_bins=40),
    dict(window_type="hamming"), dict(window_type="hanning"), dict(window_type="rectangular"),
    dict(window_type="blackman"),
    dict(round_to_power_of_two=False, use_power=False, num_mel_bins=40),
    dict(subtract_mean=True, low_freq=64.0, high_freq=-400.0, preemphasis_coefficient=0.0),
    dict(remove_dc_offset=False, use_log_fbank=False, energy_floor=0.0, use_energy=True),
    dict(sample_frequency=8000.0, num_mel_bins=40, snip_edges=False, frame_shift=12.5),
]


@pytest.mark.parametrize("i", range(len(KALDI_OPTS)))
def test_kaldi_fbank(path, torch, torchaudio, i):
    opts = KALDI_OPTS[i]
    sr = int(opts.get("sample_frequency", 16000))
    for x in (speech("codec2_speech_16k.wav", sr, 2.0), noise(sr + 77, seed=11)):
        tx = torch.from_numpy(x.copy())[None]
        ref32 = torchaudio.compliance.kaldi.fbank(tx, **opts).numpy()
        ref64 = torchaudio.compliance.kaldi.fbank(tx.double(), **opts).numpy()
        out = F.kaldi_fbank(x[None], **opts)
        assert out.shape == ref32.shape
        # torchaudio computes in the input dtype: against its float32 run the agreement is
        # bounded by that run's own rounding (observed <= 1e-12), against float64 closer
        assert_close(out, ref32, 1e-7, f"kaldi {opts} vs float32 torchaudio")
        assert_close(out, ref64, 1e-7, f"kaldi {opts} vs float64 torchaudio")


def test_kaldi_fbank_channels_and_min_duration(torch, torchaudio):
    x = np.stack([noise(8000, seed=1), noise(8000, seed=2)])
    ref = torchaudio.compliance.kaldi.fbank(torch.from_numpy(x), channel=1).numpy()
    assert_close(F.kaldi_fbank(x, channel=1), ref, 1e-7)
    assert F.kaldi_fbank(x[0], min_duration=1.0).shape == (0,)


# ---- waveform normalisation ----------------------------------------------------------------

def zmuv_ref(values, attention_mask=None, padding_value=0.0):
    """transformers Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm, from its facts: per item
    (x - mean) / sqrt(var + 1e-7) over the first attention_mask.sum() samples, padding after"""
    out = []
    if attention_mask is not None:
        for v, n in zip(values, np.asarray(attention_mask, np.int32).sum(-1)):
            s = (v - v[:n].mean()) / np.sqrt(v[:n].var() + 1e-7)
            s[n:] = padding_value
            out.append(s)
    else:
        out = [(x - x.mean()) / np.sqrt(x.var() + 1e-7) for x in values]
    return out


def test_zero_mean_unit_var_norm(path):
    a, b = speech("flite_awb.wav", seconds=1.0), speech("flite_slt.wav", seconds=0.6)
    out = F.zero_mean_unit_var_norm([a, b])
    for o, r in zip(out, zmuv_ref([a.astype(np.float64), b.astype(np.float64)])):
        assert_close(o, r, 1e-12)
    batch = np.zeros((2, len(a)), np.float32)
    batch[0], batch[1, : len(b)] = a, b
    mask = np.zeros((2, len(a)), np.int64)
    mask[0], mask[1, : len(b)] = 1, 1
    ref = zmuv_ref(batch.astype(np.float64), mask, padding_value=-1.0)
    out = F.zero_mean_unit_var_norm(batch, mask, padding_value=-1.0)
    assert_close(out, np.stack(ref), 1e-12)
    assert_close(F.zero_mean_unit_var_norm(batch, lengths=[len(a), len(b)], padding_value=-1.0), np.stack(ref), 1e-12)
    # float32 statistics as the reference computes them differ by float32 rounding only
    assert_close(out, np.stack(zmuv_ref(batch, mask, padding_value=-1.0)), 1e-10)


# ---- bad input -------------------------------------------------------------------------------

def test_bad_input_raises_and_recovers():
    x = noise(16000)
    huge = np.broadcast_to(np.zeros(1, np.float32), (1 << 40,))
    cases = [
        (lambda: F.whisper_log_mel(np.zeros(0, np.float32)), ValueError, "empty"),
        (lambda: F.whisper_log_mel(np.zeros(150, np.float32)), ValueError, "200"),
        (lambda: F.whisper_log_mel(x, n_mels=64), ValueError, "80 or 128"),
        (lambda: F.whisper_log_mel(x.astype(np.int16)), TypeError, "audio"),
        (lambda: F.whisper_log_mel(np.float32(1.0)), ValueError, None),
        (lambda: F.whisper_log_mel(np.where(np.arange(16000) == 7, np.nan, x).astype(np.float32)), ValueError, "NaN"),
        (lambda: F.whisper_log_mel(np.where(np.arange(16000) == 7, np.inf, x).astype(np.float32)), ValueError, "Inf"),
        (lambda: F.whisper_log_mel(huge), MemoryError, None),
        (lambda: F.hifigan_mel(x, 1024, 80, 0, 256, 1024, 0, 8000), ValueError, "sample rate"),
        (lambda: F.hifigan_mel(x, 1024, 80, 22050, 256, 1024, 0, 12000), ValueError, "Nyquist"),
        (lambda: F.hifigan_mel(x[:300], 1024, 80, 22050, 256, 1024, 0, 8000), ValueError, "reflect"),
        (lambda: F.hifigan_mel(x[:500], 1024, 80, 22050, 1000, 1024, 0, 8000), ValueError, "fewer than n_fft"),
        (lambda: F.hifigan_mel(x, 1024, 80, 22050, 0, 1024, 0, 8000), ValueError, "hop"),
        (lambda: F.hifigan_mel(x, 1024, 80, 22050, 256, 2048, 0, 8000), ValueError, "win_length"),
        (lambda: F.vocos_mel(x, padding="valid"), ValueError, "padding"),
        (lambda: F.vocos_mel(x[:300]), ValueError, "reflect"),
        (lambda: F.melspectrogram(x, pad_mode="wrap"), ValueError, "pad_mode"),
        (lambda: F.melspectrogram(x, window_fn="kaiser"), ValueError, "window"),
        (lambda: F.melspectrogram(x, power=-1.0), ValueError, "power"),
        (lambda: F.melspectrogram(x, sample_rate=-1), ValueError, "sample rate"),
        (lambda: F.mfcc(x, n_mfcc=200), ValueError, "MFCC"),
        (lambda: F.mfcc(x, dct_type=3), ValueError, "DCT"),
        (lambda: F.mfcc(x, melkwargs=dict(nfft=3)), TypeError, "melkwargs"),
        (lambda: F.librosa_mfcc(x, lifter=-1), ValueError, "lifter"),
        (lambda: F.kaldi_fbank(x[:100]), ValueError, "shorter than one frame"),
        (lambda: F.kaldi_fbank(x, dither=1.0), ValueError, "dither"),
        (lambda: F.kaldi_fbank(x, num_mel_bins=3), ValueError, "num_mel_bins"),
        (lambda: F.kaldi_fbank(x, sample_frequency=0), ValueError, "sample_frequency"),
        (lambda: F.kaldi_fbank(x, high_freq=9000.0), ValueError, "high_freq"),
        (lambda: F.kaldi_fbank(x, window_type="kaiser"), ValueError, "window"),
        (lambda: F.kaldi_fbank(x, frame_shift=0.01), ValueError, "shift"),
        (lambda: F.kaldi_fbank(x, round_to_power_of_two=False, frame_length=25.0625), ValueError, "even"),
        (lambda: F.kaldi_fbank(np.full(1000, np.nan, np.float32)), ValueError, "NaN"),
        (lambda: F.kaldi_fbank(np.zeros((2, 2, 100), np.float32)), ValueError, "shape"),
        (lambda: F.kaldi_fbank(huge), MemoryError, None),
        (lambda: F.zero_mean_unit_var_norm(np.zeros((2, 0), np.float32)), ValueError, "empty"),
        (lambda: F.zero_mean_unit_var_norm(np.zeros((2, 5), np.float32), lengths=[3, 9]), ValueError, "lengths"),
        (lambda: F.zero_mean_unit_var_norm(np.zeros((2, 5), np.float32), lengths=[3]), ValueError, "lengths"),
    ]
    for fn, exc, match in cases:
        with pytest.raises(exc, match=match):
            fn()
        assert F.whisper_log_mel(x).shape == (80, 100)
    assert F.kaldi_fbank(x).shape == (98, 23)


def test_too_many_mels_warn_like_the_references(librosa):
    x = noise(8000)
    with pytest.warns(UserWarning, match="empty filters"):
        out = F.hifigan_mel(x, 256, 128, 22050, 64, 256, 0, 8000)
    assert np.isfinite(out).all()
    with pytest.warns(UserWarning, match="all zero"):
        F.melspectrogram(x, n_fft=64, n_mels=64)


def test_threads_agree_and_gil_released():
    x = noise(16000 * 4, seed=9)
    n = slm.get_num_threads()
    try:
        slm.set_num_threads(1)
        one = F.whisper_log_mel(x)
        k1 = F.kaldi_fbank(x)
        slm.set_num_threads(2)
        two = F.whisper_log_mel(x)
        k2 = F.kaldi_fbank(x)
    finally:
        slm.set_num_threads(n)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(k1, k2)
    results = [None] * 4

    def work(i):
        results[i] = F.mfcc(x, n_mfcc=13, melkwargs=dict(n_mels=40))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
