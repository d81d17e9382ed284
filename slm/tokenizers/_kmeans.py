"""k-means over speech features: assignment, training (k-means++ init, Lloyd and mini-batch), centroid files.

The numerical work is C (csrc/tokenize/kmeans.c): ``predict`` and every assignment run the
vq family's nearest-codeword kernel (blocked ||x||^2 - 2 x.c + ||c||^2, SIMD, threads over
rows); k-means++ seeding, the Lloyd loop (centre means, empty clusters, the tol rule) and the
mini-batch step are C functions too. Python keeps the estimator object and the random
numbers: every draw comes from a ``numpy.random.Generator`` seeded by ``random_state`` and
is handed to C, and every float64 reduction in C runs in a fixed order, so results depend
on the seed and the data only, not on the thread count.
"""
import io
import os
import pickle

import numpy as np

from .. import _C

__all__ = ["KMeans", "load_sklearn_kmeans_pickle"]


def _as_features(x, what="x", d=None):
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"KMeans: {what} must be a real float array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"KMeans: {what} must be 2-D (n_samples, n_features), got shape {x.shape}")
    if d is not None and x.shape[1] != d:
        raise ValueError(f"KMeans: {what} has {x.shape[1]} features, the model has {d}")
    # NaN/Inf (and rows too large for float32 distances) are ValueErrors from the C entries,
    # which name the row; checking here too would add a pass over x
    return np.ascontiguousarray(x, dtype=np.float32)


def _assign(x, c):
    return _C.kmeans_predict(x, c)


def _cluster_sums(x, lab, k):
    """(sums float64 (k, D), counts int64 (k)) of the rows of x per label, in C: each sum
    adds its rows in row order in float64 whatever the thread count, so results are
    reproducible (csrc/tokenize/kmeans.c)."""
    return _C.kmeans_cluster_sums(x, lab, int(k))


def _kmeanspp(x, k, rng, n_local_trials=None):
    """k-means++ seeding (Arthur & Vassilvitskii) with greedy trials as scikit-learn does it:
    2 + log(k) candidates per step drawn by D^2 weights, keep the one lowering the potential
    most. The draws come from rng (the first centre's row, then (k - 1) * trials uniforms);
    the distances and potentials are computed in C."""
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(k))
    first = int(rng.integers(x.shape[0]))
    u = rng.random(max(k - 1, 0) * n_local_trials)
    return _C.kmeans_plusplus(x, int(k), first, u)[0]


class KMeans:
    """k-means clustering with scikit-learn's names (``sklearn.cluster.KMeans`` /
    ``MiniBatchKMeans``).

    n_clusters: K. max_iter: Lloyd iterations of ``fit`` (300). tol: stop when the summed
    squared centre shift falls under tol * mean feature variance (sklearn's rule, 1e-4).
    random_state: int seed (0). batch_size: rows per mini-batch step of ``fit_stream`` (1024).

    Attributes: ``cluster_centers_`` float32 (K, D), ``inertia_`` (sum of squared distances
    to the nearest centre after ``fit``), ``n_iter_``, ``counts_`` (per-centre sample counts
    of mini-batch training).
    """

    def __init__(self, n_clusters=8, max_iter=300, tol=1e-4, random_state=0, batch_size=1024, n_init=1):
        if not isinstance(n_clusters, (int, np.integer)) or isinstance(n_clusters, bool) or n_clusters <= 0:
            raise ValueError(f"KMeans: n_clusters must be a positive int, got {n_clusters!r}")
        if not isinstance(n_init, (int, np.integer)) or n_init < 1:
            raise ValueError(f"KMeans: n_init must be a positive int, got {n_init!r}")
        if int(max_iter) < 1:
            raise ValueError(f"KMeans: max_iter must be >= 1, got {max_iter!r}")
        if not float(tol) >= 0:
            raise ValueError(f"KMeans: tol must be >= 0, got {tol!r}")
        if int(batch_size) < 1:
            raise ValueError(f"KMeans: batch_size must be >= 1, got {batch_size!r}")
        self.n_clusters = int(n_clusters)
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.n_init = int(n_init)
        self.random_state = random_state
        self.batch_size = int(batch_size)
        self.cluster_centers_ = None
        self.inertia_ = None
        self.n_iter_ = 0
        self.counts_ = None
        self._rng = None

    # ---- assignment ----
    def _centers(self):
        if self.cluster_centers_ is None:
            raise ValueError("KMeans: not fitted (no cluster_centers_)")
        return self.cluster_centers_

    def predict(self, x):
        """x (N, D) float -> labels int64 (N): index of the nearest centre (squared L2;
        ties give the lowest index, as sklearn's argmin)."""
        c = self._centers()
        return _assign(_as_features(x, d=c.shape[1]), c)[0]

    def predict_with_distances(self, x):
        """x (N, D) -> (labels int64 (N), squared distance float32 (N) to that centre)."""
        c = self._centers()
        return _assign(_as_features(x, d=c.shape[1]), c)

    def transform(self, x):
        """x (N, D) -> Euclidean distances float32 (N, K) to every centre (sklearn transform)."""
        c = self._centers()
        x = _as_features(x, d=c.shape[1])
        d2 = (x * x).sum(1)[:, None] - 2.0 * (x @ c.T) + (c * c).sum(1)[None, :]
        return np.sqrt(np.maximum(d2, 0)).astype(np.float32)

    def score(self, x):
        """-inertia of x under the current centres (sklearn's sign)."""
        return -float(self.predict_with_distances(x)[1].astype(np.float64).sum())

    # ---- Lloyd ----
    def fit(self, x):
        """Fit on x (N, D) in memory: k-means++ seeding then Lloyd iterations, n_init times
        (each run continues the same seeded generator); the run with the lowest inertia is
        kept (the first on ties). Returns self."""
        x = _as_features(x)
        n, d = x.shape
        k = self.n_clusters
        if n < k:
            raise ValueError(f"KMeans: n_samples={n} should be >= n_clusters={k}")
        rng = np.random.default_rng(self.random_state)
        best = None
        for _ in range(self.n_init):
            c0 = _kmeanspp(x, k, rng)
            run = _C.kmeans_lloyd(x, c0, self.max_iter, self.tol)
            if best is None or run[4] < best[4]:
                best = run
        c, lab, _, n_iter, inertia = best
        self.cluster_centers_ = c
        self.n_iter_ = int(n_iter)
        self.inertia_ = float(inertia)
        self.counts_ = np.bincount(lab, minlength=k).astype(np.int64)
        return self

    # ---- mini-batch ----
    def partial_fit(self, batch):
        """One mini-batch update on batch (B, D) (sklearn MiniBatchKMeans's rule: each centre
        moves toward the mean of its new points with learning rate b / (count so far)).
        The first call seeds the centres by k-means++ on that batch (needs B >= K)."""
        x = _as_features(batch, d=None if self.cluster_centers_ is None else
                         self.cluster_centers_.shape[1])
        if x.shape[0] == 0:
            raise ValueError("KMeans.partial_fit: empty batch")
        k = self.n_clusters
        if self._rng is None:
            self._rng = np.random.default_rng(self.random_state)
        if self.cluster_centers_ is None:
            if x.shape[0] < k:
                raise ValueError(f"KMeans.partial_fit: the first batch has {x.shape[0]} rows, "
                                 f"needs >= n_clusters={k}")
            self.cluster_centers_ = _kmeanspp(x, k, self._rng)
        if self.counts_ is None:  # seeded, loaded or given centres start with no samples (as sklearn's init=array)
            self.counts_ = np.zeros(len(self.cluster_centers_), np.int64)
        self._step(x)
        return self

    def _step(self, x):
        """one mini-batch update in C; returns the rows' squared distances before it"""
        c, cnt, d2 = _C.kmeans_minibatch_step(x, self.cluster_centers_, self.counts_)
        self.cluster_centers_, self.counts_ = c, cnt
        self.n_iter_ += 1
        return d2

    def fit_stream(self, batches, epochs=1):
        """Cluster a dataset streamed in chunks: ``batches`` is an iterable of (B, D) arrays
        (or a callable returning a fresh iterable per epoch, e.g. reading .npy files with
        mmap); chunks larger than batch_size are split. Only one chunk is in memory at a
        time. Returns self; ``inertia_`` is the sum over the last epoch's assignments."""
        for ep in range(int(epochs)):
            it = batches() if callable(batches) else batches
            inertia = 0.0
            for chunk in it:
                chunk = _as_features(chunk, d=None if self.cluster_centers_ is None else
                                     self.cluster_centers_.shape[1])
                for s in range(0, chunk.shape[0], self.batch_size):
                    part = chunk[s:s + self.batch_size]
                    if part.shape[0] == 0:
                        continue
                    if self.cluster_centers_ is None:
                        self.partial_fit(part)  # seeds the centres from this batch, then steps
                    else:  # the step's distances are those under the centres before it
                        inertia += float(self._step(part).astype(np.float64).sum())
            self.inertia_ = inertia
        return self

    # ---- files ----
    def save(self, path):
        """Write the centres: .npy (float32 (K, D)) or .safetensors (tensor "cluster_centers")."""
        c = self._centers()
        path = os.fspath(path)
        if path.endswith(".safetensors"):
            from ..io import save_safetensors
            save_safetensors(path, {"cluster_centers": c}, metadata={"format": "slm.kmeans"})
        else:
            np.save(path, c)

    @classmethod
    def from_centers(cls, centers):
        c = _as_features(centers, "centers")
        if c.shape[0] == 0:
            raise ValueError("KMeans: no centres")
        if not np.isfinite(c).all():
            raise ValueError("KMeans: centres contain NaN or Inf")
        km = cls(n_clusters=c.shape[0])
        km.cluster_centers_ = c
        return km

    @classmethod
    def load(cls, path):
        """Centres from .npy, .safetensors (tensor "cluster_centers", or the only tensor), or
        a scikit-learn KMeans/MiniBatchKMeans pickle (pickle.dump or joblib.dump)."""
        path = os.fspath(path)
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith(b"\x93NUMPY"):
            return cls.from_centers(np.load(path, allow_pickle=False))
        if path.endswith(".safetensors"):
            from ..io import load_safetensors
            t = load_safetensors(path)
            if "cluster_centers" in t:
                return cls.from_centers(t["cluster_centers"])
            if len(t) == 1:
                return cls.from_centers(next(iter(t.values())))
            raise ValueError(f"KMeans.load: {path} has tensors {sorted(t)}, expected 'cluster_centers'")
        return cls.from_sklearn_pickle(path)

    @classmethod
    def from_sklearn_pickle(cls, path):
        """Centres of a pickled fitted sklearn KMeans/MiniBatchKMeans, read as plain data
        through slm.io's restricted unpickler (sklearn is not imported; other globals refused)."""
        state = load_sklearn_kmeans_pickle(path)
        km = cls.from_centers(state["cluster_centers_"])
        for a in ("inertia_", "n_iter_"):
            if a in state and isinstance(state[a], (int, float, np.number)):
                setattr(km, a, state[a].item() if isinstance(state[a], np.number) else state[a])
        return km


_SKLEARN_NAMES = [f"{m}.{n}" for m in ("sklearn.cluster._kmeans", "sklearn.cluster.k_means_",
                                       "sklearn.cluster.kmeans", "sklearn.cluster")
                  for n in ("KMeans", "MiniBatchKMeans")]


class _JoblibUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with the restricted unpickler's find_class (nothing is
    imported) and joblib's one extension: after BUILD of a NumpyArrayWrapper, the array's
    raw bytes follow in the stream (optional alignment padding, then count * itemsize
    bytes); they are read here as plain numbers (object dtypes refused)."""

    def __init__(self, file, restricted, wrapper, where):
        super().__init__(file, encoding="latin1")  # Python 2 str = numpy's raw bytes
        self._restricted = restricted
        self._wrapper = wrapper
        self._where = where

    def find_class(self, module, name):
        return self._restricted.find_class(module, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError(f"{self._where}: persistent ids are not allowed")

    def _load_build(self):
        pickle._Unpickler.load_build(self)
        top = self.stack[-1]
        if isinstance(top, self._wrapper):
            self.stack[-1] = self._read_array(top.state)

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = _load_build

    def _read_array(self, st):
        from ..io._unpickler import as_dtype, int_tuple
        from ..io import UnsafePickleError
        dtype = as_dtype(st.get("dtype"))
        if dtype.hasobject:
            raise UnsafePickleError(f"{self._where}: object arrays are not allowed")
        shape = int_tuple(st.get("shape"), "joblib array shape")
        if st.get("numpy_array_alignment_bytes") is not None:
            pad = self.read(1)
            if len(pad) != 1:
                raise ValueError(f"{self._where}: truncated joblib array")
            self.read(pad[0])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        nbytes = count * dtype.itemsize
        if count < 0 or nbytes > (1 << 34):
            raise ValueError(f"{self._where}: joblib array of {nbytes} bytes is too large")
        raw = self.read(nbytes)
        if len(raw) != nbytes:
            raise ValueError(f"{self._where}: truncated joblib array data")
        a = np.frombuffer(raw, dtype=dtype, count=count).copy()
        if st.get("order") == "F":
            return a.reshape(shape[::-1]).T
        return a.reshape(shape)


def load_sklearn_kmeans_pickle(path):
    """Dict of the pickled estimator's attributes (``cluster_centers_`` as float32 (K, D)).
    Raises slm.io.UnsafePickleError for any global other than the KMeans classes and
    numpy's array/dtype/scalar rebuilders."""
    from ..io._unpickler import RestrictedUnpickler, stub_class, to_plain
    extra = {name: stub_class(name.rsplit(".", 1)[1], "sklearn estimator") for name in _SKLEARN_NAMES}
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:1] in (b"\x78", b"\x1f") or data[:3] in (b"ZF\x00", b"BZh") or data[:4] == b"\xfd7zX":
        raise ValueError(f"{path}: compressed joblib files are not supported; "
                         "re-save with joblib.dump(model, path) (compress=0)")
    wrapper = stub_class("NumpyArrayWrapper", "joblib array")
    extra["joblib.numpy_pickle.NumpyArrayWrapper"] = wrapper
    restricted = RestrictedUnpickler(io.BytesIO(b""), path, extra_globals=extra)
    obj = _JoblibUnpickler(io.BytesIO(data), restricted, wrapper, path).load()
    st = getattr(obj, "state", None)
    if not isinstance(st, dict) or "cluster_centers_" not in st:
        raise ValueError(f"{path}: not a fitted scikit-learn KMeans pickle")
    
    def no_tensor(ref):
        raise ValueError(f"{path}: unexpected torch tensor in a scikit-learn pickle")

    st = {k: to_plain(v, no_tensor) for k, v in st.items()}
    c = np.asarray(st["cluster_centers_"])
    if c.ndim != 2 or c.dtype.kind != "f":
        raise ValueError(f"{path}: cluster_centers_ has shape {c.shape} dtype {c.dtype}")
    st["cluster_centers_"] = np.ascontiguousarray(c, dtype=np.float32)
    return st
