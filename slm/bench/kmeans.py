"""k-means workloads at the sizes speech tokenizers use (HuBERT/WavLM layer features,
D=768, K=500 as GSLM's HuBERT-base units; MFCC/log-mel features, D=39/80, K=100), each
against scikit-learn on the same data, the same centres and the same thread count. Rates
are FLOP of the distance computations (2 N K D for an assignment)."""
from __future__ import annotations

import numpy as np

from .harness import Workload


def _data(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    true = (rng.standard_normal((k, d)) * 2).astype(np.float32)
    x = (true[rng.integers(0, k, n)] + rng.standard_normal((n, d))).astype(np.float32)
    return x, x[rng.choice(n, k, replace=False)].copy()


def _sk():
    import warnings
    warnings.filterwarnings("ignore", module="sklearn")
    from sklearn import cluster
    return cluster


def _predict(n, d, k):
    def setup():
        from slm.tokenizers import KMeans
        x, c = _data(n, d, k)
        km = KMeans.from_centers(c)
        cl = _sk()
        sk = cl.KMeans(k, init=c, n_init=1, max_iter=1).fit(c)
        sk.cluster_centers_ = c
        peers = {"sklearn": lambda: sk.predict(x)}
        return (lambda: km.predict(x)), peers
    return Workload(f"kmeans predict K={k}", f"x {n}x{d}", setup, flops=2.0 * n * k * d)


def _seeding(n, d, k):
    trials = 2 + int(np.log(k))

    def setup():
        from slm.tokenizers._kmeans import _kmeanspp
        x, _ = _data(n, d, k)
        cl = _sk()
        return (lambda: _kmeanspp(x, k, np.random.default_rng(0))), {
            "sklearn": lambda: cl.kmeans_plusplus(x, k, random_state=0)}
    return Workload(f"kmeans++ seeding K={k}", f"x {n}x{d}", setup, flops=3.0 * n * d * trials * (k - 1))


def _lloyd(n, d, k, iters):
    def setup():
        from slm import _C
        x, c = _data(n, d, k)
        cl = _sk()
        # tol=0 and a fixed iteration count: the same number of Lloyd steps on both sides
        sk = cl.KMeans(k, init=c, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd")
        return (lambda: _C.kmeans_lloyd(x, c, iters, 0.0)), {"sklearn": lambda: sk.fit(x)}
    return Workload(f"kmeans Lloyd {iters} iterations K={k}", f"x {n}x{d}", setup,
                    flops=2.0 * n * k * d * (iters + 1))


def _minibatch(b, d, k):
    def setup():
        from slm.tokenizers import KMeans
        x, c = _data(b * 4, d, k)
        cl = _sk()
        ours = KMeans.from_centers(c)
        ours.counts_ = np.ones(k, np.int64)
        sk = cl.MiniBatchKMeans(k, init=c, n_init=1, batch_size=b).partial_fit(x[:b])
        parts = [x[i * b:(i + 1) * b] for i in range(4)]
        return (lambda: [ours.partial_fit(p) for p in parts]), {
            "sklearn": lambda: [sk.partial_fit(p) for p in parts]}
    return Workload(f"kmeans mini-batch 4 steps K={k}", f"batch {b}x{d}", setup, flops=2.0 * 4 * b * k * d)


def workloads(quick=False):
    if quick:
        return [_predict(20000, 768, 500), _predict(100000, 39, 100), _lloyd(20000, 39, 100, 10)]
    return [_predict(20000, 768, 500), _predict(100000, 39, 100), _predict(100000, 80, 100),
            _seeding(20000, 768, 100), _seeding(100000, 39, 100),
            _lloyd(20000, 768, 100, 10), _lloyd(100000, 39, 100, 10),
            _minibatch(1024, 768, 500)]
