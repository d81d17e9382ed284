"""slm: speech language models with a C core.

The heavy math lives in the C extension ``slm._C``; this package exposes it on NumPy
arrays. Start with :func:`slm.backend_info` to see which kernel paths this machine uses,
and :mod:`slm.ops` for the kernels with ``torch.nn.functional``'s names.
"""
import os as _os

# GNU OpenMP (slm's kernels and Debian's oneDNN) spin-waits at barriers by default; when
# another process holds a core, a 2-thread call then stalls for a scheduler slice
# (measured: an 0.3 ms GEMV took 8 ms). Passive waiting costs nothing measurable on a
# quiet machine. Set OMP_WAIT_POLICY yourself to override; it is read when the OpenMP
# runtime loads, i.e. at the first import of slm (or of another OpenMP user).
_os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from . import _C  # noqa: E402
from ._C import BackendError  # noqa: E402
from ._backend import BackendInfo, backend_info, get_backend, set_backend
from ._threads import get_num_threads, set_num_threads
from . import ops
from . import audio, features, io, tokenizers, models  # noqa: E402
from .models import load  # noqa: E402

__version__ = _C.version()[1]

__all__ = ["BackendError", "BackendInfo", "backend_info", "get_backend", "set_backend",
           "get_num_threads", "set_num_threads", "ops", "audio", "features", "io", "tokenizers",
           "models", "load", "__version__"]
