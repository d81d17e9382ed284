"""Residual vector quantizers of neural codecs, run in C (csrc/tokenize/rvq.c).

Layouts follow the PyTorch modules: latents are ``(B, D, T)`` (or ``(D, T)`` for one
item), codes are ``(B, n_q, T)`` int64 (or ``(n_q, T)``). ``n_q`` may be any prefix of
the codebooks at run time (a codec's bandwidth setting picks it).

- :class:`RVQ`: a stack of :class:`Stage` (EnCodec, SoundStream, each half of Mimi's
  split quantizer; DAC's factorised stages with projections and cosine search), with
  optional 1x1 input/output projections around the whole stack (Mimi).
- :class:`SplitRVQ`: Mimi's split quantizer: a semantic RVQ and an acoustic RVQ, both
  applied to the same latent; codes are concatenated, contributions summed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import _C
from .. import ops

__all__ = ["Stage", "RVQ", "SplitRVQ", "fold_weight_norm"]

_METRICS = {"l2": 0, "cosine": 1}


def _f32(a, what):
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{what}: expected a real array, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or Inf")
    return a


def fold_weight_norm(g, v, dim=0):
    """weight = g * v / ||v|| with the norm over every axis but ``dim`` (torch's weight_norm;
    dim=0 is its default, used by DAC, EnCodec and HiFi-GAN convolutions), in float32 in
    torch's order: v * (g / ||v||)."""
    v = np.asarray(v, np.float32)
    g = np.asarray(g, np.float32)
    axes = tuple(i for i in range(v.ndim) if i != dim % v.ndim)
    norm = np.sqrt((v.astype(np.float64) ** 2).sum(axis=axes, keepdims=True)).astype(np.float32)
    return (v * (g.reshape(norm.shape) / norm)).astype(np.float32)


@dataclass
class Stage:
    """One quantizer stage: ``codebook`` (K, d); ``metric`` 'l2' or 'cosine'; optional
    projections ``in_w`` (d, D), ``in_b`` (d) into the codebook space and ``out_w`` (D, d),
    ``out_b`` (D) back to the latent (DAC). Without projections d must equal D."""
    codebook: np.ndarray
    metric: str = "l2"
    in_w: Optional[np.ndarray] = None
    in_b: Optional[np.ndarray] = None
    out_w: Optional[np.ndarray] = None
    out_b: Optional[np.ndarray] = None

    def __post_init__(self):
        if self.metric not in _METRICS:
            raise ValueError(f"Stage: metric must be 'l2' or 'cosine', got {self.metric!r}")
        self.codebook = _f32(self.codebook, "Stage codebook")
        if self.codebook.ndim != 2 or 0 in self.codebook.shape:
            raise ValueError(f"Stage: codebook must be (K, d) with K, d >= 1, got {self.codebook.shape}")
        for name in ("in_w", "in_b", "out_w", "out_b"):
            a = getattr(self, name)
            if a is not None:
                a = _f32(a, f"Stage {name}")
                if name.endswith("_w") and a.ndim == 3 and a.shape[2] == 1:
                    a = np.ascontiguousarray(a[:, :, 0])  # a 1x1 Conv1d weight
                setattr(self, name, a)

    def _c(self):
        return (self.codebook, _METRICS[self.metric], self.in_w, self.in_b, self.out_w, self.out_b)


def _rows(x, dim, what):
    """(B, D, T) or (D, T) -> ((B*T, D) float32 rows, B, T, batched)"""
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{what}: latents must be a real array, got dtype {x.dtype}")
    batched = x.ndim == 3
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"{what}: latents must be (B, D, T) or (D, T), got shape {x.shape}")
    if x.shape[1] != dim:
        raise ValueError(f"{what}: latents have {x.shape[1]} channels, the quantizer expects {dim}")
    b, _, t = x.shape
    return np.ascontiguousarray(x.transpose(0, 2, 1).reshape(b * t, dim), dtype=np.float32), b, t, batched


def _codes_in(codes, what):
    c = np.asarray(codes)
    if c.dtype.kind not in "iu":
        raise TypeError(f"{what}: codes must be integers, got dtype {c.dtype}")
    batched = c.ndim == 3
    if c.ndim == 2:
        c = c[None]
    if c.ndim != 3:
        raise ValueError(f"{what}: codes must be (B, n_q, T) or (n_q, T), got shape {c.shape}")
    return c, batched


class RVQ:
    """Residual vector quantizer: ``stages`` (list of :class:`Stage`) over a latent of
    ``dim`` channels; ``input_proj`` (dim_q, dim) and ``output_proj`` (dim, dim_q) are
    optional bias-free 1x1 projections around the stack (Mimi), in which case the stages
    work in dim_q channels."""

    def __init__(self, stages, dim=None, input_proj=None, output_proj=None):
        self.stages = [s if isinstance(s, Stage) else Stage(*s) for s in stages]
        if not self.stages:
            raise ValueError("RVQ: no stages")
        self.input_proj = None if input_proj is None else _proj(input_proj, "input_proj")
        self.output_proj = None if output_proj is None else _proj(output_proj, "output_proj")
        s0 = self.stages[0]
        inner = s0.in_w.shape[1] if s0.in_w is not None else s0.codebook.shape[1]
        if self.input_proj is not None:
            if self.input_proj.shape[0] != inner:
                raise ValueError(f"RVQ: input_proj gives {self.input_proj.shape[0]} channels, the stages take {inner}")
            dim_in = self.input_proj.shape[1]
        else:
            dim_in = inner
        self.dim = int(dim if dim is not None else dim_in)
        if self.dim != dim_in:
            raise ValueError(f"RVQ: dim={dim} but the first layer takes {dim_in} channels")
        self._inner = inner
        if self.output_proj is not None and self.output_proj.shape[1] != inner:
            raise ValueError(f"RVQ: output_proj takes {self.output_proj.shape[1]} channels, the stages give {inner}")
        self._cstages = [s._c() for s in self.stages]

    @property
    def n_q(self):
        return len(self.stages)

    @property
    def codebook_sizes(self):
        return [s.codebook.shape[0] for s in self.stages]

    @property
    def out_dim(self):
        return self.output_proj.shape[0] if self.output_proj is not None else self._inner

    def __repr__(self):
        return (f"RVQ(n_q={self.n_q}, codebook_size={self.codebook_sizes[0]}, dim={self.dim}, "
                f"metric={self.stages[0].metric!r})")

    def _n(self, n_q):
        if n_q is None:
            return self.n_q
        if isinstance(n_q, bool) or not isinstance(n_q, (int, np.integer)) or not 1 <= n_q <= self.n_q:
            raise ValueError(f"RVQ: n_q must be an int in [1, {self.n_q}], got {n_q!r}")
        return int(n_q)

    def quantize(self, x, n_q=None):
        """latents (B, D, T) -> (quantized (B, D_out, T), codes (B, n_q, T)): the sum of the
        first n_q stages' contributions (after output_proj), and their codes."""
        n = self._n(n_q)
        rows, b, t, batched = _rows(x, self.dim, "RVQ.quantize")
        if self.input_proj is not None:
            rows = ops.linear(rows, self.input_proj)
        codes, q = _C.rvq_encode(rows, self._cstages[:n], True)
        if self.output_proj is not None:
            q = ops.linear(q, self.output_proj)
        q = q.reshape(b, t, -1).transpose(0, 2, 1)
        codes = codes.reshape(n, b, t).transpose(1, 0, 2)
        q, codes = np.ascontiguousarray(q), np.ascontiguousarray(codes)
        return (q, codes) if batched else (q[0], codes[0])

    def encode(self, x, n_q=None):
        """latents (B, D, T) -> codes (B, n_q, T) int64."""
        n = self._n(n_q)
        rows, b, t, batched = _rows(x, self.dim, "RVQ.encode")
        if self.input_proj is not None:
            rows = ops.linear(rows, self.input_proj)
        codes, _ = _C.rvq_encode(rows, self._cstages[:n], False)
        codes = np.ascontiguousarray(codes.reshape(n, b, t).transpose(1, 0, 2))
        return codes if batched else codes[0]

    def decode(self, codes):
        """codes (B, n, T), n <= n_q (the first n codebooks) -> latents (B, D_out, T)."""
        c, batched = _codes_in(codes, "RVQ.decode")
        b, n, t = c.shape
        if not 1 <= n <= self.n_q:
            raise ValueError(f"RVQ.decode: {n} codebooks of codes, the quantizer has {self.n_q}")
        flat = np.ascontiguousarray(c.transpose(1, 0, 2).reshape(n, b * t), dtype=np.int64)
        q = _C.rvq_decode(flat, self._cstages[:n], self._inner)
        if self.output_proj is not None:
            q = ops.linear(q, self.output_proj)
        q = np.ascontiguousarray(q.reshape(b, t, -1).transpose(0, 2, 1))
        return q if batched else q[0]

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_state_dict(cls, sd, prefix="quantizer."):
        """The quantizer under ``prefix`` of a codec's state dict, in any of the layouts:
        ``encodec`` (``vq.layers.N._codebook.embed``), transformers EncodecModel
        (``layers.N.codebook.embed``), DAC and transformers DacModel
        (``quantizers.N.{in_proj,out_proj,codebook}``, weight norm as weight_g/weight_v or
        parametrizations), moshi (``vq.layers.N._codebook.embedding_sum`` / ``cluster_usage``
        with ``input_proj`` / ``output_proj``) and transformers MimiModel
        (``layers.N.codebook.embed_sum`` / ``cluster_usage``)."""
        keys = [k[len(prefix):] for k in sd if k.startswith(prefix)]
        if not keys:
            raise ValueError(f"RVQ.from_state_dict: no keys under {prefix!r}")
        get = lambda k: np.asarray(sd[prefix + k])  # noqa: E731
        has = lambda k: (prefix + k) in sd  # noqa: E731

        def count(pattern):
            idx = {int(m.group(1)) for k in keys for m in [re.match(pattern, k)] if m}
            if idx and idx != set(range(len(idx))):
                raise ValueError(f"RVQ.from_state_dict: layers under {prefix!r} are not numbered 0..{len(idx) - 1}")
            return len(idx)

        if count(r"quantizers\.(\d+)\.codebook\.weight$"):  # DAC
            stages = []
            for i in range(count(r"quantizers\.(\d+)\.codebook\.weight$")):
                p = f"quantizers.{i}."
                stages.append(Stage(get(p + "codebook.weight"), "cosine",
                                    _conv_weight(sd, prefix + p + "in_proj."), get(p + "in_proj.bias"),
                                    _conv_weight(sd, prefix + p + "out_proj."), get(p + "out_proj.bias")))
            return cls(stages)
        for pat, emb in ((r"vq\.layers\.(\d+)\._codebook\.embed$", "vq.layers.{}._codebook.embed"),
                         (r"layers\.(\d+)\.codebook\.embed$", "layers.{}.codebook.embed")):
            n = count(pat)
            if n:  # EnCodec, both layouts
                return cls([Stage(get(emb.format(i))) for i in range(n)])
        for pat, fmt in ((r"vq\.layers\.(\d+)\._codebook\.embedding_sum$", "vq.layers.{}._codebook."),
                         (r"layers\.(\d+)\.codebook\.embed_sum$", "layers.{}.codebook.")):
            n = count(pat)
            if n:  # Mimi halves: centres = sum / max(usage, eps), as the module's property
                stages = []
                for i in range(n):
                    p = fmt.format(i)
                    s = get(p + ("embedding_sum" if "embedding_sum" in pat else "embed_sum")).astype(np.float32)
                    u = get(p + "cluster_usage").astype(np.float32)
                    stages.append(Stage(s / np.maximum(u, np.float32(1e-5))[:, None]))
                ip = get("input_proj.weight") if has("input_proj.weight") else None
                op = get("output_proj.weight") if has("output_proj.weight") else None
                return cls(stages, input_proj=ip, output_proj=op)
        raise ValueError(f"RVQ.from_state_dict: no quantizer layout recognised under {prefix!r} "
                         f"(keys like {sorted(keys)[:3]})")


def _proj(w, what):
    w = _f32(w, f"RVQ {what}")
    if w.ndim == 3 and w.shape[2] == 1:
        w = w[:, :, 0]
    if w.ndim != 2:
        raise ValueError(f"RVQ: {what} must be (out, in) or a 1x1 conv weight (out, in, 1), got {w.shape}")
    return np.ascontiguousarray(w)


def _conv_weight(sd, p):
    """a (possibly weight-normed) 1x1 conv weight under prefix p, folded"""
    for g, v in (("weight_g", "weight_v"), ("parametrizations.weight.original0", "parametrizations.weight.original1")):
        if p + g in sd and p + v in sd:
            return fold_weight_norm(np.asarray(sd[p + g]), np.asarray(sd[p + v]), dim=0)
    if p + "weight" in sd:
        return np.asarray(sd[p + "weight"], np.float32)
    raise ValueError(f"RVQ.from_state_dict: no weight for {p.rstrip('.')}")


class SplitRVQ:
    """Mimi's split quantizer: ``semantic`` (the first ``semantic.n_q`` codebooks) and
    ``acoustic`` RVQs over the same latent. Codes are [semantic codes, acoustic codes];
    decoding sums both halves' outputs."""

    def __init__(self, semantic: RVQ, acoustic: RVQ):
        if semantic.dim != acoustic.dim or semantic.out_dim != acoustic.out_dim:
            raise ValueError("SplitRVQ: the two halves take or give different channel counts")
        self.semantic, self.acoustic = semantic, acoustic
        self.dim = semantic.dim

    @property
    def n_q(self):
        return self.semantic.n_q + self.acoustic.n_q

    @property
    def codebook_sizes(self):
        return self.semantic.codebook_sizes + self.acoustic.codebook_sizes

    def __repr__(self):
        return f"SplitRVQ(semantic={self.semantic!r}, acoustic={self.acoustic!r})"

    def _split(self, n_q):
        n = self.n_q if n_q is None else n_q
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= self.n_q:
            raise ValueError(f"SplitRVQ: n_q must be an int in [1, {self.n_q}], got {n_q!r}")
        ns = min(int(n), self.semantic.n_q)
        return ns, int(n) - ns

    def encode(self, x, n_q=None):
        ns, na = self._split(n_q)
        codes = self.semantic.encode(x, ns)
        if na:
            codes = np.concatenate([codes, self.acoustic.encode(x, na)], axis=-2)
        return codes

    def decode(self, codes):
        c, batched = _codes_in(codes, "SplitRVQ.decode")
        n = c.shape[1]
        if not 1 <= n <= self.n_q:
            raise ValueError(f"SplitRVQ.decode: {n} codebooks of codes, the quantizer has {self.n_q}")
        ns = min(n, self.semantic.n_q)
        q = self.semantic.decode(c[:, :ns])
        if n > ns:
            q = q + self.acoustic.decode(c[:, ns:])
        return q if batched else q[0]

    @classmethod
    def from_state_dict(cls, sd, prefix="quantizer."):
        """moshi (``rvq_first.`` / ``rvq_rest.``) or transformers MimiModel
        (``semantic_residual_vector_quantizer.`` / ``acoustic_residual_vector_quantizer.``)."""
        for a, b in (("rvq_first.", "rvq_rest."),
                     ("semantic_residual_vector_quantizer.", "acoustic_residual_vector_quantizer.")):
            if any(k.startswith(prefix + a) for k in sd):
                return cls(RVQ.from_state_dict(sd, prefix + a), RVQ.from_state_dict(sd, prefix + b))
        raise ValueError(f"SplitRVQ.from_state_dict: no split quantizer under {prefix!r}")
