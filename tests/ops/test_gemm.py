"""linear and matmul against torch, the internal sgemm against NumPy, on every path.

Shapes are chosen to reach each algorithm of the SIMD path: the GEMV (up to 16 rows,
and its transposed form for up to 16 columns), the blocked GEMM with partial tiles,
several K blocks (K > 256), several row and column rounds (packed A and B are capped
at 2 and 4 MB, so a large K splits M and N), and the batched forms of matmul (folded,
per-batch parallel, broadcast operands).
"""
import os

import numpy as np
import pytest

import slm
from conftest import assert_close, nmse, noncontig

UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


def _torch_linear(torch, x, w, b=None):
    F = torch.nn.functional
    return F.linear(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(w)),
                    None if b is None else torch.from_numpy(b)).numpy()


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# (leading dims of input, K, N): 1-D input, one row (GEMV: short rows read one by one,
# rows of >= 4 KB side by side), a few rows, tall-and-narrow (transposed GEMV when there
# is no bias), blocked with odd sizes, several K blocks
LINEAR_SHAPES = [((), 1, 1), ((1,), 896, 300), ((2,), 1100, 37), ((13,), 1030, 21), ((3,), 17, 5),
                 ((2, 3), 33, 40), ((13,), 100, 9), ((40,), 70, 7), ((300,), 517, 259), ((5, 7), 300, 33),
                 ((17,), 1, 65)]


@pytest.mark.parametrize("lead,K,N", LINEAR_SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_torch(path, torch, rng, lead, K, N, with_bias):
    x = _f32(rng, *lead, K)
    w = _f32(rng, N, K)
    b = _f32(rng, N) if with_bias else None
    ref = _torch_linear(torch, x, w, b)
    out = slm.ops.linear(x, w, b)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert_close(out, ref)
    # non-contiguous input and weight, float64 input (cast)
    assert_close(slm.ops.linear(noncontig(x), noncontig(w), b), ref)
    assert_close(slm.ops.linear(x.astype(np.float64), w, b), ref)


def test_linear_weight_1d_like_torch(torch, rng):
    x, w = _f32(rng, 4, 6), _f32(rng, 6)
    ref = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    out = slm.ops.linear(x, w)
    assert out.shape == ref.shape == (4,)
    assert_close(out, ref)


def test_linear_threads_agree(rng, torch):
    """One thread and the default thread count give the same answer (each computes
    every output element in one piece)."""
    x, w, b = _f32(rng, 37, 300), _f32(rng, 70, 300), _f32(rng, 70)
    ref = _torch_linear(torch, x, w, b)
    n = slm.get_num_threads()
    try:
        slm.set_num_threads(1)
        one = slm.ops.linear(x, w, b)
    finally:
        slm.set_num_threads(n)
    assert_close(one, ref)
    assert_close(slm.ops.linear(x, w, b), ref)


# (input shape, other shape): every 1-D case, 2-D, a shared right operand (folded into one
# GEMM), a shared left operand, batched, broadcast that must be materialised, many small
# products (one per thread)
MATMUL_SHAPES = [((5,), (5,)), ((7,), (7, 3)), ((4, 7), (7,)), ((1, 1), (1, 1)), ((33, 65), (65, 17)),
                 ((3, 20, 30), (30, 40)), ((30,), (2, 30, 9)), ((3, 20, 30), (3, 30, 40)),
                 ((20, 30), (4, 30, 40)), ((2, 1, 6, 5), (1, 3, 5, 7)), ((3, 1, 6, 5), (4, 5, 7)),
                 ((64, 9, 8), (64, 8, 11)), ((2, 300, 260), (2, 260, 19))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_matches_torch(path, torch, rng, sa, sb):
    a, b = _f32(rng, *sa), _f32(rng, *sb)
    ref = torch.matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    out = slm.ops.matmul(a, b)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == ref.shape
    assert_close(out, ref)
    assert_close(slm.ops.matmul(noncontig(a), noncontig(b)), ref)


def test_matmul_transposed_views(path, torch, rng):
    """Transposed views (as attention's k.swapaxes(-1, -2)) are accepted like torch."""
    q, k = _f32(rng, 2, 11, 8), _f32(rng, 2, 13, 8)
    kt = k.swapaxes(-1, -2)
    ref = torch.matmul(torch.from_numpy(q), torch.from_numpy(k).transpose(-1, -2)).numpy()
    assert_close(slm.ops.matmul(q, kt), ref)


# (M, N, K): GEMV (M <= 16), transposed GEMV (N <= 16), blocked with partial tiles and
# several K blocks
SGEMM_SHAPES = [(1, 1, 1), (1, 300, 70), (5, 33, 300), (16, 40, 20), (40, 3, 50), (300, 16, 17),
                (20, 1, 9), (31, 45, 300), (97, 130, 61), (800, 20, 12), (18, 4100, 9)]


def _op(x, t):
    return x.T if t else x


@pytest.mark.parametrize("M,N,K", SGEMM_SHAPES)
def test_sgemm_contract(path, rng, M, N, K):
    """slm_sgemm, the building block of the other families: transposes, leading
    dimensions larger than the width, alpha, beta, and C untouched outside its view."""
    for ta in (0, 1):
        for tb in (0, 1):
            sa = (K, M) if ta else (M, K)
            sb = (N, K) if tb else (K, N)
            A = _f32(rng, sa[0], sa[1] + 3)[:, :sa[1]]  # row stride > width
            B = _f32(rng, sb[0], sb[1] + 5)[:, :sb[1]]
            for alpha, beta in ((1.0, 0.0), (0.5, 2.0), (-1.5, 1.0)):
                big = _f32(rng, M, N + 7)
                C = big[:, :N]
                C0 = C.astype(np.float64)
                outside = big[:, N:].copy()
                if beta == 0.0:
                    C[...] = np.nan  # never read when beta == 0
                slm._C._sgemm(ta, tb, A, B, alpha, beta, C)
                ref = alpha * (_op(A.astype(np.float64), ta) @ _op(B.astype(np.float64), tb))
                if beta != 0.0:
                    ref = ref + beta * C0
                assert_close(C, ref, what=f"sgemm ta={ta} tb={tb} alpha={alpha} beta={beta}")
                assert np.array_equal(big[:, N:], outside), "sgemm wrote outside C"


@pytest.mark.parametrize("ta,tb,M,N", [(0, 1, 200, 40), (1, 0, 20, 2100), (1, 1, 100, 1100)])
def test_sgemm_several_rounds(path, rng, ta, tb, M, N):
    """With K = 4200 the SIMD path caps its packed A and B blocks at 96 rows and (on one
    thread) 1024 columns: M = 200 takes three row rounds, N = 2100 three column rounds,
    100 x 1100 two of each (rows outer or columns outer, whichever repacks less), each
    with 17 K blocks and beta accumulating into C."""
    if path in ("ref", "dnnl"):
        pytest.skip("the rounds are the SIMD path's blocking")
    K = 4200
    A = _f32(rng, K, M) if ta else _f32(rng, M, K)
    B = _f32(rng, N, K) if tb else _f32(rng, K, N)
    C = _f32(rng, M, N)
    ref = 0.5 * C.astype(np.float64) + _op(A.astype(np.float64), ta) @ _op(B.astype(np.float64), tb)
    n = slm.get_num_threads()
    try:
        slm.set_num_threads(1)
        slm._C._sgemm(ta, tb, A, B, 1.0, 0.5, C)
    finally:
        slm.set_num_threads(n)
    assert_close(C, ref)


@pytest.mark.parametrize("M,N,K", [(3, 40, 20), (60, 70, 300), (50, 5, 30)])
def test_sgemm_inside_parallel_region(path, rng, M, N, K):
    """Called from inside another kernel's parallel loop, slm_sgemm runs on the calling
    thread (no nested team, no oneDNN threads) and gives the same results."""
    A, B = _f32(rng, K, M), _f32(rng, N, K)
    Cs = np.full((5, M, N), np.nan, np.float32)
    slm._C._sgemm_in_parallel(1, 1, A, B, Cs)
    ref = A.T.astype(np.float64) @ B.T.astype(np.float64)
    for p in range(5):
        assert_close(Cs[p], ref)


@pytest.mark.parametrize("M,K,N", [(1500, 1500, 1500), (4, 4096, 8192)])
def test_interrupt_stops_and_op_still_works(path, rng, M, K, N):
    """Ctrl-C (the interrupt flag, raised from another thread) stops a long product
    (blocked GEMM, GEMV) with KeyboardInterrupt; the op works afterwards."""
    if path == "dnnl":
        pytest.skip("a oneDNN primitive cannot be stopped once started")
    import threading
    x = np.ones((M, K), np.float32)
    w = np.ones((N, K), np.float32)
    done = threading.Event()

    def press_ctrl_c():  # again and again: each call re-arms (clears) the flag
        while not done.wait(0.005):
            slm._C._request_interrupt()

    t = threading.Thread(target=press_ctrl_c)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in range(200):
                slm.ops.linear(x, w)
    finally:
        done.set()
        t.join()
    assert_close(slm.ops.linear(x[:2, :5], w[:3, :5]), np.full((2, 3), 5.0))


def test_sgemm_k0_and_empty(path):
    A = np.zeros((3, 0), np.float32)
    B = np.zeros((0, 4), np.float32)
    C = np.full((3, 4), 2.0, np.float32)
    slm._C._sgemm(0, 0, A, B, 1.0, 0.5, C)  # K == 0: C = beta * C
    assert np.array_equal(C, np.full((3, 4), 1.0, np.float32))
    C[...] = np.nan
    slm._C._sgemm(0, 0, A, B, 1.0, 0.0, C)  # beta == 0: zeros, C not read
    assert np.array_equal(C, np.zeros((3, 4), np.float32))
    slm._C._sgemm(0, 0, np.zeros((0, 5), np.float32), np.zeros((5, 4), np.float32), 1.0, 0.0,
                  np.zeros((0, 4), np.float32))
    with pytest.raises(ValueError, match="does not give"):
        slm._C._sgemm(0, 0, np.zeros((3, 5), np.float32), np.zeros((4, 4), np.float32), 1.0, 0.0, C)


# ---- bf16 weights ---------------------------------------------------------------------

def test_bf16_conversion_matches_torch(torch, rng):
    w = _f32(rng, 7, 9) * 100
    w[0, 0], w[0, 1], w[0, 2] = np.nan, np.inf, -0.0
    t = slm.ops.bf16(w)
    assert isinstance(t, slm.ops.BF16Tensor) and t.shape == w.shape and t.bits.dtype == np.uint16
    ref = torch.from_numpy(w).to(torch.bfloat16).float().numpy()
    out = t.to_float()
    assert np.array_equal(np.isnan(out), np.isnan(ref))
    m = ~np.isnan(ref)
    assert np.array_equal(out[m], ref[m])


@pytest.mark.parametrize("lead,K,N", [((), 17, 5), ((1,), 896, 300), ((1,), 2100, 9), ((3,), 2050, 7),
                                      ((3,), 70, 33), ((13,), 40, 9), ((2, 150), 300, 70), ((64,), 33, 1)])
def test_linear_bf16_weight(path, torch, rng, lead, K, N):
    x, w, b = _f32(rng, *lead, K), _f32(rng, N, K), _f32(rng, N)
    wq = torch.from_numpy(w).to(torch.bfloat16).float().numpy()
    ref_q = _torch_linear(torch, x, wq, b)  # the same math as a bf16-weight linear
    out = slm.ops.linear(x, slm.ops.bf16(w), b)
    assert out.dtype == np.float32 and out.shape == ref_q.shape
    assert_close(out, ref_q)
    assert_close(slm.ops.linear(noncontig(x), slm.ops.bf16(noncontig(w)), b), ref_q)
    # the documented bound of weight-only bf16 against the float32 weight: rounding w to
    # 8 mantissa bits gives a relative error of ~2^-9 per weight, NMSE ~ 1e-5 at most
    err = nmse(out, _torch_linear(torch, x, w, b))
    assert err < 3e-5, f"bf16 weight vs float32 weight: nmse {err:.2e}"


def test_matmul_bf16_other(path, torch, rng):
    a, b = _f32(rng, 2, 5, 40), _f32(rng, 40, 7)
    bq = torch.from_numpy(b).to(torch.bfloat16).float()
    ref = torch.matmul(torch.from_numpy(a), bq).numpy()
    t = slm.ops.bf16(b)
    assert_close(slm.ops.matmul(a, t), ref)
    assert_close(slm.ops.matmul(a[0, 0], t), ref[0, 0])  # 1-D input
    with pytest.raises(ValueError, match="2-D"):
        slm.ops.matmul(a, slm.ops.bf16(b[0]))


# ---- bad input ------------------------------------------------------------------------

def test_linear_bad_input(rng):
    x, w, b = _f32(rng, 3, 4), _f32(rng, 5, 4), _f32(rng, 5)
    with pytest.raises(TypeError, match="linear: input must be a floating-point"):
        slm.ops.linear(x.astype(np.int32), w)
    with pytest.raises(TypeError, match="linear: weight must be a floating-point"):
        slm.ops.linear(x, w.astype(np.int64))
    with pytest.raises(TypeError, match="linear: bias must be a floating-point"):
        slm.ops.linear(x, w, b.astype(bool))
    with pytest.raises(ValueError, match="input must have 1 to"):
        slm.ops.linear(np.float32(1.0), w)
    with pytest.raises(ValueError, match="weight must be 2-D"):
        slm.ops.linear(x, w[None])
    with pytest.raises(ValueError, match=r"has 3 features .* expects 4"):
        slm.ops.linear(x[:, :3], w)
    with pytest.raises(ValueError, match=r"bias must have shape \(5,\)"):
        slm.ops.linear(x, w, b[:4])
    with pytest.raises(ValueError, match="bias must be 1-D"):
        slm.ops.linear(x, w, b[None])
    with pytest.raises(TypeError, match="bits must be a uint16"):
        slm.ops.BF16Tensor(w)
    with pytest.raises(ValueError, match="BF16Tensor weight must be 2-D"):
        slm.ops.linear(x, slm.ops.bf16(b))
    # absurd sizes: a huge output from tiny (empty) inputs, and a huge broadcast weight
    with pytest.raises(MemoryError, match="linear"):
        slm.ops.linear(np.zeros((2**30, 2**30, 0), np.float32), np.zeros((4, 0), np.float32))
    with pytest.raises(MemoryError, match="linear"):
        slm.ops.linear(np.zeros((2**31, 0), np.float32), np.zeros((2**31, 0), np.float32))
    if not UNDER_ASAN:  # ASan aborts on NumPy's failing multi-petabyte copy instead of returning NULL
        with pytest.raises((MemoryError, ValueError)):
            slm.ops.linear(np.zeros((1, 2**20), np.float32),
                           np.broadcast_to(np.zeros(1, np.float32), (2**31, 2**20)))
    # still works
    assert_close(slm.ops.linear(x, w, b), x.astype(np.float64) @ w.T + b)


def test_linear_zero_size_like_torch(path, torch):
    F = torch.nn.functional
    # K == 0: torch gives the bias (or zeros)
    b = np.arange(4, dtype=np.float32)
    out = slm.ops.linear(np.zeros((3, 0), np.float32), np.zeros((4, 0), np.float32), b)
    ref = F.linear(torch.zeros(3, 0), torch.zeros(4, 0), torch.from_numpy(b)).numpy()
    assert np.array_equal(out, ref)
    assert np.array_equal(slm.ops.linear(np.zeros((3, 0), np.float32), np.zeros((4, 0), np.float32)),
                          np.zeros((3, 4), np.float32))
    assert slm.ops.linear(np.zeros((0, 5), np.float32), np.zeros((4, 5), np.float32)).shape == (0, 4)
    assert slm.ops.linear(np.zeros((2, 0, 5), np.float32), np.zeros((4, 5), np.float32)).shape == (2, 0, 4)
    assert slm.ops.linear(np.zeros((3, 5), np.float32), np.zeros((0, 5), np.float32)).shape == (3, 0)
    assert slm.ops.linear(np.zeros((3, 0), np.float32), slm.ops.bf16(np.zeros((4, 0))), b).shape == (3, 4)


def test_linear_nan_inf_propagate_like_torch(path, torch, rng):
    x, w, b = _f32(rng, 20, 30), _f32(rng, 9, 30), _f32(rng, 9)
    x[3, 5] = np.nan
    x[7, 2] = np.inf
    w[4, 1] = -np.inf
    ref = _torch_linear(torch, x, w, b)
    out = slm.ops.linear(x, w, b)
    assert np.array_equal(np.isnan(out), np.isnan(ref))
    assert np.array_equal(np.isinf(out), np.isinf(ref))
    fin = np.isfinite(ref)
    assert_close(out[fin], ref[fin])
    # one row: the GEMV path
    ref1 = _torch_linear(torch, x[3:4], w, b)
    assert np.array_equal(np.isnan(slm.ops.linear(x[3:4], w, b)), np.isnan(ref1))


def test_matmul_bad_input(rng):
    a, b = _f32(rng, 3, 4), _f32(rng, 4, 5)
    with pytest.raises(ValueError, match="at least 1-D"):
        slm.ops.matmul(np.float32(2.0), b)
    with pytest.raises(ValueError, match="cannot be multiplied"):
        slm.ops.matmul(a, b[:3])
    with pytest.raises(ValueError, match="do not broadcast"):
        slm.ops.matmul(_f32(rng, 2, 3, 4), _f32(rng, 3, 4, 5))
    with pytest.raises(TypeError, match="matmul: input must be a floating-point"):
        slm.ops.matmul(a.astype(np.int64), b)
    with pytest.raises(TypeError, match="matmul: other must be a floating-point"):
        slm.ops.matmul(a, b.astype(np.complex64))
    with pytest.raises(MemoryError, match="matmul"):
        slm.ops.matmul(np.zeros((2**30, 2**30, 0), np.float32), np.zeros((0, 4), np.float32))
    # zero sizes like torch; K == 0 gives zeros
    assert slm.ops.matmul(np.zeros((2, 0, 3), np.float32), b[:3]).shape == (2, 0, 5)
    assert np.array_equal(slm.ops.matmul(np.zeros((3, 0), np.float32), np.zeros((0, 5), np.float32)),
                          np.zeros((3, 5), np.float32))
    assert slm.ops.matmul(np.zeros((0, 3, 4), np.float32), _f32(rng, 1, 4, 5)).shape == (0, 3, 5)
    # NaN propagates
    an = a.copy()
    an[1, 2] = np.nan
    out = slm.ops.matmul(an, b)
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()
    # still works
    assert_close(slm.ops.matmul(a, b), a.astype(np.float64) @ b)


def test_sgemm_hook_rejects_bad_arrays():
    C = np.zeros((2, 2), np.float32)
    with pytest.raises(TypeError, match="2-D float32"):
        slm._C._sgemm(0, 0, np.zeros((2, 2)), C, 1.0, 0.0, C)
    with pytest.raises(ValueError, match="contiguous rows"):
        slm._C._sgemm(0, 0, np.zeros((2, 4), np.float32)[:, ::2], C, 1.0, 0.0, C)
    with pytest.raises(ValueError, match="writable"):
        slm._C._sgemm(0, 0, C, C, 1.0, 0.0, np.broadcast_to(np.zeros(2, np.float32), (2, 2)))
