"""Speech tokenizers: k-means units over encoder features, deduplication and unit BPE."""
from ._units import *  # noqa: F401,F403
from ._kmeans import *  # noqa: F401,F403
from . import _units, _kmeans

__all__ = _units.__all__ + _kmeans.__all__
