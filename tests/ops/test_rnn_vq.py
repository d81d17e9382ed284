"""lstm against torch.nn.LSTM and nearest_codeword against the EnCodec / DAC formulas in
torch, on every path."""
import numpy as np
import pytest

import slm
from conftest import assert_close, noncontig


# ---------------------------------------------------------------- lstm

def torch_lstm(torch, I, H, layers, bidir, bias=True, seed=0):
    torch.manual_seed(seed)
    m = torch.nn.LSTM(I, H, num_layers=layers, bidirectional=bidir, bias=bias)
    with torch.no_grad():
        for p in m.parameters():  # wider than the default init: gates away from 0 and 1
            p.uniform_(-0.6, 0.6)
    return m, [p.detach().numpy().copy() for p in m._flat_weights]


def run_torch(torch, m, x, hx=None, batch_first=False):
    m.batch_first = batch_first
    with torch.no_grad():
        t_hx = None if hx is None else tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in hx)
        out, (h, c) = m(torch.from_numpy(np.ascontiguousarray(x)), t_hx)
    return out.numpy(), h.numpy(), c.numpy()


@pytest.mark.parametrize("T,N,I,H,layers,bidir,batch_first", [
    (1, 1, 3, 4, 1, False, False),     # T = 1
    (7, 3, 5, 8, 2, True, False),
    (20, 2, 13, 17, 2, False, True),   # odd sizes, batch first
    (15, 4, 16, 33, 1, True, True),
    (9, 5, 8, 70, 3, False, False),    # H above one chunk of units, 3 layers
])
def test_lstm_matches_torch(path, torch, rng, T, N, I, H, layers, bidir, batch_first):
    m, params = torch_lstm(torch, I, H, layers, bidir)
    D = 2 if bidir else 1
    x = rng.standard_normal((N, T, I) if batch_first else (T, N, I)).astype(np.float32)
    for hx in (None, (rng.standard_normal((layers * D, N, H)).astype(np.float32),
                      rng.standard_normal((layers * D, N, H)).astype(np.float32))):
        ref = run_torch(torch, m, x, hx, batch_first)
        out, (h, c) = slm.ops.lstm(x, params, hx, num_layers=layers, bidirectional=bidir,
                                   batch_first=batch_first)
        assert out.shape == ref[0].shape and h.shape == ref[1].shape and c.shape == ref[2].shape
        assert_close(out, ref[0], what="output")
        assert_close(h, ref[1], what="h_n")
        assert_close(c, ref[2], what="c_n")


def test_lstm_long_sequence(path, torch, rng):
    # EnCodec-like: 2 layers over a long sequence; the state feeds back 750 times
    m, params = torch_lstm(torch, 32, 48, 2, False)
    x = rng.standard_normal((750, 1, 32)).astype(np.float32)
    ref = run_torch(torch, m, x)
    out, (h, c) = slm.ops.lstm(x, params, num_layers=2)
    assert_close(out, ref[0], what="output")
    assert_close(h, ref[1], what="h_n")
    assert_close(c, ref[2], what="c_n")


def test_lstm_variants(path, torch, rng):
    # no bias
    m, params = torch_lstm(torch, 6, 10, 2, True, bias=False)
    assert len(params) == 8
    x = rng.standard_normal((11, 2, 6)).astype(np.float32)
    ref = run_torch(torch, m, x)
    out, (h, c) = slm.ops.lstm(x, params, num_layers=2, bidirectional=True, bias=False)
    assert_close(out, ref[0])
    assert_close(h, ref[1])
    # unbatched (T, I), with and without hx (2-D)
    m, params = torch_lstm(torch, 6, 10, 1, True)
    xu = rng.standard_normal((12, 6)).astype(np.float32)
    hx = (rng.standard_normal((2, 10)).astype(np.float32), rng.standard_normal((2, 10)).astype(np.float32))
    for hxi in (None, hx):
        ref = run_torch(torch, m, xu, hxi)
        out, (h, c) = slm.ops.lstm(xu, params, hxi, bidirectional=True)
        assert out.shape == (12, 20) and h.shape == (2, 10)
        assert_close(out, ref[0])
        assert_close(h, ref[1])
        assert_close(c, ref[2])
    # non-contiguous input and weights, float64 input
    ref = run_torch(torch, m, xu[:, None, :])
    pnc = [noncontig(p) for p in params]
    out, (h, c) = slm.ops.lstm(noncontig(xu[:, None, :]).astype(np.float64), pnc, bidirectional=True)
    assert_close(out, ref[0])
    # empty batch: empty outputs, as torch
    out, (h, c) = slm.ops.lstm(np.zeros((5, 0, 6), np.float32), params, bidirectional=True)
    assert out.shape == (5, 0, 20) and h.shape == (2, 0, 10) and c.shape == (2, 0, 10)


def test_lstm_nan_propagates(path, torch, rng):
    m, params = torch_lstm(torch, 4, 8, 1, True)
    x = rng.standard_normal((6, 2, 4)).astype(np.float32)
    x[2, 1, 0] = np.nan
    ref = run_torch(torch, m, x)
    out, (h, c) = slm.ops.lstm(x, params, bidirectional=True)
    assert np.array_equal(np.isnan(out), np.isnan(ref[0]))
    # sample 1: NaN from step 2 on forward, up to step 2 in reverse; sample 0 clean
    assert np.isnan(out[2:, 1, :8]).all() and np.isnan(out[:3, 1, 8:]).all()
    assert not np.isnan(out[:2, 1, :8]).any() and not np.isnan(out[:, 0]).any()
    assert_close(out[:, 0], ref[0][:, 0])


def test_lstm_bad_input(rng):
    params = [np.zeros((16, 3), np.float32), np.zeros((16, 4), np.float32), np.zeros(16, np.float32),
              np.zeros(16, np.float32)]
    x = np.zeros((5, 2, 3), np.float32)
    with pytest.raises(ValueError, match="expected 4 arrays"):
        slm.ops.lstm(x, params[:3])
    with pytest.raises(ValueError, match="expected 8 arrays"):
        slm.ops.lstm(x, params, num_layers=2)
    with pytest.raises(ValueError, match=r"input size 7 .*weight_ih_l0\) of shape \(16, 3\)"):
        slm.ops.lstm(np.zeros((5, 2, 7), np.float32), params)
    with pytest.raises(ValueError, match=r"weight_ih_l0\) must have shape \(16, 3\)"):
        slm.ops.lstm(x, [np.zeros((12, 3), np.float32)] + params[1:])
    with pytest.raises(ValueError, match=r"bias_hh_l0\) must have shape"):
        slm.ops.lstm(x, params[:3] + [np.zeros(15, np.float32)])
    with pytest.raises(ValueError, match=r"weight_hh_l0\).*2-D"):
        slm.ops.lstm(x, [params[0], params[2], params[2], params[3]])
    with pytest.raises(TypeError, match="input must be a floating-point"):
        slm.ops.lstm(x.astype(np.int32), params)
    with pytest.raises(TypeError, match=r"params\[1\]"):
        slm.ops.lstm(x, [params[0], params[1].astype(np.int64), params[2], params[3]])
    with pytest.raises(ValueError, match="3-D"):
        slm.ops.lstm(np.zeros(5, np.float32), params)
    with pytest.raises(ValueError, match=r"h0 must have shape \(1, 2, 4\)"):
        slm.ops.lstm(x, params, (np.zeros((1, 3, 4), np.float32), np.zeros((1, 3, 4), np.float32)))
    with pytest.raises(ValueError, match="must be 3-D"):
        slm.ops.lstm(x, params, (np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32)))
    with pytest.raises(TypeError, match="tuple"):
        slm.ops.lstm(x, params, (np.zeros((1, 2, 4), np.float32),))
    with pytest.raises(ValueError, match="proj_size"):
        slm.ops.lstm(x, params, proj_size=2)
    with pytest.raises(ValueError, match="empty"):
        slm.ops.lstm(np.zeros((0, 2, 3), np.float32), params)
    with pytest.raises(ValueError, match="num_layers"):
        slm.ops.lstm(x, params, num_layers=0)
    # absurd sizes: a broadcast input of terabytes cannot be made contiguous
    huge = np.broadcast_to(np.zeros(1, np.float32), (2**20, 2**20, 3))
    with pytest.raises(MemoryError):
        slm.ops.lstm(huge, params)
    # still works afterwards
    out, (h, c) = slm.ops.lstm(x, params)
    assert out.shape == (5, 2, 4) and np.all(out == 0)


# ---------------------------------------------------------------- nearest_codeword

def torch_scores(torch, x, cb, metric):
    """The reference's own score matrix (higher is better) and its argmax, in fp32."""
    tx = torch.from_numpy(np.ascontiguousarray(x.reshape(-1, x.shape[-1])))
    tc = torch.from_numpy(np.ascontiguousarray(cb))
    if metric == "l2":  # EnCodec's EuclideanCodebook.quantize
        embed = tc.t()
        s = -(tx.pow(2).sum(1, keepdim=True) - 2 * tx @ embed + embed.pow(2).sum(0, keepdim=True))
    else:  # DAC's VectorQuantize.decode_latents
        F = torch.nn.functional
        s = F.normalize(tx, dim=-1) @ F.normalize(tc, dim=-1).t()
    return s.numpy(), s.max(-1).indices.numpy()


def assert_same_or_tie(idx, scores, ref_idx):
    """Indices equal, except where the reference's own scores of the two candidates are
    within 1e-5 relative (a tie the reference itself cannot resolve): prove each one."""
    idx = idx.reshape(-1)
    rows = np.nonzero(idx != ref_idx)[0]
    for r in rows:
        a, b = scores[r, idx[r]], scores[r, ref_idx[r]]
        assert abs(a - b) <= 1e-5 * max(abs(a), abs(b)), (
            f"row {r}: index {idx[r]} (score {a}) vs reference {ref_idx[r]} (score {b}) is no tie")
    return len(rows)


@pytest.mark.parametrize("metric", ["l2", "cosine"])
@pytest.mark.parametrize("xs,K", [((1, 1), 1), ((37, 7), 5), ((500, 16), 1024), ((3, 4, 13), 300),
                                  ((200, 128), 1024), ((9, 8), 1)])
def test_nearest_codeword_matches_torch(path, torch, rng, metric, xs, K):
    x = rng.standard_normal(xs).astype(np.float32)
    cb = rng.standard_normal((K, xs[-1])).astype(np.float32)
    scores, ref = torch_scores(torch, x, cb, metric)
    idx, dist = slm.ops.nearest_codeword(x, cb, metric=metric, return_distances=True)
    assert idx.dtype == np.int64 and idx.shape == xs[:-1] and dist.shape == xs[:-1]
    assert_same_or_tie(idx, scores, ref)
    # the distance of the chosen codeword, as the reference computes it
    chosen = scores[np.arange(scores.shape[0]), idx.reshape(-1)]
    want = -chosen if metric == "l2" else 1 - chosen
    assert_close(dist.reshape(-1), want)
    assert np.array_equal(slm.ops.nearest_codeword(noncontig(x), noncontig(cb), metric=metric), idx)


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_nearest_codeword_ties(path, torch, metric):
    # duplicated codewords and points on them: exact ties go to the lowest index
    rng = np.random.default_rng(7)
    base = rng.standard_normal((40, 6)).astype(np.float32)
    cb = np.concatenate([base, base, base[::-1]])  # every codeword three times
    x = np.concatenate([base[::3], base[5:9] * 0.5 + base[9:13] * 0.5])
    scores, ref = torch_scores(torch, x, cb, metric)
    idx = slm.ops.nearest_codeword(x, cb, metric=metric)
    assert np.all(idx < 40)  # the first copy always wins
    assert_same_or_tie(idx, scores, ref)
    # x = 0 with cosine: every score 0, index 0 (as torch's argmax)
    if metric == "cosine":
        assert slm.ops.nearest_codeword(np.zeros((2, 6), np.float32), cb, metric=metric).tolist() == [0, 0]


def test_nearest_codeword_edge_sizes(path):
    cb = np.ones((4, 3), np.float32)
    out = slm.ops.nearest_codeword(np.zeros((0, 3), np.float32), cb)
    assert out.shape == (0,) and out.dtype == np.int64
    idx, dist = slm.ops.nearest_codeword(np.zeros((2, 0), np.float32), np.zeros((3, 0), np.float32),
                                         return_distances=True)
    assert idx.tolist() == [0, 0] and dist.tolist() == [0, 0]
    assert slm.ops.nearest_codeword(np.ones(3, np.float32), cb).shape == ()


def test_nearest_codeword_bad_input(path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10, 4)).astype(np.float32)
    cb = rng.standard_normal((6, 4)).astype(np.float32)
    xn = x.copy()
    xn[7, 2] = np.nan
    with pytest.raises(ValueError, match="x row 7 contains NaN at column 2"):
        slm.ops.nearest_codeword(xn, cb)
    cbi = cb.copy()
    cbi[3, 0] = -np.inf
    with pytest.raises(ValueError, match="codebook row 3 contains Inf"):
        slm.ops.nearest_codeword(x, cbi, metric="cosine")
    xb = x.copy()
    xb[4] = 3e19
    with pytest.raises(ValueError, match="x row 4 has squared norm"):
        slm.ops.nearest_codeword(xb, cb)
    with pytest.raises(TypeError, match="x must be a floating-point"):
        slm.ops.nearest_codeword(x.astype(np.int64), cb)
    with pytest.raises(ValueError, match="codebook must be 2-D"):
        slm.ops.nearest_codeword(x, cb[0])
    with pytest.raises(ValueError, match="last dimension"):
        slm.ops.nearest_codeword(x, cb[:, :3])
    with pytest.raises(ValueError, match="empty"):
        slm.ops.nearest_codeword(x, cb[:0])
    with pytest.raises(ValueError, match="unknown metric 'dot'"):
        slm.ops.nearest_codeword(x, cb, metric="dot")
    with pytest.raises(MemoryError):
        slm.ops.nearest_codeword(np.broadcast_to(np.zeros(1, np.float32), (2**40, 4)), cb)
    # still works afterwards
    d = ((x[:, None, :] - cb[None]) ** 2).sum(-1)
    assert np.array_equal(slm.ops.nearest_codeword(x, cb), d.argmin(1))


def test_concurrent_calls(torch, rng):
    # lstm and nearest_codeword from several Python threads at once match sequential calls
    from concurrent.futures import ThreadPoolExecutor
    m, params = torch_lstm(torch, 8, 24, 2, True)
    xs = [rng.standard_normal((30, 2, 8)).astype(np.float32) for _ in range(4)]
    cb = rng.standard_normal((300, 8)).astype(np.float32)
    jobs = [lambda x=x: slm.ops.lstm(x, params, num_layers=2, bidirectional=True)[0] for x in xs]
    jobs += [lambda x=x: slm.ops.nearest_codeword(x.reshape(-1, 8), cb) for x in xs]
    want = [j() for j in jobs]
    with ThreadPoolExecutor(3) as ex:
        got = list(ex.map(lambda j: j(), jobs * 2))
    for i, g in enumerate(got):
        assert np.array_equal(g, want[i % len(jobs)])
