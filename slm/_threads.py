"""The one thread setting that governs slm's kernels and oneDNN."""
from . import _C


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (>= 1) in every slm kernel and oneDNN primitive.

    The default is the number of CPUs, or ``SLM_NUM_THREADS`` if set.
    """
    if isinstance(n, bool):
        raise TypeError("set_num_threads: n must be an int, got bool")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """The thread count that slm's kernels and oneDNN use."""
    return _C.get_num_threads()
