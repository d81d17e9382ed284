"""Shared test helpers: kernel paths to run on, the NMSE measure, the torch oracle.

Kernel tests take the ``path`` fixture: it runs the test once per kernel path this
machine can run (ref, avx2, avx512, dnnl), forcing it with slm.set_backend and restoring
'auto' afterwards. A path the machine cannot run is skipped with the reason, so the
skip list of a run says what was not exercised.
"""
import os
import pathlib
import sys
import wave

import numpy as np
import pytest

import slm

# torchaudio is a reference for the DSP tests. No torchaudio release matches torch 2.13,
# so the test set-up installs torchaudio 2.9.1 with --no-deps. Its compiled extension is
# built against torch 2.9 and cannot load here; the parts the tests compare against
# (functional.resample, compliance.kaldi, transforms, functional.griffinlim) are plain
# PyTorch code that does not use it, so the extension is marked absent before any import.
sys.modules.setdefault("torchaudio.lib._torchaudio", None)

DATA = pathlib.Path(__file__).parent / "data"
SPEECH = DATA / "speech"  # made by tests/data/make_fixtures.sh; texts in transcripts.tsv

ALL_PATHS = ("ref", "avx2", "avx512", "dnnl")
FAST = os.environ.get("SLM_TEST_FAST") == "1"  # smaller sweeps (sanitizer runs)


def nmse(a, b):
    """Normalised MSE: sum(|a-b|^2) / sum(|b|^2), in float64. 0 when both are all zero.
    Complex arrays count both parts (a plain float64 cast would drop the imaginary one)."""
    a, b = np.asarray(a), np.asarray(b)
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        a = np.stack([a.real, a.imag], axis=-1) if np.iscomplexobj(a) else np.stack([a, np.zeros_like(a)], -1)
        b = np.stack([b.real, b.imag], axis=-1) if np.iscomplexobj(b) else np.stack([b, np.zeros_like(b)], -1)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} != reference {b.shape}"
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN positions differ"
    m = ~np.isnan(b)
    a, b = a[m], b[m]
    num = float(np.sum((a - b) ** 2))
    den = float(np.sum(b ** 2))
    if den == 0.0:
        return num
    return num / den


def assert_close(out, ref, bound=1e-7, what="output"):
    """NMSE of out against ref within bound; prints max abs diff on failure."""
    ref = np.asarray(ref)
    err = nmse(out, ref)
    wide = np.complex128 if np.iscomplexobj(out) or np.iscomplexobj(ref) else np.float64
    maxdiff = float(np.nanmax(np.abs(np.asarray(out, wide) - ref))) if ref.size else 0.0
    assert err <= bound, f"{what}: nmse {err:.3e} > {bound:.0e} (max diff {maxdiff:.3e})"


def available_paths():
    return [p for p in ALL_PATHS if slm.backend_info().available[p]]


@pytest.fixture(params=ALL_PATHS)
def path(request):
    p = request.param
    info = slm.backend_info()
    if not info.available[p]:
        why = "not in this build" if not info.built[p] else f"this CPU lacks it (cpu: {info.cpu})"
        pytest.skip(f"path {p}: {why}")
    slm.set_backend(p)
    try:
        yield p
    finally:
        slm.set_backend("auto")


@pytest.fixture(scope="session")
def torch():
    t = pytest.importorskip("torch")
    t.set_num_threads(max(1, slm.get_num_threads()))
    return t


@pytest.fixture(scope="session")
def torchaudio(torch):
    return pytest.importorskip("torchaudio")


@pytest.fixture(scope="session")
def librosa():
    return pytest.importorskip("librosa")


def load_speech(name):
    """A committed 16-bit PCM speech fixture as (float32 samples in [-1, 1), rate),
    read with the standard library's wave module (independent of slm.audio)."""
    with wave.open(str(SPEECH / name), "rb") as w:
        assert w.getsampwidth() == 2, f"{name}: not 16-bit PCM"
        raw = w.readframes(w.getnframes())
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        if w.getnchannels() > 1:
            x = x.reshape(-1, w.getnchannels()).T
        return x, w.getframerate()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def noncontig(x):
    """The same values as x, as a non-contiguous view (every other element of a
    doubled last axis)."""
    x = np.asarray(x)
    big = np.empty(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype) if x.ndim else np.empty(2, x.dtype)
    if x.ndim == 0:
        return x
    big[..., ::2] = x
    v = big[..., ::2]
    assert not v.flags.c_contiguous or x.shape[-1] <= 1
    return v
