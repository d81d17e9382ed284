"""Dense products: ``linear`` and ``matmul`` with torch's semantics, and bf16 weights.

``linear`` is every projection of the LM, the SSL encoders and the adapters;
``matmul`` is the batched product (attention-like shapes, codebook distances). Both
run in C (slm._C) on the GEMM family's path (see :func:`slm.backend_info`): a packed,
cache-blocked GEMM for many rows, a weight-streaming GEMV for a few rows (one token of
decoding), or oneDNN.

bf16 weights: NumPy has no bfloat16, so :class:`BF16Tensor` holds the bit patterns
(uint16) of a bf16 array. ``linear(x, bf16(w))`` reads half the bytes of
``linear(x, w)``; each weight is widened to float32 as it is loaded and the sums are
float32, so it equals ``F.linear(x, w.to(torch.bfloat16).float())`` up to float32
rounding of the sums (NMSE ~1e-13). Against the float32 weight, rounding w to bf16 (8
bits of mantissa, relative error up to 2^-9) gives a normalised MSE of about 3e-6 on
random data; the tests bound it by 3e-5.
"""
import numpy as np

from .. import _C

__all__ = ["linear", "matmul", "bf16", "BF16Tensor"]


class BF16Tensor:
    """A float array stored as bfloat16: ``bits`` is a C-contiguous uint16 array of the
    bf16 bit patterns (the top halves of the float32 values). Make one with
    :func:`bf16`; ``to_float()`` gives the float32 values back (exactly).

    Treat it as immutable, as a model's weight is: ``matmul`` keeps a transposed copy
    of ``bits`` after its first use."""

    __slots__ = ("bits", "_bits_t")

    def __init__(self, bits):
        bits = np.asarray(bits)
        if bits.dtype != np.uint16:
            raise TypeError(f"BF16Tensor: bits must be a uint16 array of bf16 bit patterns, got dtype {bits.dtype}")
        self.bits = np.ascontiguousarray(bits)
        self._bits_t = None  # transposed copy for matmul, made on first use

    @property
    def shape(self):
        return self.bits.shape

    @property
    def ndim(self):
        return self.bits.ndim

    @property
    def size(self):
        return self.bits.size

    @property
    def nbytes(self):
        return self.bits.nbytes

    def to_float(self):
        """The values as a new float32 array (exact: bf16 is a subset of float32)."""
        return _C.from_bf16(self.bits)

    def __repr__(self):
        return f"BF16Tensor(shape={self.shape})"


def bf16(x):
    """``x`` (a float array) rounded to bf16 (nearest even, as
    ``torch.Tensor.to(torch.bfloat16)``), as a :class:`BF16Tensor`."""
    return BF16Tensor(_C.to_bf16(x))


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, as ``torch.nn.functional.linear``.

    input: (..., in) float array, any number of leading dimensions (1-D too).
    weight: (out, in) float array or :class:`BF16Tensor`; a 1-D (in,) weight gives an
    output without the last dimension, as in torch. bias: (out,) or None.
    Returns a new float32 array (..., out). An empty ``in`` gives the bias (or zeros)."""
    if isinstance(weight, BF16Tensor):
        if weight.ndim != 2:
            raise ValueError(f"linear: a BF16Tensor weight must be 2-D (out, in), got shape {weight.shape}")
        return _C.linear_bf16(input, weight.bits, bias)
    w = np.asarray(weight)
    if w.ndim == 1:
        # torch: a 1-D weight is one output feature whose dimension is dropped
        b = None if bias is None else np.reshape(np.asarray(bias), (1,))
        return _C.linear(input, w[None, :], b)[..., 0]
    return _C.linear(input, w, bias)


def _as_batched(x, batch, rows, cols):
    """x (..., rows, cols) as a 3-D (B, rows, cols) array for batch shape ``batch``: with
    a batch of 1 if x has no batch of its own (shared by every product, no copy),
    reshaped if its batch is ``batch``, else broadcast and copied."""
    own = x.shape[:-2]
    if all(d == 1 for d in own):
        return x.reshape(1, rows, cols)
    nb = 1
    for d in batch:
        nb *= d
    if own == batch:
        return x.reshape(nb, rows, cols)
    return np.ascontiguousarray(np.broadcast_to(x, batch + (rows, cols))).reshape(nb, rows, cols)


def matmul(input, other):
    """Matrix product with ``torch.matmul``'s rules.

    1-D @ 1-D is a dot product (0-D result); a 1-D ``input`` is a row vector and a 1-D
    ``other`` a column vector, their added dimension removed from the result; batch
    dimensions (all but the last two) broadcast. An operand without batch dimensions
    is shared by every product (not copied). ``other`` may be a 2-D :class:`BF16Tensor`
    (K, N): the product then runs as a linear layer on its transpose. Returns a new
    float32 array."""
    if isinstance(other, BF16Tensor):
        if other.ndim != 2:
            raise ValueError(f"matmul: a BF16Tensor other must be 2-D (K, N), got shape {other.shape}")
        if other._bits_t is None:
            other._bits_t = np.ascontiguousarray(other.bits.T)
        return _C.linear_bf16(input, other._bits_t, None)
    a = np.asarray(input)
    b = np.asarray(other)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments must be at least 1-D, got shapes {a.shape} and {b.shape}")
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    M, K = a2.shape[-2:]
    K2, N = b2.shape[-2:]
    if K != K2:
        raise ValueError(f"matmul: input {a.shape} and other {b.shape} cannot be multiplied ({K} != {K2})")
    try:
        batch = tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of input {a.shape} and other {b.shape} do not broadcast") from None
    out = _C.matmul(_as_batched(a2, batch, M, K), _as_batched(b2, batch, K, N))
    out = out.reshape(batch + (M, N))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out
