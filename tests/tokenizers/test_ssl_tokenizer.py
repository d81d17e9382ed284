"""SSLUnitTokenizer: units from a real encoder's layer (slm.load of a transformers HuBERT
and an openai-whisper checkpoint with random weights), equal to k-means over the
encoder's own features; batching, deduplication, Units helpers, bad input."""
import math

import numpy as np
import pytest

import slm
from conftest import load_speech
from slm.tokenizers import KMeans, SSLUnitTokenizer, Units

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def hubert_dir(tmp_path_factory, torch):
    cfg = transformers.HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                    intermediate_size=48, conv_dim=(16, 16, 24), conv_kernel=(10, 4, 4),
                                    conv_stride=(5, 4, 4), num_conv_pos_embeddings=16,
                                    num_conv_pos_embedding_groups=4)
    torch.manual_seed(0)
    model = transformers.HubertModel(cfg).eval()
    d = tmp_path_factory.mktemp("hubert")
    model.save_pretrained(d)
    return d, model


def clips():
    from slm.audio import resample
    a, _ = load_speech("codec2_speech_16k.wav")
    b, sr = load_speech("flite_slt.wav")
    return [a[:24000], resample(b, sr, 16000)[:15000]]


def test_units_equal_kmeans_of_the_encoder_features(torch, hubert_dir, tmp_path):
    d, model = hubert_dir
    enc = slm.load(d)
    feats = [enc(c, layers=[1]).hidden_states[1][0] for c in clips()]
    km = KMeans(n_clusters=12, random_state=0).fit(np.concatenate(feats))
    km.save(tmp_path / "km.npy")
    tok = SSLUnitTokenizer.from_pretrained(d, tmp_path / "km.npy", layer=1, dedup=False)
    assert tok.vocab_size == 12 and tok.layer == 1
    # one at a time and as a batch: the same units, equal to predict on the features (the
    # group-norm front end is not padding invariant: the batch runs item by item)
    assert not enc.padding_invariant
    batch = tok.encode_batch(clips(), return_features=True)
    for c, f, u in zip(clips(), feats, batch):
        one = tok.encode(c)
        assert np.array_equal(one.units, km.predict(f))
        assert np.array_equal(u.units, one.units)
        assert u.features.shape == f.shape
    # against transformers' own layer-1 features of a single clip (no padding)
    with torch.no_grad():
        ref = model(torch.from_numpy(clips()[0])[None], output_hidden_states=True).hidden_states[1][0].numpy()
    lab, dist = km.predict_with_distances(ref)
    got = tok.encode(clips()[0]).units
    mism = np.flatnonzero(got != lab)
    for i in mism:  # only proven ties may differ
        dd = np.sort(((ref[i] - km.cluster_centers_) ** 2).sum(1))
        assert dd[1] - dd[0] <= 1e-5 * dd[1], f"frame {i} differs and is not a tie"


def test_dedup_units_and_helpers(hubert_dir, tmp_path):
    d, _ = hubert_dir
    enc = slm.load(d)
    rng = np.random.default_rng(0)
    km = KMeans.from_centers(rng.standard_normal((6, 32)).astype(np.float32))
    tok = SSLUnitTokenizer(enc, 2, km)
    u = tok.encode(clips()[0])
    full = SSLUnitTokenizer(enc, 2, km, dedup=False).encode(clips()[0])
    assert np.array_equal(u.expand(), full.units)
    assert (np.diff(u.units) != 0).all() and u.durations.min() >= 1
    assert u.num_frames == full.num_frames == enc.frames(24000)
    assert u.frame_rate == 200.0 and math.isclose(u.seconds, u.num_frames / 200.0)
    assert math.isclose(u.bitrate(), u.units_per_second * math.log2(6))
    assert len(u) < len(full)


def test_whisper_encoder_as_tokenizer_encoder(torch, tmp_path):
    whisper = pytest.importorskip("whisper")
    dims = whisper.model.ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=32, n_audio_head=2,
                                         n_audio_layer=1, n_vocab=50, n_text_ctx=8, n_text_state=32,
                                         n_text_head=2, n_text_layer=1)
    torch.manual_seed(0)
    m = whisper.model.Whisper(dims)
    torch.save({"dims": dims.__dict__, "model_state_dict": m.state_dict()}, tmp_path / "w.pt")
    rng = np.random.default_rng(1)
    np.save(tmp_path / "km.npy", rng.standard_normal((5, 32)).astype(np.float32))
    tok = SSLUnitTokenizer.from_pretrained(tmp_path / "w.pt", tmp_path / "km.npy", layer=1, dedup=False)
    u = tok.encode(clips()[1])
    assert u.num_frames == -(-15000 // 320)  # frames covering the audio, not the 30 s window
    assert u.units.max() < 5


def test_bad_input(hubert_dir, tmp_path):
    d, _ = hubert_dir
    enc = slm.load(d)
    km = KMeans.from_centers(np.zeros((4, 32), np.float32))
    with pytest.raises(ValueError, match="hidden size"):
        SSLUnitTokenizer(enc, 1, KMeans.from_centers(np.zeros((4, 31), np.float32)))
    with pytest.raises(ValueError, match="layer"):
        SSLUnitTokenizer(enc, 3, km)
    with pytest.raises(TypeError, match="speech encoder"):
        SSLUnitTokenizer(object(), 1, km)
    tok = SSLUnitTokenizer(enc, 1, km)
    with pytest.raises(ValueError, match="empty"):
        tok.encode(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        tok.encode(np.full(4000, np.nan, np.float32))
    with pytest.raises(TypeError):
        tok.encode(np.zeros(4000, np.int16))
    with pytest.raises(OSError):
        tok.encode(str(tmp_path / "missing.wav"))
    with pytest.raises(ValueError, match="too short"):
        tok.encode(np.zeros(10, np.float32))
    assert len(tok.encode(clips()[0])) >= 1
    with pytest.raises(ValueError, match="vocab_size"):
        Units(np.zeros(3, np.int64), None, 50.0).bitrate()
