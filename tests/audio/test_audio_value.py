"""The Audio value: numpy interop, resample, save, the Jupyter player, plot."""
import base64
import re
import sys
import types

import numpy as np
import pytest

import slm
from slm.audio import Audio
from slm.audio import _audio
from conftest import load_speech


def test_shapes_and_numpy_interop(rng):
    x = rng.uniform(-1, 1, (2, 800)).astype(np.float32)
    a = Audio(x, 8000)
    assert a.channels == 2 and len(a) == 800 and a.num_samples == 800
    assert a.duration == pytest.approx(0.1)
    assert np.asarray(a) is a.samples and np.array_equal(np.asarray(a), x)
    assert np.asarray(a, dtype=np.float64).dtype == np.float64
    assert "0.100 s, 8000 Hz, 2 channels" in repr(a)
    m = Audio(x[0].astype(np.float64), 8000.0)
    assert m.samples.dtype == np.float32 and m.channels == 1 and m.sample_rate == 8000
    assert "mono" in repr(m)
    assert np.allclose(a.to_mono().samples, x.mean(axis=0), atol=1e-7)
    assert a == Audio(x.copy(), 8000) and a != Audio(x, 16000)


def test_bad_values():
    with pytest.raises(TypeError, match="float"):
        Audio(np.zeros(10, np.int16), 16000)
    with pytest.raises(ValueError, match="shape"):
        Audio(np.zeros((1, 2, 3), np.float32), 16000)
    for sr in (0, -1, float("nan"), 44100.5):
        with pytest.raises(ValueError, match="sample_rate"):
            Audio(np.zeros(10, np.float32), sr)
    assert len(Audio(np.zeros(10, np.float32), 16000)) == 10


def test_resample_and_save(tmp_path):
    x, sr = load_speech("flite_kal.wav")
    a = Audio(x, sr)
    b = a.resample(16000)
    assert b.sample_rate == 16000 and np.array_equal(b.samples, slm.audio.resample(x, sr, 16000))
    assert a.resample(sr) == a
    b.save(tmp_path / "b.wav", subtype="FLOAT")
    assert slm.audio.load(tmp_path / "b.wav") == b


def _player_audio(html):
    m = re.search(r'src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"', html)
    assert m and "<audio" in html
    return slm.audio.load(base64.b64decode(m.group(1)), mono=False)


def test_repr_html_plays_the_samples():
    x, sr = load_speech("flite_slt.wav")
    a = Audio(x, sr)
    p = _player_audio(a._repr_html_())
    assert p.sample_rate == sr and p.samples.shape == (1, len(x))
    assert np.max(np.abs(p.samples[0] - x)) <= 1 / 32768  # PCM_16 in the page
    st = Audio(np.stack([x, -x]), sr)
    assert _player_audio(st._repr_html_()).samples.shape == (2, len(x))


def test_repr_html_caps_long_and_wide_audio(monkeypatch):
    monkeypatch.setattr(_audio, "REPR_MAX_SECONDS", 0.5)
    a = Audio(np.zeros((6, 16000 * 3), np.float32) + 0.1, 16000)  # 3 s, 6 channels
    html = a._repr_html_()
    p = _player_audio(html)
    assert p.samples.shape == (1, 8000)  # first 0.5 s, mixed to mono
    assert "first 0.5 s" in html and "mono" in html
    assert "<audio" not in Audio(np.zeros(0, np.float32), 16000)._repr_html_()
    bad = np.zeros(100, np.float32)
    bad[5] = np.nan
    assert _player_audio(Audio(bad, 8000)._repr_html_()).samples.shape == (1, 100)


def test_plot_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        Audio(np.zeros(100, np.float32), 8000).plot()


class _Rec:
    """Stands in for a matplotlib Axes/Figure: records calls."""

    def __init__(self, log, name):
        self.log, self.name, self.figure = log, name, "fig"

    def __getattr__(self, attr):
        return lambda *a, **k: self.log.append((self.name, attr, a, k))


def test_plot_draws_waveform_and_spectrogram(monkeypatch):
    log = []
    axes = [_Rec(log, "wave"), _Rec(log, "spec")]
    plt = types.SimpleNamespace(subplots=lambda *a, **k: ("fig", axes))
    mpl = types.ModuleType("matplotlib")
    mpl.pyplot = plt
    monkeypatch.setitem(sys.modules, "matplotlib", mpl)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", plt)
    x = np.sin(np.arange(4000) * 0.1).astype(np.float32)
    assert Audio(np.stack([x, x]), 8000).plot() == "fig"
    calls = [(n, f) for n, f, _, _ in log]
    assert calls.count(("wave", "plot")) == 2 and ("spec", "specgram") in calls
    spec = next(a for n, f, a, k in log if f == "specgram")
    assert np.allclose(spec[0], x, atol=1e-6)
