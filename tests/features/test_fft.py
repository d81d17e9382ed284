"""FFT for any length vs numpy.fft (float64 reference) on every kernel path, and the
error cases of rfft/irfft/fft/ifft/window."""
import numpy as np
import pytest

import slm
from slm.features import fft, ifft, irfft, rfft, window

from conftest import assert_close, load_speech, nmse


# powers of two, the front ends' lengths (Whisper 400, 320/480 at 20/30 ms), radix 3/5/7
# mixes, primes up to SLM_FFT_MAX_RADIX (generic pass) and above it (Bluestein)
LENGTHS = [1, 2, 3, 4, 5, 6, 8, 12, 15, 16, 30, 49, 59, 61, 67, 127, 210, 320, 400, 401, 480,
           512, 997, 1000, 1024, 2048, 2 * 3 * 5 * 7 * 11]


@pytest.mark.parametrize("n", LENGTHS)
def test_rfft_irfft_random(path, rng, n):
    x = rng.standard_normal((19, n)).astype(np.float32)  # 19 rows: full and partial lane groups
    X = np.fft.rfft(x.astype(np.float64))
    assert_close(rfft(x), X, 1e-7, f"rfft n={n}")
    assert rfft(x).dtype == np.complex64
    assert_close(irfft(X.astype(np.complex64), n), np.fft.irfft(X, n), 1e-7, f"irfft n={n}")


@pytest.mark.parametrize("n", [1, 7, 16, 400, 401, 1024])
def test_complex_fft(path, rng, n):
    z = (rng.standard_normal((5, n)) + 1j * rng.standard_normal((5, n))).astype(np.complex64)
    assert_close(fft(z), np.fft.fft(z.astype(np.complex128)), 1e-7, "fft")
    assert_close(ifft(z), np.fft.ifft(z.astype(np.complex128)), 1e-7, "ifft")


def test_accuracy_is_float_rounding_only(path, rng):
    # twiddles in double: the error is that of float32 arithmetic, far below 1e-7
    x = rng.standard_normal((8, 4096)).astype(np.float32)
    assert nmse(rfft(x), np.fft.rfft(x.astype(np.float64))) < 1e-12
    assert nmse(rfft(x[:, :4093]), np.fft.rfft(x[:, :4093].astype(np.float64))) < 1e-12  # Bluestein


def test_speech_and_torch(path, torch):
    x, _ = load_speech("codec2_speech_16k.wav")
    fr = x[: 400 * 40].reshape(40, 400)
    assert_close(rfft(fr), torch.fft.rfft(torch.from_numpy(fr).double()).numpy(), 1e-7, "rfft speech")
    assert_close(rfft(fr, n=512), np.fft.rfft(fr.astype(np.float64), 512), 1e-7, "rfft n=512 pad")
    assert_close(rfft(fr, n=300), np.fft.rfft(fr.astype(np.float64), 300), 1e-7, "rfft n=300 crop")


def test_irfft_ignores_imag_of_dc_and_nyquist(path):
    X = np.array([1 + 5j, 2 - 1j, 3 + 7j], np.complex64)
    assert_close(irfft(X), np.fft.irfft(X.astype(np.complex128)), 1e-12)
    assert_close(irfft(X, 5), np.fft.irfft(X.astype(np.complex128), 5), 1e-12)


def test_batch_shapes_and_nan(path):
    x = np.zeros((2, 3, 16), np.float32)
    assert rfft(x).shape == (2, 3, 9)
    x[0, 1, 3] = np.nan
    x[1, 2, 0] = np.inf
    X = rfft(x)
    assert np.isnan(X[0, 1]).all() and np.isfinite(X[0, 0]).all()
    assert not np.isfinite(X[1, 2]).all() and np.isfinite(X[1, 1]).all()


def test_bad_input():
    with pytest.raises(TypeError):
        rfft(np.zeros(8, np.complex64))
    with pytest.raises(TypeError):
        rfft(np.array(["a", "b"]))
    with pytest.raises(ValueError):
        rfft(np.zeros((3, 0), np.float32))
    with pytest.raises(ValueError):
        rfft(np.float32(1.0))
    with pytest.raises(ValueError):
        rfft(np.zeros(8, np.float32), n=0)
    with pytest.raises(ValueError):
        irfft(np.zeros(1, np.complex64))  # n = 0
    with pytest.raises(TypeError):
        irfft(np.zeros(5, np.int32))
    with pytest.raises(MemoryError):
        rfft(np.broadcast_to(np.zeros(1, np.float32), (2**30, 2**30)))
    with pytest.raises((MemoryError, ValueError)):
        fft(np.zeros(4, np.complex64), n=2**62)
    # still works afterwards
    assert_close(rfft(np.ones(4, np.float32)), np.array([4, 0, 0], np.complex64), 1e-20)


@pytest.mark.parametrize("name,tname", [("hann", "hann_window"), ("hamming", "hamming_window"),
                                        ("blackman", "blackman_window"), ("kaiser", "kaiser_window")])
def test_windows_vs_torch(torch, name, tname):
    for periodic in (True, False):
        for L in (1, 2, 7, 400, 512, 1024):
            ref = getattr(torch, tname)(L, periodic=periodic, dtype=torch.float64).numpy()
            out = window(name, L, periodic)
            assert out.dtype == np.float32 and out.shape == (L,)
            np.testing.assert_allclose(out, ref, rtol=0, atol=3e-7, err_msg=f"{name} {periodic} {L}")


def test_windows_vs_scipy_and_kaldi(torch):
    sig = pytest.importorskip("scipy.signal")
    for name in ("hann", "hamming", "blackman"):
        np.testing.assert_allclose(window(name, 400), sig.get_window(name, 400), atol=3e-7)
    np.testing.assert_allclose(window("kaiser", 400, beta=8.6), sig.get_window(("kaiser", 8.6), 400), atol=3e-7)
    np.testing.assert_allclose(window("rectangular", 9), np.ones(9))
    povey = torch.hann_window(400, periodic=False, dtype=torch.float64).pow(0.85).numpy()
    np.testing.assert_allclose(window("povey", 400, periodic=False), povey, atol=3e-7)
    with pytest.raises(ValueError):
        window("nope", 4)
    with pytest.raises(ValueError):
        window("hann", -1)
    with pytest.raises(TypeError):
        window("hann", 4.5)
    with pytest.raises(ValueError):
        window("kaiser", 8, beta=float("nan"))
    assert window("hann", 0).shape == (0,)


def test_threads_and_concurrent_calls(rng):
    # results do not depend on the thread count; concurrent calls (GIL released, plans
    # per call, scratch per thread) give the same answers
    import threading
    x = rng.standard_normal((300, 400)).astype(np.float32)
    n0 = slm.get_num_threads()
    try:
        slm.set_num_threads(1)
        one = rfft(x)
        slm.set_num_threads(2)
        two = rfft(x)
    finally:
        slm.set_num_threads(n0)
    assert np.array_equal(one, two)
    outs = [None] * 4

    def work(i):
        outs[i] = rfft(x)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(np.array_equal(o, one) for o in outs)
