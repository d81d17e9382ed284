"""Kernels on NumPy arrays, with ``torch.nn.functional``'s names, arguments and layouts.

Inputs are float arrays (float16/float64 are cast to float32; other dtypes raise
TypeError); outputs are new float32 arrays. Non-contiguous inputs are accepted (copied
once). NaN and Inf propagate as in IEEE arithmetic, as in PyTorch; ops whose result
would be silently wrong on them (index and codeword searches) raise ValueError. Which
path runs (ref, avx2, avx512, dnnl) is reported by :func:`slm.backend_info`.
"""
from ._embed import embedding
from ._bf16 import from_bf16, to_bf16

__all__ = ["embedding", "from_bf16", "to_bf16"]
