"""slm.codecs RVQ / SplitRVQ against the reference quantizers: the encodec package's
ResidualVectorQuantizer, DAC's ResidualVectorQuantize (descript-audio-codec), moshi's
SplitResidualVectorQuantizer, and transformers' Encodec/Dac/Mimi quantizers. Codebooks
are filled with random values first (fresh modules hold zeros or untrained values),
loaded from the modules' own state dicts; codes must be equal and decoded latents within
NMSE 1e-6 on every kernel path, for every number of codebooks."""
import importlib.util
import pathlib
import sys
import types

import numpy as np
import pytest

from conftest import assert_close
from slm.codecs import RVQ, SplitRVQ, Stage, fold_weight_norm

torch = pytest.importorskip("torch")


def _sd(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _latents(dim, b=2, t=37, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, dim, t, generator=g) * 2.0


def _fill_(module, seed, positive=()):
    """every float parameter and buffer random (names in positive: uniform in (0.5, 2))"""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if not t.is_floating_point():
                continue
            if any(name.endswith(p) for p in positive):
                t.copy_(torch.rand(t.shape, generator=g) * 1.5 + 0.5)
            elif t.numel() > 1:
                t.copy_(torch.randn(t.shape, generator=g))
    return module.eval()


# ---------------------------------------------------------------- EnCodec
@pytest.mark.parametrize("n_q", [1, 4, 8])
def test_encodec_package(path, n_q):
    vq = pytest.importorskip("encodec.quantization.vq")
    ref = vq.ResidualVectorQuantizer(dimension=32, n_q=8, bins=64)
    _fill_(ref, 1)
    for layer in ref.vq.layers:  # codebooks from data so that residuals shrink as in a codec
        layer._codebook.inited.fill_(1.0)
    q = RVQ.from_state_dict(_sd(ref), prefix="")
    assert q.n_q == 8 and q.codebook_sizes == [64] * 8 and q.dim == 32
    x = _latents(32)
    with torch.no_grad():
        want = ref.vq.encode(x, n_q=n_q).numpy()  # (n_q, B, T)
        dec = ref.decode(torch.from_numpy(want)).numpy()
    codes = q.encode(x.numpy(), n_q=n_q)
    assert codes.shape == (2, n_q, 37) and codes.dtype == np.int64
    assert np.array_equal(codes, want.transpose(1, 0, 2))
    assert_close(q.decode(codes), dec, 1e-6)
    quant, c2 = q.quantize(x.numpy(), n_q=n_q)
    assert np.array_equal(c2, codes)
    assert_close(quant, dec, 1e-6)


def test_transformers_encodec(path):
    tr = pytest.importorskip("transformers")
    from transformers.models.encodec.modeling_encodec import EncodecResidualVectorQuantizer
    cfg = tr.EncodecConfig(hidden_size=32, codebook_size=64, target_bandwidths=[1.5, 3.0, 6.0],
                           sampling_rate=24000, upsampling_ratios=[8, 5, 4, 2])
    ref = _fill_(EncodecResidualVectorQuantizer(cfg), 2)
    q = RVQ.from_state_dict(_sd(ref), prefix="")
    x = _latents(32, seed=3)
    for bw in cfg.target_bandwidths:
        with torch.no_grad():
            want = ref.encode(x, bw).numpy()
            dec = ref.decode(torch.from_numpy(want)).numpy()
        n = want.shape[0]
        codes = q.encode(x.numpy(), n_q=n)
        assert np.array_equal(codes, want.transpose(1, 0, 2)), bw
        assert_close(q.decode(codes), dec, 1e-6)


# ---------------------------------------------------------------- DAC
def _dac_quantize_module():
    """dac.nn.quantize without dac/__init__ (which pulls audiotools and its many deps):
    stub package modules pointing at the installed package's folder"""
    if "dac.nn.quantize" in sys.modules:
        return sys.modules["dac.nn.quantize"]
    spec = importlib.util.find_spec("dac")
    if spec is None:
        pytest.skip("descript-audio-codec not installed")
    root = pathlib.Path(spec.origin).parent
    for name, folder in (("dac", root), ("dac.nn", root / "nn")):
        if name not in sys.modules or not hasattr(sys.modules[name], "__path__"):
            m = types.ModuleType(name)
            m.__path__ = [str(folder)]
            sys.modules[name] = m
    return importlib.import_module("dac.nn.quantize")


@pytest.mark.parametrize("n_q", [1, 3, 6])
def test_dac_package(path, n_q):
    dq = _dac_quantize_module()
    ref = _fill_(dq.ResidualVectorQuantize(input_dim=48, n_codebooks=6, codebook_size=128, codebook_dim=8), 4)
    sd = _sd(ref)
    assert any(k.endswith("weight_g") for k in sd)  # weight norm stored as g / v
    q = RVQ.from_state_dict(sd, prefix="")
    assert q.stages[0].metric == "cosine" and q.stages[0].codebook.shape == (128, 8)
    x = _latents(48, seed=5)
    with torch.no_grad():
        z, codes_ref, *_ = ref(x, n_quantizers=n_q)
        codes_ref = codes_ref[:, :n_q].numpy()
        dec = ref.from_codes(torch.from_numpy(codes_ref))[0].numpy()
    codes = q.encode(x.numpy(), n_q=n_q)
    assert np.array_equal(codes, codes_ref)
    assert_close(q.decode(codes), dec, 1e-6)
    quant, _ = q.quantize(x.numpy(), n_q=n_q)
    assert_close(quant, z.numpy(), 1e-6)  # forward's z: the straight-through sum, same value


def test_transformers_dac(path):
    tr = pytest.importorskip("transformers")
    from transformers.models.dac.modeling_dac import DacResidualVectorQuantizer
    cfg = tr.DacConfig(hidden_size=48, n_codebooks=5, codebook_size=128, codebook_dim=8)
    ref = _fill_(DacResidualVectorQuantizer(cfg), 6)
    q = RVQ.from_state_dict(_sd(ref), prefix="")
    x = _latents(48, seed=7)
    for n in (1, 5):
        with torch.no_grad():
            z, codes_ref, *_ = ref(x, n_quantizers=n)
            codes_ref = codes_ref[:, :n].numpy()
            dec = ref.from_codes(torch.from_numpy(codes_ref))[0].numpy()
        codes = q.encode(x.numpy(), n_q=n)
        assert np.array_equal(codes, codes_ref)
        assert_close(q.decode(codes), dec, 1e-6)


def test_weight_norm_spellings_give_the_same_quantizer():
    dq = _dac_quantize_module()
    ref = _fill_(dq.ResidualVectorQuantize(input_dim=16, n_codebooks=2, codebook_size=32, codebook_dim=4), 8)
    sd = _sd(ref)
    par = {k.replace("weight_g", "parametrizations.weight.original0").replace(
        "weight_v", "parametrizations.weight.original1"): v for k, v in sd.items()}
    w = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(16, 4, 1))
    with torch.no_grad():
        w.parametrizations.weight.original0.copy_(torch.from_numpy(sd["quantizers.0.in_proj.weight_g"]))
        w.parametrizations.weight.original1.copy_(torch.from_numpy(sd["quantizers.0.in_proj.weight_v"]))
        folded = w.weight.numpy()
    a, b = RVQ.from_state_dict(sd, ""), RVQ.from_state_dict(par, "")
    np.testing.assert_array_equal(a.stages[0].in_w, b.stages[0].in_w)
    assert_close(a.stages[0].in_w, folded[:, :, 0], 1e-12)
    np.testing.assert_allclose(fold_weight_norm(sd["quantizers.0.in_proj.weight_g"],
                                                sd["quantizers.0.in_proj.weight_v"]), folded, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- Mimi
@pytest.mark.parametrize("n_q", [1, 2, 8])
def test_moshi_split(path, n_q):
    mq = pytest.importorskip("moshi.quantization")
    ref = mq.SplitResidualVectorQuantizer(dimension=16, n_q=8, bins=64, input_dimension=40,
                                          output_dimension=40, n_q_semantic=1)
    _fill_(ref, 9, positive=("cluster_usage",))
    q = SplitRVQ.from_state_dict(_sd(ref), prefix="")
    assert q.n_q == 8 and q.semantic.n_q == 1 and q.dim == 40
    x = _latents(40, seed=10)
    with torch.no_grad():
        ref.set_num_codebooks(n_q)  # moshi's bandwidth setting
        want = ref.encode(x).numpy()  # (B, n_q, T)
        dec = ref.decode(torch.from_numpy(want)).numpy()
    codes = q.encode(x.numpy(), n_q=n_q)
    assert codes.shape == (2, n_q, 37)
    assert np.array_equal(codes, want)
    assert_close(q.decode(codes), dec, 1e-6)


def test_transformers_mimi_split(path):
    tr = pytest.importorskip("transformers")
    from transformers.models.mimi.modeling_mimi import MimiSplitResidualVectorQuantizer
    cfg = tr.MimiConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=4, codebook_dim=16,
                        codebook_size=64, num_quantizers=8, num_semantic_quantizers=1,
                        vector_quantization_hidden_dimension=16)
    ref = _fill_(MimiSplitResidualVectorQuantizer(cfg), 11, positive=("cluster_usage",))
    q = SplitRVQ.from_state_dict(_sd(ref), prefix="")
    x = _latents(64, seed=12)
    for n in (1, 4, 8):
        with torch.no_grad():
            want = ref.encode(x, n).numpy()  # (n, B, T); MimiModel transposes before decode
            dec = ref.decode(torch.from_numpy(want.transpose(1, 0, 2).copy())).numpy()
        codes = q.encode(x.numpy(), n_q=n)
        assert np.array_equal(codes, want.transpose(1, 0, 2)), n
        assert_close(q.decode(codes), dec, 1e-6)


# ---------------------------------------------------------------- API and bad input
def test_api_and_bad_input():
    rng = np.random.default_rng(13)
    cb = [rng.standard_normal((16, 6)).astype(np.float32) for _ in range(3)]
    q = RVQ([Stage(c) for c in cb])
    x = rng.standard_normal((6, 20)).astype(np.float32)
    codes = q.encode(x)
    assert codes.shape == (3, 20)  # unbatched in, unbatched out
    # by hand: stage by stage on the residual
    r = x.T.astype(np.float64)
    for i, c in enumerate(cb):
        d = ((r[:, None, :] - c[None].astype(np.float64)) ** 2).sum(-1)
        assert np.array_equal(codes[i], d.argmin(1))
        r = r - c[codes[i]]
    assert q.decode(codes).shape == (6, 20)
    assert q.decode(codes[:1]).shape == (6, 20)
    with pytest.raises(ValueError, match="channels"):
        q.encode(x[:5])
    with pytest.raises(ValueError, match="n_q"):
        q.encode(x, n_q=4)
    with pytest.raises(ValueError, match="n_q"):
        q.encode(x, n_q=0)
    with pytest.raises(TypeError):
        q.decode(codes.astype(np.float32))
    bad = codes.copy()
    bad[1, 7] = 16
    with pytest.raises(ValueError, match="codebook 1 at frame 7"):
        q.decode(bad)
    with pytest.raises(ValueError, match="codebooks"):
        q.decode(np.zeros((4, 20), np.int64))
    xn = x.copy()
    xn[2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        q.encode(xn)
    with pytest.raises(ValueError):
        Stage(cb[0], metric="dot")
    with pytest.raises(ValueError):
        RVQ([])
    with pytest.raises(ValueError, match="no quantizer layout"):
        RVQ.from_state_dict({"quantizer.foo": np.zeros(3)})
    with pytest.raises(ValueError):  # a stage without projections must match the latent
        RVQ([Stage(cb[0]), Stage(rng.standard_normal((16, 5)).astype(np.float32))]).encode(x)
    assert np.array_equal(q.encode(x), codes)  # still usable
    assert q.encode(np.zeros((6, 0), np.float32)).shape == (3, 0)
