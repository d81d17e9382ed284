"""Kernels on NumPy arrays, with ``torch.nn.functional``'s names, arguments and layouts.

Inputs are float arrays (float16/float64 are cast to float32; other dtypes raise
TypeError); outputs are new float32 arrays. Non-contiguous inputs are accepted (copied
once). NaN and Inf propagate as in IEEE arithmetic, as in PyTorch; ops whose result
would be silently wrong on them (index and codeword searches) raise ValueError. Which
path runs (ref, avx2, avx512, dnnl) is reported by :func:`slm.backend_info`.
"""
from . import _attn, _bf16, _conv, _embed, _gemm, _norm_act, _rnn_vq
from ._attn import *  # noqa: F401,F403
from ._bf16 import *  # noqa: F401,F403
from ._conv import *  # noqa: F401,F403
from ._embed import *  # noqa: F401,F403
from ._gemm import *  # noqa: F401,F403
from ._norm_act import *  # noqa: F401,F403
from ._rnn_vq import *  # noqa: F401,F403

__all__ = sorted(set(_attn.__all__ + _bf16.__all__ + _conv.__all__ + _embed.__all__ + _gemm.__all__
                     + _norm_act.__all__ + _rnn_vq.__all__))
