"""Embedding lookup."""
from .. import _C

__all__ = ["embedding"]


def embedding(input, weight):
    """Rows of ``weight`` (V, D) at the integer indices ``input`` (any shape).

    Like ``torch.nn.functional.embedding`` without max_norm; every index must lie in
    [0, V) (ValueError otherwise). Returns ``input.shape + (D,)`` float32."""
    return _C.embedding(input, weight)
