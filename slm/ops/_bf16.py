"""bf16 conversion. NumPy has no bfloat16: slm stores bf16 as uint16 bit patterns."""
from .. import _C

__all__ = ["to_bf16", "from_bf16"]


def to_bf16(x):
    """float array -> uint16 array of bf16 bit patterns (round to nearest even, as
    ``torch.Tensor.to(torch.bfloat16)``)."""
    return _C.to_bf16(x)


def from_bf16(x):
    """uint16 array of bf16 bit patterns -> float32 array (exact)."""
    return _C.from_bf16(x)
