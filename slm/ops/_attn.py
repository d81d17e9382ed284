"""Attention: ``scaled_dot_product_attention`` with torch.nn.functional's semantics.

The kernel is blocked (flash-attention style, online softmax): memory does not grow
as L*S. This module turns torch's shape rules (batch broadcasting, grouped-query heads,
mask broadcasting) into 4-D NumPy views whose strides express the broadcasts, so no
operand is copied unless it must be (non-float dtype, last axis not contiguous, or
batch axes whose broadcast cannot be flattened into one stride).
"""
import math

import numpy as np

from .. import _C

__all__ = ["scaled_dot_product_attention"]

_FN = "scaled_dot_product_attention"


def _operand(x, name):
    """x as a float32 array whose last axis is contiguous (copied only if needed)."""
    a = np.asarray(x)
    if a.dtype.kind != "f":
        raise TypeError(f"{_FN}: {name} must be a floating-point array (float32, or float16/float64 "
                        f"cast to float32), got dtype {a.dtype}")
    if a.ndim < 2:
        raise ValueError(f"{_FN}: {name} must have at least 2 dimensions (..., length, features), "
                         f"got shape {a.shape}")
    a = a.astype(np.float32, copy=False)
    if (a.shape[-1] > 1 and a.strides[-1] != 4) or not a.flags.aligned:
        a = np.ascontiguousarray(a)
    return a


def _split(a, rank):
    """(batch dims, heads) of an operand padded on the left to `rank` dims."""
    shape = (1,) * (rank - a.ndim) + a.shape
    if rank == 2:
        return (), 1
    return shape[:-3], shape[-3]


def _as_4d(a, rank, bshape, heads):
    """a (..., H, R, C) -> a view (B, heads, R, C) broadcast over bshape (copy only if the
    batch axes cannot be flattened into one stride)."""
    shape = (1,) * (rank - a.ndim) + a.shape
    if rank == 2:
        shape = (1,) + shape
    a = a.reshape(shape)
    a = np.broadcast_to(a, tuple(bshape) + (heads,) + shape[-2:])
    return a.reshape((math.prod(bshape), heads) + shape[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, as torch.nn.functional's.

    Shapes: query (..., Hq, L, E), key (..., Hk, S, E), value (..., Hv, S, Ev); the
    batch axes broadcast as in torch (2-D operands are a single head). Without
    ``enable_gqa`` the head axes broadcast too (equal, or 1); with it Hk and Hv must
    divide Hq and query head h reads key/value head h // (Hq // Hk) (torch's
    repeat_interleave). Returns float32 (..., Hq, L, Ev).

    attn_mask: bool (True = the key takes part) or float (added to the scaled scores),
    broadcastable to (..., Hq, L, S). is_causal: key j takes part in query row l iff
    j <= l (torch's top-left aligned tril(ones(L, S))); it cannot be combined with
    attn_mask (ValueError, as torch documents). scale defaults to 1/sqrt(E).
    dropout_p must be 0 (this is inference code: ValueError otherwise).

    A query row whose keys are all masked out gives zeros, as torch's CPU kernel does;
    so does S = 0. NaN/Inf propagate: a NaN score makes its row NaN (torch returns
    zeros instead for a row of NaN scores when S < 8, a quirk of its loop tail).
    """
    if dropout_p != 0.0:
        raise ValueError(f"{_FN}: dropout_p must be 0 (no training here), got {dropout_p!r}")
    q = _operand(query, "query")
    k = _operand(key, "key")
    v = _operand(value, "value")
    L, E = q.shape[-2:]
    S, Ek = k.shape[-2:]
    Sv, Ev = v.shape[-2:]
    if Ek != E:
        raise ValueError(f"{_FN}: key's last dimension must equal query's ({E}), got key shape {k.shape}")
    if Sv != S:
        raise ValueError(f"{_FN}: key and value must have the same length S, got key shape {k.shape} "
                         f"and value shape {v.shape}")
    rank = max(q.ndim, k.ndim, v.ndim)
    qb, Hq = _split(q, rank)
    kb, Hk = _split(k, rank)
    vb, Hv = _split(v, rank)
    if enable_gqa:
        if Hq % Hk or Hq % Hv:
            raise ValueError(f"{_FN}: with enable_gqa, key heads ({Hk}) and value heads ({Hv}) must "
                             f"divide query heads ({Hq})")
        H = Hq
    else:
        H = max(Hq, Hk, Hv)
        for name, h in (("query", Hq), ("key", Hk), ("value", Hv)):
            if h not in (1, H):
                raise ValueError(f"{_FN}: head counts query {Hq}, key {Hk}, value {Hv} do not broadcast "
                                 "(pass enable_gqa=True for grouped-query attention)")
    try:
        bshape = np.broadcast_shapes(qb, kb, vb)
    except ValueError:
        raise ValueError(f"{_FN}: batch dimensions of query {q.shape}, key {k.shape} and value {v.shape} "
                         "do not broadcast") from None
    # a query broadcast over heads gets stride 0; a single key/value head stays one head
    # (the kernel maps query head h to key head h // (H // Hk), which covers Hk = 1)
    q4 = _as_4d(q, rank, bshape, H)
    k4 = _as_4d(k, rank, bshape, Hk)
    v4 = _as_4d(v, rank, bshape, Hv)
    m4 = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{_FN}: attn_mask and is_causal=True cannot be combined; fold the causal "
                             "mask into attn_mask")
        m = np.asarray(attn_mask)
        if m.dtype != np.bool_:
            if m.dtype.kind != "f":
                raise TypeError(f"{_FN}: attn_mask must be bool or floating-point, got dtype {m.dtype}")
            m = m.astype(np.float32, copy=False)
        target = tuple(bshape) + ((H,) if rank > 2 else ()) + (L, S)
        if m.ndim > len(target):
            raise ValueError(f"{_FN}: attn_mask of shape {m.shape} has more dimensions than the "
                             f"scores {target}")
        try:
            m = np.broadcast_to(m, target)
        except ValueError:
            raise ValueError(f"{_FN}: attn_mask of shape {m.shape} does not broadcast to the scores' "
                             f"shape {target}") from None
        m4 = m.reshape((math.prod(bshape), H, L, S))
    if scale is None:
        scale = 1.0 / math.sqrt(E) if E > 0 else 1.0
    out = _C._sdpa(q4, k4, v4, m4, bool(is_causal), float(scale))
    if rank == 2:
        return out.reshape(L, Ev)
    return out.reshape(tuple(bshape) + (H, L, Ev))
