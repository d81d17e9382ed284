"""slm.tokenizers.KMeans: parity of predict with scikit-learn's KMeans.predict on the same
centroids (random data and real-speech MFCC/log-mel), fit quality and reproducibility,
mini-batch streaming, centroid files, sklearn pickles through the restricted unpickler,
and bad input."""
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from conftest import load_speech
import slm
from slm.tokenizers import KMeans

sklearn_cluster = pytest.importorskip("sklearn.cluster")


def _sk_with_centers(c):
    sk = sklearn_cluster.KMeans(n_clusters=c.shape[0], n_init=1)
    sk.cluster_centers_ = c
    sk.n_features_in_ = c.shape[1]
    sk._n_threads = 1
    sk.labels_ = np.zeros(1, np.int32)
    return sk


def _check_parity(x, c):
    """Labels equal to sklearn's predict except at proven ties: the two candidates' exact
    (float64) squared distances differ by less than 16 float32 ulps of the distance scale
    (||x||^2 + ||c||^2, the magnitude the float32 expansion cancels from), and ties are rare."""
    ours = KMeans.from_centers(c).predict(x)
    ref = _sk_with_centers(c).predict(x)
    assert ours.dtype == np.int64 and ours.shape == (x.shape[0],)
    diff = np.nonzero(ours != ref)[0]
    x64, c64 = x.astype(np.float64), c.astype(np.float64)
    for i in diff:
        da = ((x64[i] - c64[ours[i]]) ** 2).sum()
        db = ((x64[i] - c64[ref[i]]) ** 2).sum()
        scale = (x64[i] ** 2).sum() + max((c64[ours[i]] ** 2).sum(), (c64[ref[i]] ** 2).sum())
        assert abs(da - db) <= 16 * np.finfo(np.float32).eps * scale, (i, da, db, scale)
    assert len(diff) <= max(2, x.shape[0] // 1000), f"{len(diff)} ties of {x.shape[0]}"


@pytest.mark.parametrize("D,K", [(39, 50), (80, 100), (768, 500), (39, 500), (768, 50)])
def test_predict_parity_random(path, D, K):
    rng = np.random.default_rng(D * 1000 + K)
    x = rng.standard_normal((1500, D)).astype(np.float32)
    c = rng.standard_normal((K, D)).astype(np.float32)
    _check_parity(x, c)
    # centres drawn from the data: many near-duplicate distances
    _check_parity(x, (x[:K] + 0.01 * c).astype(np.float32))


def _speech_features():
    y, sr = load_speech("festival_slt.wav")
    y = np.ascontiguousarray(y[: sr * 3], dtype=np.float32)  # 32 kHz fixture, 3 s
    mk = {"n_fft": 800, "hop_length": 160, "n_mels": 80}
    mf = slm.features.mfcc(y, sample_rate=sr, n_mfcc=39, melkwargs=mk).T
    mel = np.log(slm.features.melspectrogram(y, sample_rate=sr, **mk) + 1e-6).T
    return np.ascontiguousarray(mf, np.float32), np.ascontiguousarray(mel, np.float32)


@pytest.mark.parametrize("K", [50, 100, 500])
def test_predict_parity_speech(path, K):
    for feats in _speech_features():
        k = min(K, feats.shape[0] // 2)
        rng = np.random.default_rng(K)
        c = feats[rng.choice(feats.shape[0], k, replace=False)] + 0.05 * rng.standard_normal(
            (k, feats.shape[1])).astype(np.float32)
        _check_parity(feats, c.astype(np.float32))


def test_fit_quality_and_reproducible():
    rng = np.random.default_rng(1)
    mf, _ = _speech_features()
    x = np.concatenate([mf, rng.standard_normal((1500, 39)).astype(np.float32) * 5 + 3])
    ours, ref = [], []
    for seed in range(3):
        a = KMeans(50, random_state=seed).fit(x)
        b = KMeans(50, random_state=seed).fit(x)
        assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
        assert a.inertia_ == b.inertia_
        ours.append(a.inertia_)
        ref.append(sklearn_cluster.KMeans(50, n_init=1, random_state=seed).fit(x).inertia_)
    assert np.mean(ours) <= 1.03 * np.mean(ref), (ours, ref)
    # inertia_ is the sum of squared distances under the final centres
    lab, d2 = a.predict_with_distances(x)
    assert abs(a.inertia_ - d2.astype(np.float64).sum()) <= 1e-6 * a.inertia_


def test_fit_independent_of_threads():
    x = np.random.default_rng(2).standard_normal((3000, 20)).astype(np.float32)
    old = slm.get_num_threads() if hasattr(slm, "get_num_threads") else None
    if old is None or not hasattr(slm, "set_num_threads"):
        pytest.skip("no thread control")
    try:
        slm.set_num_threads(1)
        a = KMeans(16, random_state=3).fit(x).cluster_centers_
        slm.set_num_threads(2)
        b = KMeans(16, random_state=3).fit(x).cluster_centers_
    finally:
        slm.set_num_threads(old)
    assert np.array_equal(a, b)


def test_stream_minibatch(tmp_path):
    rng = np.random.default_rng(4)
    true = rng.standard_normal((20, 16)).astype(np.float32) * 10
    chunks = []
    for i in range(6):
        lab = rng.integers(0, 20, 2000)
        f = tmp_path / f"chunk{i}.npy"
        np.save(f, (true[lab] + rng.standard_normal((2000, 16))).astype(np.float32))
        chunks.append(f)
    files = lambda: (np.load(f, mmap_mode="r") for f in chunks)  # noqa: E731
    km = KMeans(20, random_state=0, batch_size=1024).fit_stream(files, epochs=2)
    x = np.concatenate(list(files()))
    full = KMeans(20, random_state=0).fit(x)
    _, d2 = km.predict_with_distances(x)
    assert d2.astype(np.float64).sum() <= 1.5 * full.inertia_
    km2 = KMeans(20, random_state=0, batch_size=1024).fit_stream(files, epochs=2)
    assert np.array_equal(km.cluster_centers_, km2.cluster_centers_)


def test_files(tmp_path):
    c = np.random.default_rng(5).standard_normal((10, 8)).astype(np.float32)
    km = KMeans.from_centers(c)
    for name in ("c.npy", "c.safetensors"):
        km.save(tmp_path / name)
        assert np.array_equal(KMeans.load(tmp_path / name).cluster_centers_, c)


@pytest.mark.parametrize("kind", ["pickle", "joblib"])
@pytest.mark.parametrize("cls", ["KMeans", "MiniBatchKMeans"])
def test_sklearn_pickles(tmp_path, kind, cls):
    x = np.random.default_rng(6).standard_normal((600, 12)).astype(np.float32)
    sk = getattr(sklearn_cluster, cls)(n_clusters=7, n_init=1, random_state=0).fit(x)
    f = tmp_path / "km.bin"
    if kind == "pickle":
        with open(f, "wb") as fh:
            pickle.dump(sk, fh)
    else:
        joblib = pytest.importorskip("joblib")
        joblib.dump(sk, f)
    km = KMeans.load(f)
    assert np.array_equal(km.cluster_centers_, sk.cluster_centers_.astype(np.float32))
    assert np.array_equal(km.predict(x), sk.predict(x))
    # loading imports neither sklearn nor joblib
    code = ("import sys; from slm.tokenizers import KMeans; KMeans.load(sys.argv[1]); "
            "assert 'sklearn' not in sys.modules and 'joblib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(f)], check=True, cwd=os.getcwd())


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/slm_kmeans_pwned",))


def test_malicious_pickle(tmp_path):
    f = tmp_path / "evil.pkl"
    with open(f, "wb") as fh:
        pickle.dump({"cluster_centers_": _Evil()}, fh)
    if os.path.exists("/tmp/slm_kmeans_pwned"):
        os.remove("/tmp/slm_kmeans_pwned")
    with pytest.raises(slm.io.UnsafePickleError):
        KMeans.from_sklearn_pickle(f)
    assert not os.path.exists("/tmp/slm_kmeans_pwned")
    joblib = pytest.importorskip("joblib")
    joblib.dump({"cluster_centers_": _Evil(), "a": np.zeros(3)}, tmp_path / "evil.joblib")
    with pytest.raises(slm.io.UnsafePickleError):
        KMeans.load(tmp_path / "evil.joblib")
    assert not os.path.exists("/tmp/slm_kmeans_pwned")
    f2 = tmp_path / "plain.pkl"
    with open(f2, "wb") as fh:
        pickle.dump([1, 2], fh)
    with pytest.raises(ValueError):
        KMeans.from_sklearn_pickle(f2)


def test_bad_input():
    x = np.random.default_rng(7).standard_normal((20, 4)).astype(np.float32)
    with pytest.raises(ValueError):
        KMeans(30).fit(x)  # k > n
    for k in (0, -1):
        with pytest.raises(ValueError):
            KMeans(k)
    km = KMeans(3).fit(x)
    with pytest.raises(ValueError):
        km.predict(np.zeros((5, 5), np.float32))  # D mismatch
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError):
        km.predict(bad)
    with pytest.raises(ValueError):
        KMeans(3).fit(bad)
    with pytest.raises(ValueError):
        km.predict(x[0])  # rank
    with pytest.raises(TypeError):
        km.predict(x.astype(np.complex64))
    with pytest.raises(TypeError):
        km.predict(np.array([["a"] * 4]))
    assert km.predict(np.zeros((0, 4), np.float32)).shape == (0,)
    with pytest.raises(ValueError):
        KMeans(3).partial_fit(np.zeros((0, 4), np.float32))
    with pytest.raises(ValueError):
        KMeans(3).predict(x)  # not fitted
    huge = np.broadcast_to(np.zeros(1, np.float32), (1 << 40, 4))
    with pytest.raises((MemoryError, ValueError)):
        km.predict(huge)
    with pytest.raises(ValueError):
        slm._C.kmeans_predict(x, np.zeros((0, 4), np.float32))
    assert np.array_equal(km.predict(x), KMeans.from_centers(km.cluster_centers_).predict(x))


def test_partial_fit_rule():
    """One mini-batch step is MiniBatchKMeans's per-centre learning rate: the running mean."""
    rng = np.random.default_rng(8)
    a = rng.standard_normal((40, 5)).astype(np.float32)
    b = rng.standard_normal((30, 5)).astype(np.float32)
    km = KMeans(4, random_state=0).partial_fit(a)
    c0, n0 = km.cluster_centers_.astype(np.float64), km.counts_.copy()
    lab = km.predict(b)
    km.partial_fit(b)
    for j in range(4):
        m = lab == j
        want = c0[j] if not m.any() else (c0[j] * n0[j] + b[m].astype(np.float64).sum(0)) / (n0[j] + m.sum())
        np.testing.assert_allclose(km.cluster_centers_[j], want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError):
        KMeans(50).partial_fit(a)  # first batch smaller than k


def _sums_reference(x, lab, k):
    """the NumPy centre sums the C code replaced: stable sort, then add.reduceat in float64
    (rows of a cluster added in row order)"""
    cnt = np.bincount(lab, minlength=k)
    sums = np.zeros((k, x.shape[1]), np.float64)
    if x.shape[0]:
        order = np.argsort(lab, kind="stable")
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        nz = cnt > 0
        sums[nz] = np.add.reduceat(x[order].astype(np.float64), starts[nz], axis=0)
    return sums, cnt


@pytest.mark.parametrize("threads", [1, 2])
def test_cluster_sums_in_c_equal_the_numpy_reference_bit_for_bit(threads):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((6000, 200)) * 10).astype(np.float32)
    lab = rng.integers(0, 13, 6000)
    lab[lab == 5] = 6  # an empty cluster
    before = slm.get_num_threads()
    slm.set_num_threads(threads)
    try:
        sums, cnt = slm._C.kmeans_cluster_sums(x, lab, 13)
    finally:
        slm.set_num_threads(before)
    ref_s, ref_c = _sums_reference(x, lab, 13)
    assert np.array_equal(cnt, ref_c) and cnt[5] == 0
    assert np.array_equal(sums, ref_s)  # the same additions in the same order


def test_cluster_sums_bad_labels():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="row 2"):
        slm._C.kmeans_cluster_sums(x, np.array([0, 1, 7, 0]), 3)
    with pytest.raises(ValueError, match="row 0"):
        slm._C.kmeans_cluster_sums(x, np.array([-1, 1, 0, 0]), 3)
    with pytest.raises(ValueError, match="labels"):
        slm._C.kmeans_cluster_sums(x, np.array([0, 1]), 3)
    s, c = slm._C.kmeans_cluster_sums(x, np.array([0, 1, 2, 0]), 3)
    assert list(c) == [2, 1, 1]


# ---------------------------------------------------------------- training loops in C
def _plusplus_reference(x, k, first, u, trials):
    """k-means++ with greedy trials in NumPy float64 from the same draws as the C code:
    candidates by searchsorted on the running sum of D^2, the first lowest potential wins."""
    x64 = x.astype(np.float64)
    chosen = [first]
    d2 = ((x64 - x64[first]) ** 2).sum(1)
    for i in range(1, k):
        uu = u[(i - 1) * trials:i * trials]
        cand = np.minimum(np.searchsorted(np.cumsum(d2), uu * d2.sum()), len(x) - 1)
        dc = ((x64[:, None, :] - x64[cand][None]) ** 2).sum(2)
        nd2 = np.minimum(d2[:, None], dc)
        j = int(np.argmin(nd2.sum(0)))
        chosen.append(int(cand[j]))
        d2 = nd2[:, j]
    return np.array(chosen)


@pytest.mark.parametrize("n,d,k", [(400, 8, 10), (1200, 39, 50), (300, 80, 100)])
def test_plusplus_in_c_matches_the_numpy_reference(path, n, d, k):
    rng = np.random.default_rng(n + d + k)
    x = (rng.standard_normal((n, d)) + rng.integers(0, 5, (n, 1))).astype(np.float32)
    trials = 2 + int(np.log(k))
    first = int(rng.integers(n))
    u = rng.random((k - 1) * trials)
    c, chosen = slm._C.kmeans_plusplus(x, k, first, u)
    want = _plusplus_reference(x, k, first, u, trials)
    # the same rows are chosen (the distances differ in last bits only: float32 differences
    # accumulated in SIMD lanes vs float64 here, far from any decision on these data)
    assert np.array_equal(chosen, want)
    assert np.array_equal(c, x[want])


def _lloyd_reference(x, c, max_iter, tol):
    """the Lloyd loop the C code replaced (NumPy around the C assignment and sums)"""
    k = c.shape[0]
    tol = tol * float(np.mean(np.var(x.astype(np.float64), axis=0)))
    lab, d2 = slm._C.kmeans_predict(x, c)
    it = 0
    for it in range(1, max_iter + 1):
        sums, cnt = slm._C.kmeans_cluster_sums(x, lab, k)
        new = c.astype(np.float64).copy()
        nz = cnt > 0
        new[nz] = sums[nz] / cnt[nz, None]
        empty = np.nonzero(~nz)[0]
        if len(empty):
            far = np.argsort(-d2.astype(np.float64), kind="stable")[:len(empty)]
            new[empty] = x[far]
        new = new.astype(np.float32)
        shift = float(((new.astype(np.float64) - c) ** 2).sum())
        c = new
        new_lab, d2 = slm._C.kmeans_predict(x, c)
        done = np.array_equal(lab, new_lab) or shift <= tol
        lab = new_lab
        if done:
            break
    return c, lab, it


@pytest.mark.parametrize("tol", [0.0, 1e-4, 1e-2])
def test_lloyd_in_c_matches_the_numpy_loop(tol):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((2500, 24)) * 3 + rng.integers(0, 6, (2500, 1))).astype(np.float32)
    c0 = x[rng.choice(2500, 40, replace=False)].copy()
    c0[:3] = 1e3  # three centres nobody is near: empty clusters on the first iteration
    c, lab, d2, it, inertia = slm._C.kmeans_lloyd(x, c0, 300, tol)
    rc, rlab, rit = _lloyd_reference(x, c0, 300, tol)
    assert it == rit and it >= 2
    assert np.array_equal(c, rc) and np.array_equal(lab, rlab)
    assert inertia == pytest.approx(float(slm._C.kmeans_predict(x, c)[1].astype(np.float64).sum()), rel=1e-12)
    assert (c0[:3] == 1e3).all()  # the caller's centres are not modified in place


def test_lloyd_parity_with_sklearn_from_the_same_init():
    """From the same initial centres, sklearn's Lloyd takes the same steps: after each of the
    first iterations the partitions are equal and the centres agree to float32 rounding
    (sklearn sums in float32, slm in float64), until a row sits on a proven tie (its two
    centres' exact distances within 1e-5 relative); from there the trajectories may part."""
    mf, _ = _speech_features()
    rng = np.random.default_rng(12)
    x = np.concatenate([mf, (rng.standard_normal((800, 39)) * 4).astype(np.float32)])
    c0 = slm._C.kmeans_plusplus(x, 30, 7, rng.random(29 * 5))[0]
    x64 = x.astype(np.float64)
    for m in range(1, 16):
        c, lab, _, it, inertia = slm._C.kmeans_lloyd(x, c0, m, 0.0)
        sk = sklearn_cluster.KMeans(30, init=c0, n_init=1, algorithm="lloyd", max_iter=m, tol=0.0).fit(x)
        assert it == sk.n_iter_ == m
        diff = np.nonzero(lab != sk.labels_)[0]
        if len(diff):
            cs = sk.cluster_centers_.astype(np.float64)
            for i in diff:
                da, db = ((x64[i] - cs[lab[i]]) ** 2).sum(), ((x64[i] - cs[sk.labels_[i]]) ** 2).sum()
                assert abs(da - db) <= 1e-5 * da, (m, i, da, db)
            break
        np.testing.assert_allclose(c, sk.cluster_centers_, rtol=0, atol=1e-5 * np.abs(x).max())
        assert inertia == pytest.approx(sk.inertia_, rel=1e-5)
    assert m >= 5  # several identical steps before any tie


def test_n_init_keeps_the_best_run():
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((600, 6)) + rng.integers(0, 8, (600, 1)) * 3).astype(np.float32)
    one = KMeans(12, random_state=1).fit(x)
    many = KMeans(12, random_state=1, n_init=4).fit(x)
    assert np.array_equal(one.cluster_centers_, KMeans(12, random_state=1, n_init=1).fit(x).cluster_centers_)
    # the first run of n_init=4 is the n_init=1 run (same generator): the kept one is no worse
    assert many.inertia_ <= one.inertia_
    lab, d2 = many.predict_with_distances(x)
    assert many.inertia_ == pytest.approx(d2.astype(np.float64).sum(), rel=1e-9)
    with pytest.raises(ValueError):
        KMeans(3, n_init=0)


def test_fit_independent_of_threads_wide():
    """k-means++ potentials (threads over candidates), the variance behind tol (threads over
    column blocks) and Lloyd (threads over rows / columns) at a size where all of them thread."""
    x = (np.random.default_rng(14).standard_normal((3000, 200)) * 2).astype(np.float32)
    before = slm.get_num_threads()
    try:
        slm.set_num_threads(1)
        a = KMeans(20, random_state=3).fit(x)
        slm.set_num_threads(2)
        b = KMeans(20, random_state=3).fit(x)
    finally:
        slm.set_num_threads(before)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_) and a.n_iter_ == b.n_iter_
    assert a.inertia_ == b.inertia_


def test_training_entries_bad_input():
    x = np.random.default_rng(15).standard_normal((50, 4)).astype(np.float32)
    u = np.full(4 * 3, 0.5)
    with pytest.raises(ValueError, match="k="):
        slm._C.kmeans_plusplus(x, 51, 0, np.full(50 * 3, 0.5))
    with pytest.raises(ValueError, match="multiple"):
        slm._C.kmeans_plusplus(x, 5, 0, u[:-1])
    with pytest.raises(ValueError, match="first"):
        slm._C.kmeans_plusplus(x, 5, 50, u)
    with pytest.raises(ValueError, match="uniform"):
        slm._C.kmeans_plusplus(x, 5, 0, np.full(12, 1.0))
    bad = x.copy()
    bad[7, 2] = np.inf
    with pytest.raises(ValueError, match="row 7"):
        slm._C.kmeans_plusplus(bad, 5, 0, u)
    with pytest.raises(ValueError, match="row 7"):
        slm._C.kmeans_lloyd(bad, x[:5], 10, 1e-4)
    with pytest.raises(ValueError, match="max_iter"):
        slm._C.kmeans_lloyd(x, x[:5], 0, 1e-4)
    with pytest.raises(ValueError, match="tol"):
        slm._C.kmeans_lloyd(x, x[:5], 10, -1.0)
    with pytest.raises(ValueError, match="n_samples"):
        slm._C.kmeans_lloyd(x[:3], x[:5], 10, 1e-4)
    with pytest.raises(ValueError, match="shape"):
        slm._C.kmeans_lloyd(x, x[:5, :3], 10, 1e-4)
    with pytest.raises(ValueError, match="counts"):
        slm._C.kmeans_minibatch_step(x, x[:5], np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="negative"):
        slm._C.kmeans_minibatch_step(x, x[:5], np.array([0, 0, -1, 0, 0]))
    for kw in ({"max_iter": 0}, {"tol": -1}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            KMeans(3, **kw)
    # still usable, and the inputs were not modified in place
    c0 = x[:5].copy()
    c, lab, d2, it, inertia = slm._C.kmeans_lloyd(x, c0, 10, 1e-4)
    assert np.array_equal(c0, x[:5]) and c.shape == (5, 4) and it >= 1
    n0 = np.zeros(5, np.int64)
    c2, n2, _ = slm._C.kmeans_minibatch_step(x, c0, n0)
    assert n0.sum() == 0 and n2.sum() == 50


def test_partial_fit_after_load_starts_counts_at_zero():
    rng = np.random.default_rng(16)
    c = rng.standard_normal((4, 3)).astype(np.float32)
    km = KMeans.from_centers(c)
    b = rng.standard_normal((40, 3)).astype(np.float32)
    lab = km.predict(b)
    km.partial_fit(b)
    for j in range(4):
        if (lab == j).any():  # counts 0: a centre that got rows moves to their mean
            np.testing.assert_allclose(km.cluster_centers_[j], b[lab == j].astype(np.float64).mean(0), rtol=1e-6)
    assert km.counts_.sum() == 40
