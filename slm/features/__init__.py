"""Speech features in C: FFT, STFT/iSTFT, mel filterbanks, the front ends checkpoints
expect, F0 and Griffin-Lim, on float32 NumPy arrays."""
from ._spectral import *  # noqa: F401,F403
from ._mel import *  # noqa: F401,F403
from ._frontends import *  # noqa: F401,F403
from ._f0 import *  # noqa: F401,F403
from . import _spectral, _mel, _frontends, _f0

__all__ = _spectral.__all__ + _mel.__all__ + _frontends.__all__ + _f0.__all__
