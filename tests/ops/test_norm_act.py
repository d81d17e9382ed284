"""Norms, activations, Snake, softmax and RoPE against torch on every kernel path.

References: torch.nn.functional in float32 for the activations (their formulas decide
the values at +-inf and NaN), torch in float64 for the norms (a sharper oracle: the
moments are meant to be accurate), BigVGAN's / DAC's Snake formulas written in torch,
and Hugging Face's float32 RoPE recipe (rotate_half) and the original LLaMA complex
form (interleaved).
"""
import numpy as np
import pytest

import slm
from conftest import assert_close, noncontig

@pytest.fixture
def path(path):
    """conftest's path, minus the paths that norm/act do not implement: forcing 'dnnl'
    runs their avx512/avx2 kernels again, so that run is skipped as a duplicate."""
    info = slm.backend_info()
    if path not in info.implements["norm"] or path not in info.implements["act"]:
        pytest.skip(f"norm/act have no {path} path (it would run {info.families['act']} again)")
    return path


SHAPES = [(1,), (7,), (3, 33), (2, 5, 17), (4, 1, 129)]
ACTS = [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 1.5}),
        ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("tanh", {}), ("sigmoid", {})]
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 100.0, -100.0, 1e-30, -1e-30,
                    88.8, -88.8, 103.9, -103.9, 9.0, -9.0, 20.0, -20.0, 0.3, -0.3, 3.9, -3.9, 1e-3],
                   np.float32)


def wide(rng, shape, scale=4.0):
    """normal values with a sprinkle of large and tiny ones"""
    x = rng.standard_normal(shape) * scale
    flat = x.reshape(-1)
    k = max(1, flat.size // 20)
    idx = rng.integers(0, flat.size, k)
    flat[idx] = rng.choice([60.0, -60.0, 1e-6, -1e-6, 0.0], k)
    return x.astype(np.float32)


def torch_act(torch, name, kw, x, dtype=np.float64):
    """torch's activation, in float64 by default, rounded to float32. The GELUs are
    written in forms without the cancellation of 1 + erf / 1 + tanh (equal in exact
    arithmetic; torch's own formula gives 0 for gelu(-9) even in float64, slm gives
    -1.0e-18); with dtype=float32 it is torch.nn.functional itself."""
    F = torch.nn.functional
    t = torch.from_numpy(np.array(x, dtype=dtype, order="C"))
    if name == "gelu" and dtype == np.float64:
        if kw.get("approximate", "none") == "none":
            return (0.5 * t * torch.special.erfc(-t / np.sqrt(2.0))).numpy().astype(np.float32)
        u = np.sqrt(2.0 / np.pi) * (t + 0.044715 * t ** 3)
        return (t / (1.0 + torch.exp(-2.0 * u))).numpy().astype(np.float32)
    fn = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}.get(name) or getattr(F, name)
    return fn(t, **kw).numpy().astype(np.float32)


# ---- activations ----

@pytest.mark.parametrize("name,kw", ACTS, ids=[f"{n}{'-' + '-'.join(map(str, k.values())) if k else ''}" for n, k in ACTS])
def test_act_matches_torch(path, torch, rng, name, kw):
    op = getattr(slm.ops, name)
    for shape in SHAPES + [()]:
        x = wide(rng, shape)
        out = op(x, **kw)
        ref = torch_act(torch, name, kw, x)
        assert out.dtype == np.float32 and out.shape == ref.shape
        assert_close(out, ref, what=f"{name} {shape}")
    x = wide(rng, (6, 40))
    assert_close(op(noncontig(x), **kw), torch_act(torch, name, kw, x), what=f"{name} noncontig")
    # special values, repeated so that they land in full vectors and in the tail
    x = np.tile(SPECIAL, 3)[:67]
    out, ref = op(x, **kw), torch_act(torch, name, kw, x)
    ref32 = torch_act(torch, name, kw, x, np.float32)
    for r in (ref, ref32):  # NaN and inf where torch float32 (and float64) has them
        np.testing.assert_array_equal(np.isnan(out), np.isnan(r), err_msg=f"{name}: NaN positions")
        np.testing.assert_array_equal(np.isinf(out), np.isinf(r), err_msg=f"{name}: inf positions")
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(out[np.isinf(ref)], ref[np.isinf(ref)])
    # atol: float32 overflow of exp(88.8) in silu's torch formula gives -0 for ~1e-37
    np.testing.assert_allclose(out[fin], ref[fin], rtol=2e-6, atol=1e-30, err_msg=name)
    if name == "relu":  # relu keeps -0.0 and NaN, as torch
        assert np.signbit(op(np.array([-0.0], np.float32))[0])


def test_act_large_and_accuracy(path, torch, rng):
    """~1e6 elements (the threaded path), and dense sweeps that cover the function
    pieces (erf's two ranges, expm1's switch, tanh's clamp)."""
    x = wide(rng, (1000, 1000))
    sweep = np.linspace(-12, 12, 200001, dtype=np.float32)
    for name, kw in ACTS:
        op = getattr(slm.ops, name)
        assert_close(op(x, **kw), torch_act(torch, name, kw, x), what=f"{name} large")
        assert_close(op(sweep, **kw), torch_act(torch, name, kw, sweep), bound=1e-12, what=f"{name} sweep")
    # relative accuracy near zero (expm1, erf, tanh must not cancel) and in the GELU
    # tails down to 1e-30
    small = np.linspace(-0.4, 0.4, 40001, dtype=np.float32)
    tail = np.linspace(-15, -0.4, 40001, dtype=np.float32)
    # (the tanh GELU's tail is x exp(2u), u = 0.8 (x + 0.045 x^3): an ulp of rounding in u
    # moves it by |2u| ulp, and |2u| reaches 66 at x = -9: ~1e-5 relative)
    for name, kw, xs, bound in [("elu", {}, small, 2e-6), ("tanh", {}, small, 2e-6), ("gelu", {}, small, 2e-6),
                                ("gelu", {}, tail, 2e-6), ("gelu", {"approximate": "tanh"}, tail, 3e-5),
                                ("silu", {}, tail, 2e-6), ("sigmoid", {}, tail, 2e-6)]:
        out = getattr(slm.ops, name)(xs, **kw)
        ref = torch_act(torch, name, kw, xs)
        nz = np.abs(ref) > 1e-30
        rel = np.max(np.abs(out[nz] - ref[nz]) / np.abs(ref[nz]))
        assert rel < bound, f"{name} {kw}: max relative error {rel:.2e}"


# ---- norms ----

def t64(torch, a):
    return None if a is None else torch.from_numpy(np.asarray(a, np.float64))


@pytest.mark.parametrize("affine", [True, False])
def test_layer_and_rms_norm_match_torch(path, torch, rng, affine):
    F = torch.nn.functional
    cases = [((1,), (1,)), ((5, 7), (7,)), ((2, 3, 33), (3, 33)), ((4, 129), 129), ((3, 1, 16), (1, 16))]
    for shape, ns in cases:
        nst = (ns,) if isinstance(ns, int) else ns
        x = wide(rng, shape, 2.0)
        w = rng.standard_normal(nst).astype(np.float32) if affine else None
        b = rng.standard_normal(nst).astype(np.float32) if affine else None
        ref = F.layer_norm(t64(torch, x), nst, t64(torch, w), t64(torch, b), 1e-5).numpy()
        assert_close(slm.ops.layer_norm(x, ns, w, b), ref, what=f"layer_norm {shape}")
        ref = F.rms_norm(t64(torch, x), nst, t64(torch, w), eps=float(np.finfo(np.float32).eps)).numpy()
        assert_close(slm.ops.rms_norm(x, ns, w), ref, what=f"rms_norm {shape}")
        ref = F.rms_norm(t64(torch, x), nst, t64(torch, w), eps=1e-6).numpy()
        assert_close(slm.ops.rms_norm(x, ns, w, eps=1e-6), ref, what=f"rms_norm eps {shape}")
    # non-contiguous input and weight; float64 input is cast
    x = wide(rng, (6, 50))
    w = rng.standard_normal(50).astype(np.float32)
    ref = F.layer_norm(t64(torch, x), (50,), t64(torch, w), None).numpy()
    assert_close(slm.ops.layer_norm(noncontig(x), 50, noncontig(w[None])[0]), ref)
    assert_close(slm.ops.layer_norm(x.astype(np.float64), 50, w), ref)
    ref = F.rms_norm(t64(torch, x), (50,), t64(torch, w), 1e-5).numpy()
    assert_close(slm.ops.rms_norm(noncontig(x), (50,), noncontig(w[None])[0], 1e-5), ref)


def test_norms_large_offset_and_size(path, torch, rng):
    """Data far from zero keeps its variance (accurate moments); ~1e6 elements."""
    F = torch.nn.functional
    x = (1000.0 + rng.standard_normal((8, 4099))).astype(np.float32)
    ref = F.layer_norm(t64(torch, x), (4099,)).numpy()
    assert_close(slm.ops.layer_norm(x, 4099), ref, what="layer_norm offset 1e3")
    xg = x.reshape(2, 4, 4099)
    ref = F.group_norm(t64(torch, xg), 2).numpy()
    assert_close(slm.ops.group_norm(xg, 2), ref, what="group_norm offset 1e3")
    x = wide(rng, (1000, 1024), 1.0)
    w, b = rng.standard_normal(1024).astype(np.float32), rng.standard_normal(1024).astype(np.float32)
    assert_close(slm.ops.layer_norm(x, 1024, w, b),
                 F.layer_norm(t64(torch, x), (1024,), t64(torch, w), t64(torch, b)).numpy())
    assert_close(slm.ops.rms_norm(x, 1024, w, 1e-5), F.rms_norm(t64(torch, x), (1024,), t64(torch, w), 1e-5).numpy())
    xg = x.reshape(4, 64, 4000)
    wg, bg = w[:64], b[:64]
    assert_close(slm.ops.group_norm(xg, 8, wg, bg),
                 F.group_norm(t64(torch, xg), 8, t64(torch, wg), t64(torch, bg)).numpy())


@pytest.mark.parametrize("shape,G", [((1, 1, 2), 1), ((2, 6, 5), 3), ((3, 8, 2, 3), 8), ((2, 4, 33), 1), ((1, 12, 1), 4)])
def test_group_norm_matches_torch(path, torch, rng, shape, G):
    F = torch.nn.functional
    x = wide(rng, shape, 2.0)
    C = shape[1]
    w, b = rng.standard_normal(C).astype(np.float32), rng.standard_normal(C).astype(np.float32)
    assert_close(slm.ops.group_norm(x, G, w, b), F.group_norm(t64(torch, x), G, t64(torch, w), t64(torch, b)).numpy())
    assert_close(slm.ops.group_norm(noncontig(x), G), F.group_norm(t64(torch, x), G).numpy())
    assert_close(slm.ops.group_norm(x, G, w, None, eps=1e-3),
                 F.group_norm(t64(torch, x), G, t64(torch, w), None, 1e-3).numpy())
    # one value per group (torch refuses it in training mode): (x - x) * w + b = b
    one = slm.ops.group_norm(np.array([[[5.0]], [[-2.0]]], np.float32), 1, w[:1], b[:1])
    np.testing.assert_array_equal(one, np.broadcast_to(b[:1], (2, 1, 1)))


def test_norms_special_values(path, torch):
    F = torch.nn.functional
    x = np.array([[1, np.inf, 2, 3], [1, 2, 3, 4], [np.nan, 1, 2, 3], [5, 5, 5, 5]], np.float32)
    t = torch.from_numpy(x)
    for out, ref in [(slm.ops.layer_norm(x, 4), F.layer_norm(t, (4,))),
                     (slm.ops.rms_norm(x, 4), F.rms_norm(t, (4,))),
                     (slm.ops.group_norm(x.reshape(2, 2, 4), 1), F.group_norm(t.reshape(2, 2, 4), 1))]:
        ref = ref.numpy()
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_allclose(out[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-5, atol=1e-6)


# ---- Snake ----

def bigvgan_snake(torch, x, alpha, beta=None, logscale=False):
    """BigVGAN activations.py Snake / SnakeBeta forward, in float32"""
    t = torch.from_numpy(x)
    a = torch.from_numpy(alpha).unsqueeze(0).unsqueeze(-1)
    b = a if beta is None else torch.from_numpy(beta).unsqueeze(0).unsqueeze(-1)
    if logscale:
        a, b = torch.exp(a), torch.exp(b)
    return (t + (1.0 / (b + 0.000000001)) * torch.pow(torch.sin(t * a), 2)).numpy()


def dac_snake(torch, x, alpha):
    """DAC dac/nn/layers.py snake, alpha of shape (1, C, 1)"""
    t = torch.from_numpy(x)
    shape = t.shape
    t = t.reshape(shape[0], shape[1], -1)
    a = torch.from_numpy(alpha)
    return (t + (a + 1e-9).reciprocal() * torch.sin(a * t).pow(2)).reshape(shape).numpy()


def test_snake_matches_references(path, torch, rng):
    for shape in [(1, 1, 1), (2, 3, 7), (1, 5, 129), (4, 2, 1000)]:
        C = shape[1]
        x = wide(rng, shape, 2.0)
        alpha = rng.uniform(0.2, 3.0, C).astype(np.float32)
        beta = rng.uniform(0.2, 3.0, C).astype(np.float32)
        assert_close(slm.ops.snake(x, alpha), bigvgan_snake(torch, x, alpha), what=f"snake {shape}")
        assert_close(slm.ops.snake(x, alpha, beta), bigvgan_snake(torch, x, alpha, beta), what="snakebeta")
        la, lb = (rng.standard_normal(C) * 0.5).astype(np.float32), (rng.standard_normal(C) * 0.5).astype(np.float32)
        assert_close(slm.ops.snake(x, la, lb, logscale=True), bigvgan_snake(torch, x, la, lb, True), what="log")
        assert_close(slm.ops.snake(x, la, logscale=True), bigvgan_snake(torch, x, la, None, True), what="log a")
        assert_close(slm.ops.snake(x, alpha[None, :, None]), dac_snake(torch, x, alpha[None, :, None]), what="dac")
    # (C, L) input, (N, C, H, W) input as DAC's reshape, non-contiguous input
    x = wide(rng, (3, 50), 2.0)
    alpha = rng.uniform(0.2, 3.0, 3).astype(np.float32)
    assert_close(slm.ops.snake(x, alpha), bigvgan_snake(torch, x[None], alpha)[0])
    assert_close(slm.ops.snake(noncontig(x), alpha), bigvgan_snake(torch, x[None], alpha)[0])
    x4 = wide(rng, (2, 3, 4, 5), 2.0)
    assert_close(slm.ops.snake(x4, alpha[None, :, None]), dac_snake(torch, x4, alpha[None, :, None]))
    # ~1e6 elements
    x = wide(rng, (4, 64, 4000), 2.0)
    alpha, beta = rng.uniform(0.2, 3.0, 64).astype(np.float32), rng.uniform(0.2, 3.0, 64).astype(np.float32)
    assert_close(slm.ops.snake(x, alpha, beta), bigvgan_snake(torch, x, alpha, beta))


def test_snake_large_arguments(path, torch, rng):
    """|alpha * x| up to 1e4 (polynomial range) and up to 1e7 (library fallback), with a
    small beta so that the sine term dominates the output and the check bites."""
    C = 8
    beta = np.full(C, 1e-3, np.float32)
    for amax, xscale in [(1e4, 1.0), (1e4, 1e3)]:
        alpha = rng.uniform(0.5, amax, C).astype(np.float32)
        x = (rng.standard_normal((2, C, 3000)) * xscale).astype(np.float32)
        ref = bigvgan_snake(torch, x, alpha, beta)
        out = slm.ops.snake(x, alpha, beta)
        assert_close(out, ref, what=f"snake |ax| <= {amax * xscale * 4:.0e}")
        assert_close(out - x, ref - x, bound=1e-9, what="sine term")
    x = np.array([[[np.nan, np.inf, -np.inf, 0.0, 1e30, -1e30, 3.0, 2e6, -2e6]]], np.float32)
    out, ref = slm.ops.snake(x, np.ones(1, np.float32)), bigvgan_snake(torch, x, np.ones(1, np.float32))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_allclose(out[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-6)


# ---- softmax ----

def torch_masked_softmax(torch, x, dim, mask):
    t = torch.from_numpy(np.array(x, order="C"))
    if mask is None:
        return torch.softmax(t, dim).numpy()
    m = torch.from_numpy(np.ascontiguousarray(mask))
    if m.dtype == torch.bool:  # the documented policy: masked -> 0, empty rows -> 0
        return torch.where(m, torch.softmax(t.masked_fill(~m, float("-inf")), dim), 0.0).numpy()
    return torch.softmax(t + m, dim).numpy()


@pytest.mark.parametrize("shape", [(1,), (9,), (3, 17), (2, 5, 33), (2, 3, 4, 1), ()])
def test_softmax_matches_torch(path, torch, rng, shape):
    x = wide(rng, shape, 3.0)
    for dim in range(-max(1, len(shape)), max(1, len(shape))):
        assert_close(slm.ops.softmax(x, dim), torch_masked_softmax(torch, x, dim, None), what=f"dim {dim}")
    if len(shape) >= 2:
        assert_close(slm.ops.softmax(noncontig(x), 0), torch_masked_softmax(torch, x, 0, None))


@pytest.mark.filterwarnings("ignore:All-NaN slice")  # rows that are NaN on purpose
def test_softmax_masks(path, torch, rng):
    x = wide(rng, (2, 3, 5, 19), 3.0)
    for dim in (-1, 1, 2):
        for mshape in [(5, 19), (2, 1, 5, 19), (2, 1, 1, 19), (19,), (1,), (2, 1, 5, 1), (1, 3, 1, 19)]:
            keep = rng.random(mshape) > 0.4
            assert_close(slm.ops.softmax(x, dim, keep), torch_masked_softmax(torch, x, dim, keep),
                         what=f"bool dim {dim} mask {mshape}")
            add = (np.where(rng.random(mshape) > 0.3, 0, -np.inf) + rng.standard_normal(mshape)).astype(np.float32)
            with np.errstate(invalid="ignore"):
                ref = torch_masked_softmax(torch, x, dim, add)
            assert_close(slm.ops.softmax(x, dim, add), ref, what=f"add dim {dim} mask {mshape}")
    # strided and transposed masks, float64 additive masks
    keep = rng.random((19, 5)) > 0.5
    assert_close(slm.ops.softmax(x, -1, keep.T), torch_masked_softmax(torch, x, -1, keep.T))
    add = rng.standard_normal((2, 3, 5, 38))[..., ::2]
    assert_close(slm.ops.softmax(x, 2, add), torch_masked_softmax(torch, x, 2, add.astype(np.float32)))


def test_softmax_fully_masked_and_special(path, torch):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    keep = np.array([[True, False, True, False], [False] * 4, [True] * 4])
    out = slm.ops.softmax(x, -1, keep)
    np.testing.assert_array_equal(out[1], 0.0)  # documented policy: empty row -> zeros
    assert_close(out, torch_masked_softmax(torch, x, -1, keep))
    keep[2, 1] = False
    out = slm.ops.softmax(x, 0, keep)  # along a non-last dim: column 1 is fully masked
    np.testing.assert_array_equal(out[:, 1], 0.0)
    assert_close(out, torch_masked_softmax(torch, x, 0, keep))
    # masked positions are exactly 0 even when their input is NaN or inf
    xs = np.array([[np.nan, 1.0, np.inf, 2.0]], np.float32)
    out = slm.ops.softmax(xs, -1, np.array([False, True, False, True]))
    assert_close(out, torch_masked_softmax(torch, np.array([[0, 1.0, 0, 2.0]], np.float32), -1,
                                           np.array([False, True, False, True])))
    # additive -inf everywhere is NaN as in torch; NaN / +inf / all -inf rows as torch
    rows = np.array([[1, np.nan, 2, 3, 4, 5, 6, 7, 8], [1, np.inf, 2, 3, 4, 5, 6, 7, 8], [-np.inf] * 9,
                     [-np.inf, 0, -np.inf, 1, 2, 3, 4, 5, 6], [1e30, -1e30, 0, 0, 0, 0, 0, 0, 0]], np.float32)
    for xx in (rows, np.ascontiguousarray(rows.T)):
        d = -1 if xx is rows else 0
        out, ref = slm.ops.softmax(xx, d), torch_masked_softmax(torch, xx, d, None)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_allclose(out[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-6, atol=1e-30)
    out = slm.ops.softmax(np.zeros((2, 3), np.float32), -1, np.full(3, -np.inf, np.float32))
    assert np.isnan(out).all()


def test_softmax_large(path, torch, rng):
    x = wide(rng, (1000, 1000), 3.0)
    assert_close(slm.ops.softmax(x, -1), torch_masked_softmax(torch, x, -1, None))
    assert_close(slm.ops.softmax(x, 0), torch_masked_softmax(torch, x, 0, None))
    keep = rng.random((1, 1000)) > 0.1
    assert_close(slm.ops.softmax(x, -1, keep), torch_masked_softmax(torch, x, -1, keep))


# ---- RoPE ----

def hf_rope(torch, x, pos, theta, R, interleaved):
    """HF LlamaRotaryEmbedding + apply_rotary_pos_emb (float32; GPT-NeoX partial rotary),
    or the original LLaMA complex form for the interleaved layout."""
    t = torch.from_numpy(x)
    p = torch.from_numpy(pos)
    inv_freq = 1.0 / (theta ** (torch.arange(0, R, 2, dtype=torch.int64).float() / R))
    freqs = (inv_freq[None, :, None].float() @ p[None, None, :].float()).transpose(1, 2)[0]
    xr, xp = t[..., :R], t[..., R:]
    if not interleaved:
        emb = torch.cat((freqs, freqs), dim=-1)
        x1, x2 = xr[..., :R // 2], xr[..., R // 2:]
        out = xr * emb.cos() + torch.cat((-x2, x1), dim=-1) * emb.sin()
    else:
        xc = torch.view_as_complex(xr.reshape(*xr.shape[:-1], -1, 2).contiguous())
        out = torch.view_as_real(xc * torch.polar(torch.ones_like(freqs), freqs)).flatten(-2)
    return torch.cat((out, xp), dim=-1).numpy()


@pytest.mark.parametrize("interleaved", [False, True])
def test_rope_matches_hf(path, torch, rng, interleaved):
    cases = [((1, 2), None, 10000.0), ((3, 64), None, 10000.0), ((2, 4, 7, 80), 32, 10000.0),
             ((2, 2, 5, 256), 64, 10000.0), ((1, 9, 6), None, 500000.0), ((2, 3, 11, 128), None, 1e6)]
    for shape, R, theta in cases:
        x = wide(rng, shape, 1.0)
        T, D = shape[-2], shape[-1]
        pos = np.arange(T)
        ref = hf_rope(torch, x, pos, theta, R or D, interleaved)
        assert_close(slm.ops.rope(x, theta=theta, interleaved=interleaved, rotary_dim=R), ref, what=f"{shape}")
        assert_close(slm.ops.rope(noncontig(x), pos.astype(np.int32), theta, interleaved, R), ref)
    # positions up to 32k (HF float32 angles), head sizes of LLaMA / Qwen2 / Mimi
    for D, theta in [(128, 10000.0), (128, 500000.0), (64, 1e6), (96, 10000.0)]:
        x = wide(rng, (2, 64, D), 1.0)
        pos = np.sort(rng.integers(0, 32768, 64))
        pos[-1] = 32767
        assert_close(slm.ops.rope(x, pos, theta, interleaved), hf_rope(torch, x, pos, theta, D, interleaved),
                     what=f"D={D} theta={theta} long positions")
    # ~1e6 elements
    x = wide(rng, (4, 8, 256, 128), 1.0)
    assert_close(slm.ops.rope(x, interleaved=interleaved), hf_rope(torch, x, np.arange(256), 10000.0, 128, interleaved))


def test_rope_special_values(path, torch):
    x = np.ones((1, 3, 8), np.float32)
    x[0, 1, 2] = np.nan
    x[0, 2, 5] = np.inf
    for inter in (False, True):
        out, ref = slm.ops.rope(x, interleaved=inter), hf_rope(torch, x, np.arange(3), 10000.0, 8, inter)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(out), np.isinf(ref))
    # positions far beyond 2^20 radians: the library fallback of the vector sine
    x = np.ones((2, 4), np.float32)
    pos = np.array([0, 3_000_000_000])
    assert_close(slm.ops.rope(x, pos), hf_rope(torch, x, pos, 10000.0, 4, False))


# ---- bad input ----

def test_bad_input():
    x = np.ones((2, 4), np.float32)
    ops = slm.ops
    with pytest.raises(TypeError, match="layer_norm: input must be a floating-point"):
        ops.layer_norm(x.astype(np.int32), 4)
    with pytest.raises(ValueError, match="does not end with normalized_shape"):
        ops.layer_norm(x, 3)
    with pytest.raises(ValueError, match="does not end with normalized_shape"):
        ops.rms_norm(x, (3, 2, 4))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        ops.layer_norm(x, 4, np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        ops.layer_norm(x, 4, None, np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match="eps must be finite"):
        ops.layer_norm(x, 4, eps=-1.0)
    with pytest.raises(ValueError, match="eps must be finite"):
        ops.rms_norm(x, 4, eps=float("nan"))
    with pytest.raises(ValueError, match="eps must be finite"):
        ops.snake(x[None], np.ones(2, np.float32), eps=float("inf"))
    with pytest.raises(TypeError, match="normalized_shape"):
        ops.layer_norm(x, "4")
    with pytest.raises(ValueError, match="num_groups"):
        ops.group_norm(np.ones((2, 6, 3), np.float32), 4)
    with pytest.raises(ValueError, match="num_groups"):
        ops.group_norm(np.ones((2, 6, 3), np.float32), 0)
    with pytest.raises(ValueError, match="2 to"):
        ops.group_norm(np.ones(6, np.float32), 2)
    with pytest.raises(ValueError, match=r"weight must have shape \(6,\)"):
        ops.group_norm(np.ones((2, 6, 3), np.float32), 2, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        ops.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match="silu: input must be a floating-point"):
        ops.silu(np.ones(3, np.int64))
    with pytest.raises(TypeError, match="floating-point"):
        ops.relu(np.array(["a"]))
    with pytest.raises(ValueError, match="2 to"):
        ops.snake(np.ones(5, np.float32), np.ones(1, np.float32))
    with pytest.raises(ValueError, match=r"alpha must have shape \(3,\)"):
        ops.snake(np.ones((1, 3, 5), np.float32), np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"beta must have shape"):
        ops.snake(np.ones((1, 3, 5), np.float32), np.ones(3, np.float32), np.ones((3, 1), np.float32))
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        ops.softmax(x, 2)
    with pytest.raises(ValueError, match="does not broadcast"):
        ops.softmax(x, -1, np.ones(3, bool))
    with pytest.raises(ValueError, match="does not broadcast"):
        ops.softmax(x, -1, np.ones((2, 2, 4), bool))
    with pytest.raises(TypeError, match="mask must be boolean"):
        ops.softmax(x, -1, np.ones(4, np.int32))
    with pytest.raises(ValueError, match="must be even"):
        ops.rope(np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match="rotary_dim"):
        ops.rope(np.ones((3, 8), np.float32), rotary_dim=10)
    with pytest.raises(ValueError, match="rotary_dim"):
        ops.rope(np.ones((3, 8), np.float32), rotary_dim=3)
    with pytest.raises(ValueError, match=r"positions must have shape \(3,\)"):
        ops.rope(np.ones((3, 8), np.float32), np.arange(4))
    with pytest.raises(TypeError, match="positions must be an integer"):
        ops.rope(np.ones((3, 8), np.float32), np.arange(3.0))
    with pytest.raises(ValueError, match="2 to"):
        ops.rope(np.ones(8, np.float32))
    with pytest.raises(ValueError, match="theta"):
        ops.rope(np.ones((3, 8), np.float32), theta=-1.0)
    # everything still works after the errors
    assert_close(ops.softmax(x), np.full((2, 4), 0.25))
    assert_close(ops.layer_norm(x + np.arange(4, dtype=np.float32), 4, eps=0.0),
                 np.tile((np.arange(4) - 1.5) / np.sqrt(1.25), (2, 1)))


def test_zero_size_and_absurd_sizes():
    ops = slm.ops
    # empty inputs give empty outputs, as torch
    assert ops.layer_norm(np.ones((0, 5), np.float32), 5).shape == (0, 5)
    assert ops.layer_norm(np.ones((3, 0), np.float32), 0).shape == (3, 0)
    assert ops.rms_norm(np.ones((0, 5), np.float32), 5).shape == (0, 5)
    assert ops.group_norm(np.ones((0, 4, 3), np.float32), 2).shape == (0, 4, 3)
    assert ops.gelu(np.ones((0,), np.float32)).shape == (0,)
    assert ops.softmax(np.ones((3, 0), np.float32), -1).shape == (3, 0)
    assert ops.softmax(np.ones((0, 3), np.float32), 0, np.ones(3, bool)).shape == (0, 3)
    assert ops.snake(np.ones((2, 3, 0), np.float32), np.ones(3, np.float32)).shape == (2, 3, 0)
    assert ops.rope(np.ones((2, 0, 4), np.float32)).shape == (2, 0, 4)
    # absurd sizes: a clear MemoryError / ValueError, no crash
    huge = np.broadcast_to(np.zeros(1, np.float32), (2 ** 30, 2 ** 30))
    for call in (lambda: ops.gelu(huge), lambda: ops.layer_norm(huge, 2 ** 30), lambda: ops.softmax(huge),
                 lambda: ops.rope(huge), lambda: ops.group_norm(huge, 1), lambda: ops.rms_norm(huge, 2 ** 30),
                 lambda: ops.snake(huge, np.zeros(1, np.float32))):
        with pytest.raises((MemoryError, ValueError)):
            call()
    # a broadcast mask is used without being copied
    x = np.zeros((4, 3), np.float32)
    keep = np.broadcast_to(np.array([True, False, True]), (4, 3))
    assert_close(ops.softmax(x, -1, keep), np.tile([0.5, 0.0, 0.5], (4, 1)))
    assert_close(ops.gelu(np.ones(3, np.float32)), np.full(3, 0.8413447460685429))

