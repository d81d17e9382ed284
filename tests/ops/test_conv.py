"""conv1d and conv_transpose1d against torch on every path: F.conv1d, nn.Conv1d's
padding modes, causal padding through F.pad, F.conv_transpose1d; bad input."""
import threading

import numpy as np
import pytest

import slm
from conftest import FAST, assert_close, noncontig

F32 = np.float32


def _randn(rng, *shape):
    return rng.standard_normal(shape).astype(F32)


def _t(torch, a):
    return torch.from_numpy(np.ascontiguousarray(a))


# (N, Cin, Cout, L, K, stride, padding, dilation, groups)
CONV_CASES = [
    (1, 1, 1, 1, 1, 1, 0, 1, 1),          # L=1, K=1
    (2, 3, 5, 1, 3, 1, 1, 1, 1),          # L=1 with padding
    (2, 4, 6, 17, 3, 1, 1, 1, 1),
    (1, 3, 5, 50, 5, 2, 2, 1, 1),          # strided
    (2, 8, 8, 33, 4, 3, 0, 2, 2),          # stride, dilation, groups
    (1, 5, 7, 29, 1, 1, 0, 1, 1),          # K=1 (pointwise)
    (1, 6, 9, 23, 2, 7, 0, 1, 1),          # stride > K: input samples skipped
    (2, 6, 6, 40, 7, 1, 3, 1, 6),          # depthwise
    (1, 8, 16, 37, 5, 2, 2, 3, 8),         # depthwise, channel multiplier 2
    (1, 4, 12, 31, 3, 1, 1, 1, 4),         # one input channel per group, 3 outputs each
    (2, 12, 24, 100, 3, 2, 1, 3, 4),
    (1, 1, 64, 403, 10, 5, 0, 1, 1),       # HuBERT's first conv, small
    (1, 16, 16, 31, 2, 2, 0, 1, 1),        # HuBERT's k=2 s=2
    (1, 96, 80, 150, 3, 1, 1, 1, 1),       # reduction 288 > one chunk of 256
    (2, 512, 64, 9, 3, 2, 1, 1, 1),        # HuBERT-width input: reduction 1536 in 6 chunks
    (1, 64, 24, 700, 3, 1, 1, 1, 1),       # interior tasks read the input in place
    (1, 48, 48, 61, 32, 1, 16, 1, 4),      # positional-conv style: wide grouped kernel
    (1, 8, 8, 20, 5, 4, 9, 2, 8),          # padding larger than the kernel
    (3, 2, 3, 5000, 7, 1, 3, 1, 1),        # long input
    (1, 3, 2, 9, 3, 1, 0, 4, 1),           # kernel extent exactly the input
    (1, 4, 8, 60, 5, 4, 3, 2, 1),          # stride 4, dilation 2: only the even residues
    (1, 4, 8, 60, 3, 6, 2, 5, 1),          # K < stride/gcd: one phase slot per tap
    (1, 4, 4, 60, 4, 2, 1, 2, 1),          # stride 2, even dilation: a single phase
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c)))
def test_conv1d_matches_torch(path, torch, rng, case):
    N, Cin, Cout, L, K, s, p, d, g = case
    x, w, b = _randn(rng, N, Cin, L), _randn(rng, Cout, Cin // g, K), _randn(rng, Cout)
    ref = torch.nn.functional.conv1d(_t(torch, x), _t(torch, w), _t(torch, b), s, p, d, g).numpy()
    out = slm.ops.conv1d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
    assert out.dtype == F32 and out.shape == ref.shape
    assert_close(out, ref)
    ref_nb = torch.nn.functional.conv1d(_t(torch, x), _t(torch, w), None, s, p, d, g).numpy()
    assert_close(slm.ops.conv1d(x, w, None, s, p, d, g), ref_nb, what="no bias")
    # non-contiguous input and weight, tuple arguments, unbatched input
    assert_close(slm.ops.conv1d(noncontig(x), noncontig(w), b, (s,), (p,), (d,), g), ref, what="noncontig")
    assert_close(slm.ops.conv1d(x[0], w, b, s, p, d, g), ref[0], what="unbatched")


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("K,d", [(1, 1), (3, 1), (4, 1), (4, 3), (7, 2)])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv1d_string_padding(path, torch, rng, K, d, padding):
    x, w, b = _randn(rng, 2, 5, 19), _randn(rng, 6, 5, K), _randn(rng, 6)
    if padding == "valid" and d * (K - 1) >= 19:
        pytest.skip("empty output")
    ref = torch.nn.functional.conv1d(_t(torch, x), _t(torch, w), _t(torch, b), 1, padding, d).numpy()
    out = slm.ops.conv1d(x, w, b, padding=padding, dilation=d)
    assert out.shape == ref.shape
    assert_close(out, ref)


# (Cin, Cout, L, K, padding, dilation, stride, groups); padding may be 'same'
MODE_CASES = [
    (3, 4, 12, 3, 1, 1, 1, 1),
    (4, 4, 10, 5, "same", 2, 1, 2),  # odd total padding 8 -> (4, 4)
    (2, 3, 9, 4, "same", 1, 1, 1),   # uneven: (1, 2)
    (2, 3, 8, 3, 7, 1, 2, 1),        # padding L-1: reflect's limit
    (3, 3, 6, 2, 6, 1, 1, 3),        # padding L: circular's limit
    (2, 2, 1, 1, 3, 1, 1, 1),        # L=1 (replicate / circular)
]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("case", MODE_CASES, ids=lambda c: "x".join(map(str, c)))
def test_conv1d_padding_mode(path, torch, rng, mode, case):
    Cin, Cout, L, K, p, d, s, g = case
    pad = p if isinstance(p, int) else d * (K - 1)
    if (mode == "reflect" and pad >= L) or (mode == "circular" and pad > L):
        pytest.skip("torch refuses this padding too (checked in the bad-input test)")
    m = torch.nn.Conv1d(Cin, Cout, K, stride=s, padding=p, dilation=d, groups=g, padding_mode=mode)
    x = _randn(rng, 2, Cin, L)
    w = m.weight.detach().numpy().copy()
    b = m.bias.detach().numpy().copy()
    with torch.no_grad():
        ref = m(_t(torch, x)).numpy()
    out = slm.ops.conv1d(x, w, b, stride=s, padding=p, dilation=d, groups=g, padding_mode=mode)
    assert out.shape == ref.shape
    assert_close(out, ref)
    assert_close(slm.ops.conv1d(noncontig(x), w, b, s, p, d, g, padding_mode=mode), ref, what="noncontig")


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("K,d,s,L", [(7, 1, 1, 50), (3, 3, 1, 17), (4, 1, 2, 21), (1, 1, 1, 5), (2, 2, 1, 3)])
def test_conv1d_causal(path, torch, rng, mode, K, d, s, L):
    """causal=True: F.pad(x, ((K-1)*d, 0), mode) then a valid conv (EnCodec's causal
    SConv1d pads by reflection)."""
    F = torch.nn.functional
    pad = d * (K - 1)
    if mode == "reflect" and pad >= L:
        pytest.skip("reflect needs pad < L")
    x, w, b = _randn(rng, 2, 3, L), _randn(rng, 4, 3, K), _randn(rng, 4)
    tmode = "constant" if mode == "zeros" else mode
    xp = F.pad(_t(torch, x), (pad, 0), mode=tmode)
    ref = F.conv1d(xp, _t(torch, w), _t(torch, b), s, 0, d).numpy()
    out = slm.ops.conv1d(x, w, b, stride=s, dilation=d, padding_mode=mode, causal=True)
    assert out.shape == ref.shape
    assert_close(out, ref)
    if s == 1 and mode in ("zeros", "replicate"):  # t sees inputs <= t (reflect, circular look ahead)
        x2 = x.copy()
        x2[..., -1] += 100.0
        out2 = slm.ops.conv1d(x2, w, b, stride=s, dilation=d, padding_mode=mode, causal=True)
        np.testing.assert_array_equal(out2[..., :-1], out[..., :-1])


# (N, Cin, Cout, L, K, stride, padding, output_padding, dilation, groups)
CONVT_CASES = [
    (1, 1, 1, 1, 1, 1, 0, 0, 1, 1),         # L=1, K=1
    (2, 3, 2, 1, 4, 2, 0, 1, 1, 1),         # L=1
    (2, 4, 6, 17, 3, 1, 1, 0, 1, 1),        # stride 1
    (1, 8, 4, 20, 16, 8, 4, 0, 1, 1),       # HiFi-GAN upsampler shape, small
    (1, 8, 4, 21, 4, 2, 1, 0, 1, 1),        # HiFi-GAN k=4 s=2
    (1, 6, 3, 11, 4, 2, 1, 1, 1, 3),        # groups, output_padding
    (2, 5, 5, 9, 3, 3, 0, 2, 1, 1),         # output_padding > padding
    (1, 4, 8, 10, 5, 2, 3, 1, 3, 2),        # dilation, groups
    (1, 8, 8, 7, 1, 4, 0, 3, 1, 1),         # stride > K: phases with no tap (bias only)
    (1, 3, 3, 6, 2, 5, 0, 0, 1, 3),         # depthwise, stride > K
    (1, 32, 16, 50, 7, 3, 5, 2, 2, 1),
    (1, 80, 72, 40, 8, 4, 2, 0, 1, 1),      # reduction per phase 160, many channels
    (1, 300, 40, 6, 16, 8, 4, 0, 1, 1),     # reduction per phase 600 > one chunk
    (1, 40, 8, 30, 10, 5, 2, 0, 1, 1),      # EnCodec-style k=2*stride
    (2, 4, 3, 300, 3, 1, 1, 0, 1, 1),       # long
    (1, 4, 4, 9, 3, 2, 4, 0, 2, 1),         # padding eats most of the output
    # short inputs with >= 16 input channels a group take the GEMM + col2im form on the
    # SIMD paths (conv_gemm.c); the long ones keep the polyphase kernel
    (2, 64, 32, 75, 16, 8, 4, 0, 1, 1),     # EnCodec-style upsampler, short
    (1, 48, 12, 33, 5, 3, 7, 2, 3, 3),      # GEMM form: groups, dilation, big padding
    (1, 32, 16, 1, 4, 2, 1, 1, 1, 2),       # GEMM form: L=1
    (1, 32, 16, 300, 4, 2, 1, 0, 1, 1),     # polyphase kernel at a realistic width
]


@pytest.mark.parametrize("case", CONVT_CASES, ids=lambda c: "x".join(map(str, c)))
def test_conv_transpose1d_matches_torch(path, torch, rng, case):
    N, Cin, Cout, L, K, s, p, op, d, g = case
    x, w, b = _randn(rng, N, Cin, L), _randn(rng, Cin, Cout // g, K), _randn(rng, Cout)
    F = torch.nn.functional
    ref = F.conv_transpose1d(_t(torch, x), _t(torch, w), _t(torch, b), s, p, op, g, d).numpy()
    out = slm.ops.conv_transpose1d(x, w, b, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    assert out.dtype == F32 and out.shape == ref.shape
    assert_close(out, ref)
    ref_nb = F.conv_transpose1d(_t(torch, x), _t(torch, w), None, s, p, op, g, d).numpy()
    assert_close(slm.ops.conv_transpose1d(x, w, None, s, p, op, g, d), ref_nb, what="no bias")
    assert_close(slm.ops.conv_transpose1d(noncontig(x), noncontig(w), b, (s,), (p,), (op,), g, (d,)), ref,
                 what="noncontig")
    assert_close(slm.ops.conv_transpose1d(x[0], w, b, s, p, op, g, d), ref[0], what="unbatched")


def test_huge_stride(path, torch, rng):
    """A stride far beyond the input is valid (one output, or outputs far apart) and
    must not make any path allocate or loop per stride step."""
    F = torch.nn.functional
    x, w, b = _randn(rng, 1, 2, 10), _randn(rng, 3, 2, 3), _randn(rng, 3)
    ref = F.conv1d(_t(torch, x), _t(torch, w), _t(torch, b), 2**40).numpy()
    assert_close(slm.ops.conv1d(x, w, b, stride=2**40), ref)
    # stride, dilation and padding all 2**40: two outputs, each reading x[..., 0] through
    # one tap (torch would materialise the padding, so the reference is written out)
    w2 = _randn(rng, 3, 2, 2)
    out = slm.ops.conv1d(x, w2, b, stride=2**40, padding=2**40, dilation=2**40)
    ref = np.stack([w2[:, :, 1] @ x[0, :, 0] + b, w2[:, :, 0] @ x[0, :, 0] + b], axis=-1)[None]
    assert_close(out, ref)
    x, w = _randn(rng, 1, 2, 2), _randn(rng, 2, 3, 3)
    ref = F.conv_transpose1d(_t(torch, x), _t(torch, w), _t(torch, b), 10**5).numpy()
    assert_close(slm.ops.conv_transpose1d(x, w, b, stride=10**5), ref)


def test_nan_inf_propagate(path, torch, rng):
    F = torch.nn.functional
    x, w, b = _randn(rng, 1, 3, 30), _randn(rng, 4, 3, 3), _randn(rng, 4)
    x[0, 1, 5] = np.nan
    x[0, 2, 20] = np.inf
    for out, ref in [
        (slm.ops.conv1d(x, w, b, padding=1), F.conv1d(_t(torch, x), _t(torch, w), _t(torch, b), 1, 1)),
        (slm.ops.conv_transpose1d(x, w.transpose(1, 0, 2), b, stride=2),
         F.conv_transpose1d(_t(torch, x), _t(torch, w.transpose(1, 0, 2)), _t(torch, b), 2)),
    ]:
        ref = ref.numpy()
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_array_equal(np.isposinf(out), np.isposinf(ref))
        np.testing.assert_array_equal(np.isneginf(out), np.isneginf(ref))
        assert np.isnan(out).any() and np.isinf(out).any()
        fin = np.isfinite(ref)
        assert_close(out[fin], ref[fin])


def test_empty_sizes(path, torch, rng):
    w, b = _randn(rng, 4, 3, 2), _randn(rng, 4)
    assert slm.ops.conv1d(np.zeros((0, 3, 5), F32), w, b).shape == (0, 4, 4)
    assert slm.ops.conv_transpose1d(np.zeros((0, 4, 5), F32), w, None, 2).shape == (0, 3, 10)
    # no input channels: an empty sum, so the output is the bias (torch instead returns
    # a (N, 0, Lout) array, whatever the weight's Cout)
    ref = np.broadcast_to(b[None, :, None], (2, 4, 4))
    assert_close(slm.ops.conv1d(np.zeros((2, 0, 5), F32), np.zeros((4, 0, 2), F32), b), ref)
    ref = np.broadcast_to(b[None, :3, None], (2, 3, 6))
    assert_close(slm.ops.conv_transpose1d(np.zeros((2, 0, 5), F32), np.zeros((0, 3, 2), F32), b[:3]), ref)
    # no output channels: an empty result
    assert slm.ops.conv1d(np.zeros((2, 3, 5), F32), np.zeros((0, 3, 2), F32)).shape == (2, 0, 4)
    with pytest.raises(ValueError, match="input length"):
        slm.ops.conv1d(np.zeros((1, 3, 0), F32), w, padding=2)
    with pytest.raises(ValueError, match="input length"):
        slm.ops.conv_transpose1d(np.zeros((1, 4, 0), F32), w)


def test_float64_and_lists_are_cast(torch, rng):
    x, w = rng.standard_normal((1, 2, 8)), rng.standard_normal((3, 2, 3))
    ref = torch.nn.functional.conv1d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    out = slm.ops.conv1d(x, w.tolist())
    assert out.dtype == F32
    assert_close(out, ref)


def test_concurrent_calls(path, rng):
    """Many threads, several shapes at once (the oneDNN primitive cache is shared):
    every result equals the one computed alone."""
    cases = []
    for i in range(6):
        x, w = _randn(rng, 1, 4, 40 + i), _randn(rng, 5, 4, 3)
        cases.append((x, w, slm.ops.conv1d(x, w, None, 1 + i % 2), slm.ops.conv_transpose1d(x, w.transpose(1, 0, 2), None, 2)))
    errors = []

    def work(k):
        try:
            for _ in range(10):
                x, w, ref, reft = cases[k % len(cases)]
                np.testing.assert_array_equal(slm.ops.conv1d(x, w, None, 1 + k % 2), ref)
                np.testing.assert_array_equal(slm.ops.conv_transpose1d(x, w.transpose(1, 0, 2), None, 2), reft)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_many_shapes_through_the_cache(path, torch, rng):
    """More distinct shapes than the oneDNN primitive cache holds, then the first again."""
    F = torch.nn.functional
    w = _randn(rng, 2, 2, 3)
    n = 6 if FAST else 40
    for L in list(range(3, 3 + n)) + [3]:
        x = _randn(rng, 1, 2, L)
        assert_close(slm.ops.conv1d(x, w), F.conv1d(_t(torch, x), _t(torch, w)).numpy())


HUGE = 2**50  # HUGE * 4 * 3 float32 values: 50 PB


def test_conv1d_bad_input(rng):
    x, w, b = _randn(rng, 2, 4, 10), _randn(rng, 6, 4, 3), _randn(rng, 6)
    conv = slm.ops.conv1d
    with pytest.raises(TypeError, match="floating-point"):
        conv(x.astype(np.int32), w)
    with pytest.raises(TypeError, match="floating-point"):
        conv(x, w.astype(np.int64))
    with pytest.raises(TypeError, match="floating-point"):
        conv(x, w, b.astype(bool))
    with pytest.raises(ValueError, match="input must have 2 to 3"):
        conv(x[0, 0], w)
    with pytest.raises(ValueError, match="input must have 2 to 3"):
        conv(x[None], w)
    with pytest.raises(ValueError, match="weight must be 3-D"):
        conv(x, w[0])
    with pytest.raises(ValueError, match="bias must be 1-D"):
        conv(x, w, b[None])
    with pytest.raises(ValueError, match="bias must have 6"):
        conv(x, w, b[:5])
    with pytest.raises(ValueError, match="expected input with 8 channels"):
        conv(x, _randn(rng, 6, 8, 3))
    with pytest.raises(ValueError, match="expected input with 8 channels"):
        conv(x, w, groups=2)
    with pytest.raises(ValueError, match="groups=4 must divide the output channels"):
        conv(x, _randn(rng, 6, 1, 3), groups=4)
    with pytest.raises(ValueError, match="groups must be >= 1"):
        conv(x, w, groups=0)
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        conv(x, w, padding="full")
    with pytest.raises(ValueError, match="not supported for strided"):
        conv(x, w, padding="same", stride=2)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        conv(x, w, padding=-1)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        conv(x, w, stride=0)
    with pytest.raises(ValueError, match="dilation must be >= 1, got -2"):
        conv(x, w, dilation=-2)
    with pytest.raises(ValueError, match="1-element tuple"):
        conv(x, w, stride=(1, 1))
    with pytest.raises(TypeError, match="stride must be an int"):
        conv(x, w, stride=1.5)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        conv(x, w, padding=1, padding_mode="mirror")
    with pytest.raises(ValueError, match="reflect padding \\(10, 10\\) must be smaller than the input length 10"):
        conv(x, w, padding=10, padding_mode="reflect")
    with pytest.raises(ValueError, match="circular padding \\(11, 11\\) must not exceed"):
        conv(x, w, padding=11, padding_mode="circular")
    with pytest.raises(ValueError, match="exceeds the padded input length 10"):
        conv(x, _randn(rng, 6, 4, 11))
    with pytest.raises(ValueError, match="causal=True .* padding must be 0"):
        conv(x, w, padding=1, causal=True)
    # absurd sizes: clear errors, nothing allocated
    with pytest.raises(MemoryError):
        conv(x, w, padding=2**40)  # a 2**41-long output of 12 rows
    with pytest.raises(MemoryError, match="overflows"):
        conv(x, w, padding=2**62)
    with pytest.raises(ValueError, match="overflows"):
        conv(x, w, dilation=2**62)
    with pytest.raises(ValueError, match="out of range"):
        conv(x, w, stride=2**64)
    with pytest.raises(MemoryError):
        conv(np.broadcast_to(np.zeros(1, F32), (2**20, 4, 2**30)), w)
    with pytest.raises(MemoryError):
        conv(x, np.broadcast_to(np.zeros(1, F32), (HUGE, 4, 3)))
    # still works
    assert_close(conv(np.ones((1, 1, 3), F32), np.ones((1, 1, 2), F32)), np.full((1, 1, 2), 2.0))


def test_conv_transpose1d_bad_input(rng):
    x, w, b = _randn(rng, 2, 4, 10), _randn(rng, 4, 3, 3), _randn(rng, 3)
    convt = slm.ops.conv_transpose1d
    with pytest.raises(TypeError, match="floating-point"):
        convt(x.astype(np.int64), w)
    with pytest.raises(ValueError, match="input must have 2 to 3"):
        convt(x[0, 0], w)
    with pytest.raises(ValueError, match="weight must be 3-D"):
        convt(x, w[0])
    with pytest.raises(ValueError, match="expects input with 5 channels"):
        convt(x, _randn(rng, 5, 3, 3))
    with pytest.raises(ValueError, match="groups=3 must divide the input channels 4"):
        convt(x, w, groups=3)
    with pytest.raises(ValueError, match="bias must have 6 elements"):
        convt(x, w, b, groups=2)
    with pytest.raises(ValueError, match="output_padding \\(2\\) must be smaller than either stride \\(2\\)"):
        convt(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding must be >= 0"):
        convt(x, w, output_padding=-1)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        convt(x, w, padding=-1)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        convt(x, w, stride=0)
    with pytest.raises(ValueError, match="= -3 is < 1"):
        convt(x[:, :, :1], w, padding=3)
    with pytest.raises(ValueError, match="= 0 is < 1"):
        convt(x[:, :, :1], _randn(rng, 4, 3, 2), padding=1)
    with pytest.raises(TypeError, match="padding must be an int"):
        convt(x, w, padding="same")
    with pytest.raises(MemoryError):
        convt(x, w, stride=2**40)
    with pytest.raises(MemoryError, match="overflows"):
        convt(x, w, stride=2**62)
    with pytest.raises(MemoryError):
        convt(np.broadcast_to(np.zeros(1, F32), (2**20, 4, 2**30)), w)
    assert_close(convt(np.ones((1, 1, 2), F32), np.ones((1, 1, 2), F32)), np.array([[[1.0, 2.0, 1.0]]]))


def test_c_params_defaults_and_backend():
    info = slm.backend_info()
    assert info.implements["conv"] == ["ref", "avx2", "avx512", "dnnl"]


def test_thread_count_changes(path, torch, rng):
    """Results do not depend on the thread count, and a changed count is honoured by
    cached oneDNN primitives (they are keyed by it)."""
    x, w, b = _randn(rng, 2, 24, 300), _randn(rng, 32, 24, 5), _randn(rng, 32)
    ref = torch.nn.functional.conv1d(_t(torch, x), _t(torch, w), _t(torch, b), 2, 2).numpy()
    wt = w.transpose(1, 0, 2).copy()
    reft = torch.nn.functional.conv_transpose1d(_t(torch, x), _t(torch, wt), None, 3, 1).numpy()
    old = slm.get_num_threads()
    try:
        for n in (1, 3, 1):
            slm.set_num_threads(n)
            assert_close(slm.ops.conv1d(x, w, b, 2, 2), ref, what=f"{n} threads")
            assert_close(slm.ops.conv_transpose1d(x, wt, None, 3, 1), reft, what=f"{n} threads")
    finally:
        slm.set_num_threads(old)
