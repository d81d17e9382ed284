"""The embedded default tokenizer: the shipped file is what the training script makes,
units and resynthesis on real speech, the mel distance measure, bad input."""
import numpy as np
import pytest

import slm
from conftest import SPEECH, load_speech
from slm.tokenizers import default, logmel_distance_db
from slm.tokenizers._default import DEMO_PATH


def test_shipped_centres_are_reproduced_by_the_training_script():
    from slm.tokenizers._train_default import train
    shipped = default().kmeans.cluster_centers_
    again = train(str(SPEECH)).kmeans.cluster_centers_
    assert shipped.shape == (100, 80)
    np.testing.assert_allclose(again, shipped, rtol=0, atol=1e-4)


def test_units_and_resynthesis_on_real_speech():
    tok = default()
    x, sr = load_speech("flite_kal.wav")
    audio = slm.audio.Audio(x, sr)  # 8 kHz: resampled to 16 kHz by the tokenizer
    u = tok.encode(audio)
    assert u.frame_rate == 50.0 and u.vocab_size == 100
    n16 = round(len(x) * 16000 / sr)
    assert u.num_frames == 1 + n16 // 320
    assert (np.diff(u.units) != 0).all()
    y = tok.decode(u)
    assert y.sample_rate == 16000 and abs(y.num_samples - u.num_frames * 320) <= 320
    assert np.isfinite(y.samples).all() and np.abs(y.samples).max() <= 0.99 + 1e-6
    # the resynthesis is closer to its input than to other speech or to silence-like noise
    x16 = slm.audio.resample(x, sr, 16000)
    d_self = logmel_distance_db(x16, y, tok)
    other, sr2 = load_speech("flite_awb.wav")
    d_other = logmel_distance_db(slm.audio.resample(other, sr2, 16000), y, tok)
    assert d_self < d_other, (d_self, d_other)
    # decoding a unit sequence of one repeated unit gives that centroid's spectrum
    flat = tok.decode(np.full(40, 7))
    f = tok.features(flat)[5:-5]
    assert np.abs(f.mean(0) - tok.kmeans.cluster_centers_[7]).mean() < 3.0


def test_demo_clip_ships():
    a = slm.audio.load(DEMO_PATH)
    assert a.sample_rate == 16000 and 5.0 < a.num_samples / 16000 < 12.0


def test_bad_input(tmp_path):
    tok = default()
    with pytest.raises(ValueError, match=r"in \[0, 100\)"):
        tok.decode(np.array([0, 100]))
    with pytest.raises(ValueError, match="non-empty"):
        tok.decode(np.array([], np.int64))
    with pytest.raises(ValueError):
        tok.encode(np.zeros(0, np.float32))
    with pytest.raises(TypeError):
        tok.encode(np.zeros(100, np.int32))
    p = tmp_path / "x.safetensors"
    slm.io.save_safetensors(p, {"cluster_centers": np.zeros((3, 80), np.float32)})
    with pytest.raises(ValueError, match="format"):
        slm.tokenizers.LogMelUnitTokenizer.load(p)
    x, sr = load_speech("flite_slt.wav")
    assert len(tok.encode(slm.audio.resample(x, sr, 16000))) > 0  # still usable
