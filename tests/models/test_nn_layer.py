"""csrc/nn's Transformer encoder layer (shared by the wav2vec2/HuBERT/WavLM and Whisper
graphs) against the same layer written in PyTorch: pre- and post-norm, key padding, an
additive per-head bias, on every kernel path."""
import numpy as np
import pytest

import slm
from conftest import assert_close


def torch_layer(torch, x, w, H, pre_norm, eps, lengths=None, bias=None):
    F = torch.nn.functional
    x = torch.from_numpy(x).double()
    W = {k: torch.from_numpy(v).double() for k, v in w.items()}
    B, T, C = x.shape
    D = C // H

    def attn(h):
        qkv = F.linear(h, W["qkv.weight"], W["qkv.bias"])
        q, k, v = (t.reshape(B, T, H, D).transpose(1, 2) for t in qkv.split(C, -1))
        s = q @ k.transpose(-1, -2) / D ** 0.5
        if bias is not None:
            s = s + torch.from_numpy(bias).double()
        elif lengths is not None:
            keep = torch.arange(T)[None, :] < torch.as_tensor(lengths)[:, None]
            s = s.masked_fill(~keep[:, None, None, :], float("-inf"))
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        return F.linear(o, W["o.weight"], W["o.bias"])

    def ffn(h):
        return F.linear(F.gelu(F.linear(h, W["fc1.weight"], W["fc1.bias"])), W["fc2.weight"], W["fc2.bias"])

    ln1 = lambda h: F.layer_norm(h, (C,), W["ln1.weight"], W["ln1.bias"], eps)
    ln2 = lambda h: F.layer_norm(h, (C,), W["ln2.weight"], W["ln2.bias"], eps)
    if pre_norm:
        x = x + attn(ln1(x))
        x = x + ffn(ln2(x))
    else:
        x = ln1(x + attn(x))
        x = ln2(x + ffn(x))
    return x.numpy()


def weights(rng, C, F):
    r = lambda *s: (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)
    return {"ln1.weight": 1 + 0.1 * r(C), "ln1.bias": 0.1 * r(C), "qkv.weight": r(3 * C, C),
            "qkv.bias": 0.1 * r(3 * C), "o.weight": r(C, C), "o.bias": 0.1 * r(C),
            "ln2.weight": 1 + 0.1 * r(C), "ln2.bias": 0.1 * r(C), "fc1.weight": r(F, C),
            "fc1.bias": 0.1 * r(F), "fc2.weight": r(C, F), "fc2.bias": 0.1 * r(C)}


@pytest.mark.parametrize("pre_norm", [True, False])
@pytest.mark.parametrize("masking", ["none", "lengths", "bias"])
def test_encoder_layer_matches_torch(torch, path, pre_norm, masking):
    rng = np.random.default_rng(3)
    B, T, C, H, F = 2, 37, 48, 4, 96
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    w = weights(rng, C, F)
    lengths = np.array([37, 21]) if masking != "none" else None
    bias = None
    if masking == "bias":
        bias = rng.standard_normal((B, H, T, T)).astype(np.float32)
        bias[1, :, :, 21:] = -np.inf
    out = slm._C._nn_encoder_layer(x, w, H, pre_norm, 1e-5, lengths=lengths, bias=bias)
    ref = torch_layer(torch, x, w, H, pre_norm, 1e-5, lengths, bias)
    if lengths is not None:  # padded query rows are meaningless: compare valid frames
        for b, n in enumerate(lengths):
            assert_close(out[b, :n], ref[b, :n], 1e-7, f"item {b}")
    else:
        assert_close(out, ref, 1e-7)


@pytest.mark.parametrize("pre_norm", [True, False])
def test_encoder_layer_bf16_weights(torch, path, pre_norm):
    """weight-only bf16 projections equal the float32 layer run on bf16-rounded weights"""
    rng = np.random.default_rng(5)
    B, T, C, H, F = 2, 19, 32, 2, 64
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    w = weights(rng, C, F)
    out = slm._C._nn_encoder_layer(x, w, H, pre_norm, 1e-5, bf16=True)
    rounded = {k: (torch.from_numpy(v).to(torch.bfloat16).float().numpy()
                   if k in ("qkv.weight", "o.weight", "fc1.weight", "fc2.weight") else v) for k, v in w.items()}
    assert_close(out, torch_layer(torch, x, rounded, H, pre_norm, 1e-5), 1e-7)
    # and it is a different computation from float32 weights (the rounding shows)
    assert np.abs(out - slm._C._nn_encoder_layer(x, w, H, pre_norm, 1e-5)).max() > 1e-5


def test_encoder_layer_bad_weights():
    rng = np.random.default_rng(0)
    w = weights(rng, 16, 32)
    x = rng.standard_normal((1, 5, 16)).astype(np.float32)
    bad = dict(w, **{"o.weight": np.zeros((16, 15), np.float32)})
    with pytest.raises(ValueError, match=r"'o.weight' has shape \(16, 15\), expected \(16, 16\)"):
        slm._C._nn_encoder_layer(x, bad, 4, True, 1e-5)
    missing = {k: v for k, v in w.items() if k != "ln2.bias"}
    with pytest.raises(ValueError, match="missing weight 'ln2.bias'"):
        slm._C._nn_encoder_layer(x, missing, 4, True, 1e-5)
    with pytest.raises(TypeError):
        slm._C._nn_encoder_layer(x, dict(w, **{"o.bias": np.zeros(16, np.int32)}), 4, True, 1e-5)
    assert np.isfinite(slm._C._nn_encoder_layer(x, w, 4, True, 1e-5)).all()
