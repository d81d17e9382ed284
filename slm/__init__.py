"""slm: speech language models with a C core.

The heavy math lives in the C extension ``slm._C``; this package exposes it on NumPy
arrays. Start with :func:`slm.backend_info` to see which kernel paths this machine uses,
and :mod:`slm.ops` for the kernels with ``torch.nn.functional``'s names.
"""
from . import _C
from ._C import BackendError
from ._backend import BackendInfo, backend_info, get_backend, set_backend
from ._threads import get_num_threads, set_num_threads
from . import ops

__version__ = _C.version()[1]

__all__ = ["BackendError", "BackendInfo", "backend_info", "get_backend", "set_backend",
           "get_num_threads", "set_num_threads", "ops", "__version__"]
