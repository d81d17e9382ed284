"""wav2vec2 / HuBERT / WavLM encoders against transformers: random weights (every
parameter drawn, norms and gates included) in small configurations that keep each
structural option of the released models (group-norm front end + post-norm layers as in
the base models; layer-norm front end + pre-norm "stable" layers as in the large ones;
conv bias both ways; WavLM's gated relative position bias), saved in the real formats
(HF safetensors with parametrized weight norm, HF .bin with weight_g/weight_v, fairseq /
unilm checkpoints), loaded with slm.load, run on a batch of real speech of different
lengths; every hidden state compared at the valid frames, on every kernel path."""
import numpy as np
import pytest

import slm
from conftest import assert_close, load_speech

transformers = pytest.importorskip("transformers")

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
             conv_dim=(16, 16, 24), conv_kernel=(10, 4, 4), conv_stride=(5, 4, 4),
             num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5)
BASE = dict(feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False)
LARGE = dict(feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)
CASES = {
    "wav2vec2-base": ("Wav2Vec2", BASE),
    "wav2vec2-large": ("Wav2Vec2", LARGE),
    "hubert-base": ("Hubert", BASE),
    "hubert-large": ("Hubert", LARGE),
    "wavlm-base": ("WavLM", dict(BASE, num_buckets=32, max_bucket_distance=64)),
    "wavlm-large": ("WavLM", dict(LARGE, num_buckets=32, max_bucket_distance=64)),
}


def randomise(torch, model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan = int(np.prod(p.shape[1:])) if p.ndim > 1 else 1
            scale = 0.7 / fan ** 0.5 if p.ndim > 1 else 0.1
            base = 1.0 if p.ndim == 1 and ("norm" in name and name.endswith("weight")) else 0.0
            p.copy_(base + scale * torch.randn(p.shape, generator=g))
        for name, p in model.named_parameters():
            if "gru_rel_pos_const" in name:  # around its init of 1
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g))
            if "rel_attn_embed" in name:  # large enough that the position bias shapes attention
                p.copy_(2.0 * torch.randn(p.shape, generator=g))
    return model.eval()


def build(torch, case, seed=0):
    prefix, extra = CASES[case]
    cfg = getattr(transformers, prefix + "Config")(**SMALL, **extra)
    return randomise(torch, getattr(transformers, prefix + "Model")(cfg), seed)


def speech():
    """two real clips at 16 kHz of different lengths, as one zero-padded batch"""
    from slm.audio import resample
    a, _ = load_speech("codec2_speech_16k.wav")
    b, sr = load_speech("flite_kal.wav")
    clips = [a[8000:8000 + 16000], resample(b, sr, 16000)[:11000]]
    width = max(len(c) for c in clips)
    return np.stack([np.pad(c, (0, width - len(c))) for c in clips]), np.array([len(c) for c in clips])


def reference(torch, model, wav, lens):
    mask = torch.from_numpy((np.arange(wav.shape[1])[None] < lens[:, None]).astype(np.int64))
    with torch.no_grad():
        o = model(torch.from_numpy(wav), attention_mask=mask, output_hidden_states=True)
    flen = model._get_feat_extract_output_lengths(torch.from_numpy(lens)).numpy()
    return [h.numpy() for h in o.hidden_states], o.last_hidden_state.numpy(), flen


def compare(out, hs, last, flen):
    assert list(out.lengths) == list(flen)
    for i, r in enumerate(hs):
        for b, n in enumerate(flen):
            assert_close(out.hidden_states[i][b, :n], r[b, :n], 1e-6, f"hidden state {i}, item {b}")
    for b, n in enumerate(flen):
        assert_close(out.last_hidden_state[b, :n], last[b, :n], 1e-6, f"last_hidden_state item {b}")


@pytest.mark.parametrize("case", list(CASES))
def test_hf_parity_every_layer(torch, path, tmp_path, case):
    model = build(torch, case)
    model.save_pretrained(tmp_path)
    enc = slm.load(tmp_path)
    assert isinstance(enc, slm.models.ssl.SSLEncoder) and enc.kind == case.split("-")[0]
    wav, lens = speech()
    hs, last, flen = reference(torch, model, wav, lens)
    compare(enc(wav, lengths=lens), hs, last, flen)


@pytest.mark.parametrize("case", ["hubert-base", "wavlm-large"])
def test_single_layer_request_and_unpadded(torch, tmp_path, case):
    model = build(torch, case, seed=3)
    model.save_pretrained(tmp_path)
    enc = slm.load(tmp_path)
    wav, lens = speech()
    one = wav[:1]
    with torch.no_grad():
        ref = model(torch.from_numpy(one), output_hidden_states=True).hidden_states
    out = enc(one, layers=[1])
    assert list(out.hidden_states) == [1] and out.final is None
    assert_close(out.hidden_states[1], ref[1].numpy(), 1e-6)
    assert out.hidden_states[1].shape == (1, enc.frames(one.shape[1]), enc.hidden_size)


def hf_to_weight_g_v(sd):
    out = {}
    for k, v in sd.items():
        k = k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1",
                                                                              "weight_v")
        out[k] = v
    return out


def test_hf_bin_with_weight_g_v(torch, tmp_path):
    model = build(torch, "wav2vec2-base", seed=5)
    model.config.save_pretrained(tmp_path)
    sd = hf_to_weight_g_v(model.state_dict())
    assert any(k.endswith("weight_g") for k in sd)
    torch.save(sd, tmp_path / "pytorch_model.bin")
    enc = slm.load(tmp_path)
    wav, lens = speech()
    hs, last, flen = reference(torch, model, wav, lens)
    compare(enc(wav, lengths=lens), hs, last, flen)


# fairseq / unilm module names, written from their sources (fairseq wav2vec2.py and
# hubert.py, unilm WavLM.py), independently of the loader's table
def to_fairseq(sd, layer_norm_mode):
    import re
    out = {}
    for k, v in sd.items():
        m = re.match(r"feature_extractor\.conv_layers\.(\d+)\.(conv|layer_norm)\.(\w+)$", k)
        if m:
            i, part, w = m.groups()
            if part == "conv":
                out[f"feature_extractor.conv_layers.{i}.0.{w}"] = v
            else:
                out[f"feature_extractor.conv_layers.{i}.2{'.1' if layer_norm_mode else ''}.{w}"] = v
            continue
        k2 = (k.replace("feature_projection.layer_norm.", "layer_norm.")
              .replace("feature_projection.projection.", "post_extract_proj.")
              .replace("encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv.0.weight_g")
              .replace("encoder.pos_conv_embed.conv.parametrizations.weight.original1", "encoder.pos_conv.0.weight_v")
              .replace("encoder.pos_conv_embed.conv.bias", "encoder.pos_conv.0.bias")
              .replace(".attention.gru_rel_pos_linear.", ".self_attn.grep_linear.")
              .replace(".attention.gru_rel_pos_const", ".self_attn.grep_a")
              .replace(".attention.rel_attn_embed.", ".self_attn.relative_attention_bias.")
              .replace(".attention.", ".self_attn.")
              .replace(".feed_forward.intermediate_dense.", ".fc1.")
              .replace(".feed_forward.output_dense.", ".fc2."))
        k2 = re.sub(r"^(encoder\.layers\.\d+)\.layer_norm\.", r"\1.self_attn_layer_norm.", k2)
        out[k2] = v
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_original_checkpoints(torch, tmp_path, case):
    model = build(torch, case, seed=7)
    c = model.config
    large = c.do_stable_layer_norm
    layers = " + ".join(f"[({d}, {k}, {s})]" for d, k, s in zip(c.conv_dim, c.conv_kernel, c.conv_stride))
    mcfg = dict(extractor_mode="layer_norm" if large else "default", conv_feature_layers=layers,
                conv_bias=c.conv_bias, encoder_layers=c.num_hidden_layers, encoder_embed_dim=c.hidden_size,
                encoder_ffn_embed_dim=c.intermediate_size, encoder_attention_heads=c.num_attention_heads,
                activation_fn="gelu", layer_norm_first=large, conv_pos=c.num_conv_pos_embeddings,
                conv_pos_groups=c.num_conv_pos_embedding_groups)
    sd = to_fairseq({k: v.clone() for k, v in model.state_dict().items()}, large)
    sd["mask_emb"] = torch.zeros(c.hidden_size)  # training-only parts are skipped
    if case.startswith("wavlm"):
        mcfg.update(relative_position_embedding=True, num_buckets=c.num_buckets,
                    max_distance=c.max_bucket_distance, gru_rel_pos=True)
        ckpt = {"cfg": mcfg, "model": sd}  # unilm WavLM
    else:
        mcfg["_name"] = case.split("-")[0]
        if case.startswith("hubert"):
            sd["label_embs_concat"] = torch.zeros(5, 8)
            sd["final_proj.weight"] = torch.zeros(8, c.hidden_size)
        ckpt = {"args": None, "cfg": {"_name": None, "model": mcfg, "task": {"sample_rate": 16000}}, "model": sd}
    torch.save(ckpt, tmp_path / "model.pt")
    enc = slm.load(tmp_path / "model.pt")
    assert enc.kind == case.split("-")[0]
    wav, lens = speech()
    hs, last, flen = reference(torch, model, wav, lens)
    compare(enc(wav, lengths=lens), hs, last, flen)


def test_bf16_bounded(torch, tmp_path):
    model = build(torch, "hubert-base", seed=9)
    model.save_pretrained(tmp_path)
    wav, lens = speech()
    a = slm.load(tmp_path)(wav[:1]).last_hidden_state
    b = slm.load(tmp_path, dtype="bf16")(wav[:1]).last_hidden_state
    from conftest import nmse
    err = nmse(b, a)
    assert 0 < err < 1e-3, f"bf16 nmse {err:.2e}"


def test_bad_input_leaves_model_usable(torch, tmp_path):
    model = build(torch, "wavlm-base", seed=11)
    model.save_pretrained(tmp_path)
    enc = slm.load(tmp_path)
    wav, lens = speech()
    with pytest.raises(ValueError, match="too short"):
        enc(np.zeros(50, np.float32))
    bad = wav.copy()
    bad[1, 100] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        enc(bad)
    with pytest.raises(ValueError, match="lengths"):
        enc(wav, lengths=[wav.shape[1] + 1, 100])
    with pytest.raises(ValueError, match="lengths"):
        enc(wav, lengths=[10, 100])  # shorter than one frame
    with pytest.raises(ValueError, match="entries"):
        enc(wav, lengths=[100])
    with pytest.raises(ValueError, match="out of range"):
        enc(wav, layers=[3])
    with pytest.raises(TypeError):
        enc(wav.astype(np.int32))
    with pytest.raises(ValueError):
        enc(np.zeros((2, 2, 2), np.float32))
    out = enc(wav, lengths=lens, layers=[2])
    assert np.isfinite(out.hidden_states[2]).all()
    # damaged weights: the key is named
    from slm.models._ssl_keys import HF_KEYS, HF_PREFIXES, map_state_dict
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    w = map_state_dict(sd, HF_KEYS, HF_PREFIXES, "t")
    cfg = enc.config
    SSL = slm.models.ssl.SSLEncoder
    with pytest.raises(ValueError, match=r"'layers.1.gate.weight' has shape \(8, 7\)"):
        SSL(dict(w, **{"layers.1.gate.weight": np.zeros((8, 7), np.float32)}), cfg, "wavlm")
    with pytest.raises(ValueError, match="missing weight 'rel_embed'"):
        SSL({k: v for k, v in w.items() if k != "rel_embed"}, cfg, "wavlm")
    with pytest.raises(ValueError, match="does not know"):
        map_state_dict(dict(sd, **{"encoder.layers.0.attention.extra.weight": np.zeros(3)}), HF_KEYS, HF_PREFIXES, "t")
    with pytest.raises(ValueError, match="heads"):
        SSL(w, dict(cfg, H=5), "wavlm")
    assert np.isfinite(SSL(w, cfg, "wavlm")(wav[:1]).last_hidden_state).all()


def test_input_normalisation_follows_the_feature_extractor(torch, tmp_path):
    """wav2vec2-large-style checkpoints expect zero-mean unit-variance input: the folder's
    preprocessor_config.json says so, and slm applies it as the feature extractor does"""
    model = build(torch, "wav2vec2-large", seed=13)
    model.save_pretrained(tmp_path)
    fe = transformers.Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=True)
    fe.save_pretrained(tmp_path)
    enc = slm.load(tmp_path)
    assert enc.normalize and not slm.load(tmp_path, normalize=False).normalize
    wav, lens = speech()
    feats = fe([w[:n] for w, n in zip(wav, lens)], sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.no_grad():
        o = model(feats["input_values"], attention_mask=feats["attention_mask"], output_hidden_states=True)
    flen = model._get_feat_extract_output_lengths(torch.from_numpy(lens)).numpy()
    compare(enc(wav, lengths=lens), [h.numpy() for h in o.hidden_states], o.last_hidden_state.numpy(), flen)


def test_one_model_many_threads(tmp_path, torch):
    from concurrent.futures import ThreadPoolExecutor
    model = build(torch, "wavlm-base", seed=17)
    model.save_pretrained(tmp_path)
    enc = slm.load(tmp_path)
    wav, lens = speech()
    ref = enc(wav, lengths=lens).last_hidden_state
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: enc(wav, lengths=lens).last_hidden_state, range(8)))
    for o in outs:
        assert np.array_equal(o, ref)


def test_ctc_model_body_loads(torch, tmp_path):
    """a fine-tuned HubertForCTC folder: the encoder under 'hubert.' loads, the CTC head
    is left out"""
    prefix, extra = CASES["hubert-large"]
    cfg = transformers.HubertConfig(**SMALL, **extra, vocab_size=12)
    model = randomise(torch, transformers.HubertForCTC(cfg), 19)
    model.save_pretrained(tmp_path)
    enc = slm.load(tmp_path)
    wav, lens = speech()
    hs, last, flen = reference(torch, model.hubert, wav, lens)
    compare(enc(wav, lengths=lens), hs, last, flen)
