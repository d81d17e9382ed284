"""scaled_dot_product_attention against torch.nn.functional on every path."""
import numpy as np
import pytest

import slm
from conftest import assert_close, noncontig

sdpa = slm.ops.scaled_dot_product_attention


def ref_sdpa(torch, q, k, v, mask=None, **kw):
    t = [torch.from_numpy(np.ascontiguousarray(a)) for a in (q, k, v)]
    if mask is not None and mask.dtype != bool:
        mask = mask.astype(np.float32)  # torch wants a float mask in the query's dtype
    m = None if mask is None else torch.from_numpy(np.ascontiguousarray(mask))
    return torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=m, **kw).numpy()


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("qs,ks,Ev", [
    ((1, 1, 1, 8), (1, 1, 1, 8), 8),          # L = 1, S = 1
    ((2, 3, 5, 16), (2, 3, 7, 16), 16),       # odd L, S
    ((1, 2, 3, 13), (1, 2, 11, 13), 7),       # odd E, Ev != E
    ((2, 2, 150, 24), (2, 2, 259, 24), 20),   # several query blocks, a partial key tile
    ((1, 2, 1, 64), (1, 2, 4000, 64), 64),    # decode over a long S: keys split among threads
    ((2, 9, 64), (2, 40, 64), 32),            # 3-D
    ((6, 10), (9, 10), 3),                    # 2-D
])
def test_sdpa_matches_torch(path, torch, rng, qs, ks, Ev):
    q, k = randn(rng, *qs), randn(rng, *ks)
    v = randn(rng, *ks[:-1], Ev)
    out = sdpa(q, k, v)
    ref = ref_sdpa(torch, q, k, v)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert_close(out, ref)
    # explicit scale, and large scores (sharp softmax)
    assert_close(sdpa(q * 3, k * 3, v, scale=0.7), ref_sdpa(torch, q * 3, k * 3, v, scale=0.7))


@pytest.mark.parametrize("L,S", [(1, 1), (1, 9), (9, 1), (7, 20), (20, 7), (150, 150), (70, 300)])
def test_sdpa_causal(path, torch, rng, L, S):
    q, k, v = randn(rng, 2, 3, L, 16), randn(rng, 2, 3, S, 16), randn(rng, 2, 3, S, 12)
    assert_close(sdpa(q, k, v, is_causal=True), ref_sdpa(torch, q, k, v, is_causal=True))


def test_sdpa_causal_split(path, torch, rng):
    # one query row per head over many keys: the split path, causal limits per chunk
    q, k, v = randn(rng, 1, 2, 3, 32), randn(rng, 1, 2, 3000, 32), randn(rng, 1, 2, 3000, 32)
    assert_close(sdpa(q, k, v, is_causal=True), ref_sdpa(torch, q, k, v, is_causal=True))


@pytest.mark.parametrize("Hq,Hk,Hv,L,S", [(14, 2, 2, 1, 512), (8, 2, 2, 33, 70), (8, 4, 2, 5, 9),
                                          (4, 1, 1, 1, 1200), (6, 3, 3, 100, 40)])
def test_sdpa_gqa(path, torch, rng, Hq, Hk, Hv, L, S):
    q, k, v = randn(rng, 2, Hq, L, 32), randn(rng, 2, Hk, S, 32), randn(rng, 2, Hv, S, 24)
    out = sdpa(q, k, v, enable_gqa=True)
    assert_close(out, ref_sdpa(torch, q, k, v, enable_gqa=True))
    assert_close(sdpa(q, k, v, enable_gqa=True, is_causal=True),
                 ref_sdpa(torch, q, k, v, enable_gqa=True, is_causal=True))


def test_sdpa_masks(path, torch, rng):
    B, H, L, S, E = 2, 3, 19, 45, 16
    q, k, v = randn(rng, B, H, L, E), randn(rng, B, H, S, E), randn(rng, B, H, S, E)
    masks = {
        "bool (L, S)": rng.random((L, S)) > 0.3,
        "bool padding (B, 1, 1, S)": np.arange(S)[None, None, None, :] < np.array([30, 45])[:, None, None, None],
        "bool (B, H, L, S)": rng.random((B, H, L, S)) > 0.5,
        "float (L, S)": randn(rng, L, S),
        "float (B, H, L, S)": randn(rng, B, H, L, S),
        "float (H, 1, S) with -inf": np.where(rng.random((H, 1, S)) > 0.4, 0.0, -np.inf).astype(np.float32),
        "float64 (L, 1)": rng.standard_normal((L, 1)),
    }
    for name, m in masks.items():
        assert_close(sdpa(q, k, v, attn_mask=m), ref_sdpa(torch, q, k, v, mask=m), what=name)
    # a non-contiguous mask (strided along S)
    m = randn(rng, L, 2 * S)[:, ::2]
    assert_close(sdpa(q, k, v, attn_mask=m), ref_sdpa(torch, q, k, v, mask=m), what="strided mask")


def test_sdpa_fully_masked_rows(path, torch, rng):
    # torch 2.13's CPU kernel gives zeros for a row with no key (bool False or -inf)
    q, k, v = randn(rng, 1, 2, 6, 8), randn(rng, 1, 2, 700, 8), randn(rng, 1, 2, 700, 8)
    mb = rng.random((6, 700)) > 0.5
    mb[2] = False
    mf = np.where(mb, 0.0, -np.inf).astype(np.float32)
    for m in (mb, mf):
        ref = ref_sdpa(torch, q, k, v, mask=m)
        assert np.all(ref[:, :, 2] == 0)
        out = sdpa(q, k, v, attn_mask=m)
        assert np.all(out[:, :, 2] == 0)
        assert_close(out, ref)
    # few rows over many keys: the keys are split among threads (with 2+ threads), and the
    # chunks' partial results merged; rows masked in some chunks, in all, or not at all
    q, k, v = randn(rng, 1, 2, 6, 64), randn(rng, 1, 2, 2100, 64), randn(rng, 1, 2, 2100, 64)
    mb = rng.random((6, 2100)) > 0.5
    mb[1] = False
    mb[3, :1500] = False
    mb[4, 700:] = False
    ref = ref_sdpa(torch, q, k, v, mask=mb)
    assert np.all(ref[:, :, 1] == 0)
    out = sdpa(q, k, v, attn_mask=mb)
    assert np.all(out[:, :, 1] == 0)
    assert_close(out, ref)
    kn = k.copy()
    kn[0, 1, 1500, 3] = np.nan  # a NaN score in one chunk of every row of head 1
    ref, out = ref_sdpa(torch, q, kn, v, mask=mb), sdpa(q, kn, v, attn_mask=mb)
    assert np.array_equal(np.isnan(out), np.isnan(ref)) and np.isnan(out[0, 1, 3]).all()
    assert_close(out[0, 0], ref[0, 0])
    # no key at all
    k0, v0 = np.zeros((1, 2, 0, 64), np.float32), np.zeros((1, 2, 0, 5), np.float32)
    assert np.array_equal(sdpa(q, k0, v0), ref_sdpa(torch, q, k0, v0))


def test_sdpa_noncontiguous_and_broadcast(path, torch, rng):
    B, H, L, S, E = 2, 4, 9, 30, 16
    q, v = randn(rng, B, H, L, E), randn(rng, B, H, S, E)
    k_bshe = randn(rng, B, S, H, E)  # (B, S, H, E) viewed as (B, H, S, E): no copy needed
    k = k_bshe.transpose(0, 2, 1, 3)
    ref = ref_sdpa(torch, q, k, v)
    assert_close(sdpa(noncontig(q), k, noncontig(v)), ref)
    # reversed key order on both sides: negative strides
    assert_close(sdpa(q, k[:, :, ::-1], v[:, :, ::-1]), ref)
    # batch broadcast across ranks, and a broadcast head of key/value without GQA
    q5 = randn(rng, 2, 3, H, L, E)
    k5, v5 = randn(rng, 1, 3, 1, S, E), randn(rng, 3, H, S, E)
    assert_close(sdpa(q5, k5, v5), ref_sdpa(torch, q5, k5, v5))
    k3, v3 = randn(rng, H, S, E), randn(rng, H, S, 5)
    assert_close(sdpa(q, k3, v3), ref_sdpa(torch, q, k3, v3))
    # a single query head broadcast over four key heads
    q1 = randn(rng, B, 1, L, E)
    assert_close(sdpa(q1, k, v), ref_sdpa(torch, q1, k, v))
    # float64 / float16 inputs are cast
    assert_close(sdpa(q.astype(np.float64), k, v), ref)


def test_sdpa_nan_inf(path, torch, rng):
    q, k, v = randn(rng, 1, 2, 5, 8), randn(rng, 1, 2, 300, 8), randn(rng, 1, 2, 300, 8)
    qn = q.copy()
    qn[0, 0, 1, 3] = np.nan  # all scores of one row NaN: a NaN row (S >= 8)
    kn = k.copy()
    kn[0, 1, 200, 0] = np.nan  # one NaN score in every row of head 1: NaN rows
    vn = v.copy()
    vn[0, 0, 7, 2] = np.inf  # one column of head 0 becomes inf/NaN
    mb = np.ones((5, 300), bool)
    mb[1] = False  # NaN stays NaN under a bool mask (torch adds it as -inf)
    for args, m in (((qn, k, v), None), ((q, kn, v), None), ((q, k, vn), None), ((qn, k, v), mb),
                    ((q, kn, v), mb)):
        ref = ref_sdpa(torch, *args, mask=m)
        out = sdpa(*args, attn_mask=m)
        assert np.array_equal(np.isnan(out), np.isnan(ref))
        assert np.array_equal(np.isinf(out), np.isinf(ref))
        fin = np.isfinite(ref)
        assert_close(out[fin], ref[fin])


def test_sdpa_zero_size(path, torch, rng):
    for qs, ks, vs in [((0, 2, 3, 8), (0, 2, 5, 8), (0, 2, 5, 8)), ((1, 2, 0, 8), (1, 2, 5, 8), (1, 2, 5, 8)),
                       ((1, 2, 3, 8), (1, 2, 5, 8), (1, 2, 5, 0)), ((1, 2, 3, 0), (1, 2, 5, 0), (1, 2, 5, 4))]:
        q, k, v = randn(rng, *qs), randn(rng, *ks), randn(rng, *vs)
        out, ref = sdpa(q, k, v), ref_sdpa(torch, q, k, v)
        assert out.shape == ref.shape
        assert_close(out, ref)


def test_sdpa_bad_input(rng):
    q, k, v = randn(rng, 1, 2, 3, 8), randn(rng, 1, 2, 5, 8), randn(rng, 1, 2, 5, 8)
    with pytest.raises(TypeError, match="query must be a floating-point"):
        sdpa(q.astype(np.int32), k, v)
    with pytest.raises(TypeError, match="value must be a floating-point"):
        sdpa(q, k, v.astype(complex))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        sdpa(q[0, 0, 0], k, v)
    with pytest.raises(ValueError, match="last dimension"):
        sdpa(q, k[..., :7], v)
    with pytest.raises(ValueError, match="same length S"):
        sdpa(q, k, v[:, :, :4])
    with pytest.raises(ValueError, match="dropout_p"):
        sdpa(q, k, v, dropout_p=0.1)
    with pytest.raises(ValueError, match="cannot be combined"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(ValueError, match="enable_gqa"):
        sdpa(randn(rng, 1, 4, 3, 8), k, v)
    with pytest.raises(ValueError, match="must divide"):
        sdpa(randn(rng, 1, 3, 3, 8), k, v, enable_gqa=True)
    with pytest.raises(ValueError, match="do not broadcast"):
        sdpa(randn(rng, 3, 2, 3, 8), randn(rng, 2, 2, 5, 8), randn(rng, 2, 2, 5, 8))
    with pytest.raises(ValueError, match="does not broadcast"):
        sdpa(q, k, v, attn_mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="more dimensions"):
        sdpa(q, k, v, attn_mask=np.ones((1, 1, 2, 3, 5), bool))
    with pytest.raises(TypeError, match="attn_mask must be bool or floating"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), np.int64))
    # absurd sizes: an output of terabytes, and batch sizes whose product overflows
    huge_q = np.broadcast_to(np.zeros(1, np.float32), (2**40, 1))
    with pytest.raises(MemoryError):
        sdpa(huge_q, np.zeros((2, 1), np.float32), np.zeros((2, 1), np.float32))
    hb = np.broadcast_to(np.zeros(1, np.float32), (2**20, 2**20, 2**20, 1, 1))
    with pytest.raises((MemoryError, ValueError)):
        sdpa(hb, hb, hb)
    # the direct 4-D entry re-checks shapes
    with pytest.raises(ValueError, match="inconsistent shapes"):
        slm._C._sdpa(q, k, v[:, :, :4], None, False, 1.0)
    with pytest.raises(ValueError, match="must divide"):
        slm._C._sdpa(randn(rng, 1, 3, 3, 8), k, v, None, False, 1.0)
    # still works afterwards
    out = sdpa(q, k, v)
    assert out.shape == (1, 2, 3, 8) and np.all(np.isfinite(out))


def test_sdpa_concurrent_calls(rng):
    # calls from several Python threads at once (the GIL is released during the kernel)
    # give the same results as one after another: no shared scratch between calls
    from concurrent.futures import ThreadPoolExecutor
    args = [(randn(rng, 1, 4, 40, 32), randn(rng, 1, 2, 300, 32), randn(rng, 1, 2, 300, 16))
            for _ in range(6)]
    want = [sdpa(*a, enable_gqa=True, is_causal=True) for a in args]
    with ThreadPoolExecutor(3) as ex:
        got = list(ex.map(lambda a: sdpa(*a, enable_gqa=True, is_causal=True), args * 3))
    for i, g in enumerate(got):
        assert np.array_equal(g, want[i % 6])
