"""STFT / spectrogram / iSTFT vs torch.stft / torch.istft (float64 references) on real
speech and random input, every pad mode, centred or not, on every kernel path."""
import numpy as np
import pytest

import slm
from slm.features import istft, spectrogram, stft, window

from conftest import assert_close, load_speech, nmse


CASES = [(400, 160, 400), (512, 128, 400), (1024, 256, 1024), (2048, 512, 2048), (401, 100, 301),
         (255, 64, 255), (400, 150, 400)]  # last: hop does not divide n_fft


@pytest.fixture(scope="module")
def speech():
    x, sr = load_speech("codec2_speech_16k.wav")
    return x[:24000].copy()


@pytest.mark.parametrize("n_fft,hop,wl", CASES)
def test_stft_vs_torch(path, torch, speech, rng, n_fft, hop, wl):
    x = np.stack([speech[:16000], rng.standard_normal(16000).astype(np.float32)])
    for center in (True, False):
        w = window("hann" if center else "hamming", wl)
        pads = ("reflect", "constant", "replicate", "circular") if center else ("reflect",)
        for pad in pads:
            ref = torch.stft(torch.from_numpy(x).double(), n_fft, hop, wl, torch.from_numpy(w).double(),
                             center=center, pad_mode=pad, return_complex=True).numpy()
            out = stft(x, n_fft, hop, wl, w, center=center, pad_mode=pad)
            assert out.dtype == np.complex64 and out.shape == ref.shape
            assert_close(out, ref, 1e-7, f"stft {n_fft} {center} {pad}")
            assert_close(spectrogram(x, n_fft, hop, wl, w, center=center, pad_mode=pad), np.abs(ref) ** 2, 1e-7,
                         "power")
            assert_close(spectrogram(x, n_fft, hop, wl, w, center=center, pad_mode=pad, power=1.0), np.abs(ref),
                         1e-7, "magnitude")
        # iSTFT of the torch spectrum, at the natural length (see docs: beyond it the
        # envelope gets tiny and divides float32 rounding up, in torch's float32 too)
        if not center and wl < n_fft:
            # the zero-padded window leaves a zero envelope at the ends: both reject (NOLA)
            with pytest.raises(RuntimeError):
                torch.istft(torch.from_numpy(ref), n_fft, hop, wl, torch.from_numpy(w).double(), center=center)
            with pytest.raises(ValueError, match="NOLA"):
                istft(ref.astype(np.complex64), n_fft, hop, wl, w, center=center)
            continue
        yref = torch.istft(torch.from_numpy(ref), n_fft, hop, wl, torch.from_numpy(w).double(), center=center).numpy()
        y = istft(ref.astype(np.complex64), n_fft, hop, wl, w, center=center)
        assert_close(y, yref, 1e-7, f"istft {n_fft} {center}")


def test_stft_options(path, torch, speech):
    x = speech[:8000]
    tx = torch.from_numpy(x).double()
    # window None (ones) with win_length < n_fft, default hop, normalized, two-sided
    ref = torch.stft(tx, 512, win_length=300, normalized=True, onesided=False, return_complex=True).numpy()
    assert_close(stft(x, 512, win_length=300, normalized=True, onesided=False), ref, 1e-7, "options")
    ref = torch.stft(tx, 400, 160, return_complex=True).numpy()
    assert_close(stft(x, 400, 160, return_complex=False), np.stack([ref.real, ref.imag], -1), 1e-7)
    w = window("hann", 400)
    X = torch.stft(tx, 400, 100, window=torch.from_numpy(w).double(), normalized=True, return_complex=True)
    yref = torch.istft(X, 400, 100, window=torch.from_numpy(w).double(), normalized=True, length=7000).numpy()
    assert_close(istft(X.numpy(), 400, 100, window=w, normalized=True, length=7000), yref, 1e-7)
    # round trip and batch (..., time)
    xb = np.stack([x, x[::-1].copy()]).reshape(1, 2, -1)
    S = stft(xb, 512, 128, window=window("hann", 512))
    assert S.shape == (1, 2, 257, 1 + 8000 // 128)
    assert_close(istft(S, 512, 128, window=window("hann", 512), length=8000), xb, 1e-10, "round trip")


def test_nan_inf_propagate(path):
    x = np.zeros(4000, np.float32)
    x[2000] = np.nan
    S = spectrogram(x, 400, 160, window=window("hann", 400))
    bad = ~np.isfinite(S).all(axis=0)
    assert bad[2000 // 160] and not bad[0] and not bad[-1]


def test_bad_input(torch):
    x = np.zeros(1000, np.float32)
    with pytest.raises(ValueError):
        stft(x, 0)
    with pytest.raises(ValueError):
        stft(x, 400, hop_length=0)
    with pytest.raises(ValueError):
        stft(x, 2000, center=False)  # n_fft > length
    with pytest.raises(ValueError):
        stft(x[:100], 400)  # reflect pad 200 >= length 100 (torch errors too)
    with pytest.raises(ValueError):
        stft(x, 400, window=np.ones(300, np.float32))  # win_length (default n_fft) mismatch
    with pytest.raises(ValueError):
        stft(x, 400, win_length=500)
    with pytest.raises(ValueError):
        stft(x, 400, pad_mode="wrap")
    with pytest.raises(TypeError):
        stft(x.astype(np.complex64), 400)
    with pytest.raises(TypeError):
        stft(x, 400, window=np.ones(400, np.complex64))
    with pytest.raises(ValueError):
        stft(np.zeros((2, 0), np.float32), 4)
    with pytest.raises(MemoryError):
        stft(np.broadcast_to(np.zeros(1, np.float32), (2**20, 2**30)), 400)
    with pytest.raises(ValueError):
        spectrogram(x, 400, power=-1)
    X = stft(x, 400, 100)
    with pytest.raises(ValueError):
        istft(X, 512, 100)  # bins do not match n_fft
    with pytest.raises(ValueError):
        istft(X, 400, 0)
    with pytest.raises(TypeError):
        istft(np.zeros((201, 5), np.int32), 400)
    # NOLA: a hann window with hop = n_fft leaves zeros in the envelope (torch raises too)
    w = window("hann", 400)
    with pytest.raises(ValueError, match="NOLA"):
        istft(stft(x, 400, 400, window=w), 400, 400, window=w)
    with pytest.raises(RuntimeError):
        torch.istft(torch.from_numpy(stft(x, 400, 400, window=w)), 400, 400, window=torch.from_numpy(w))
    # still works
    assert stft(x, 400, 100).shape == (201, 11)
