"""Speech tokenizers: k-means units over encoder features, deduplication and unit BPE,
the embedded default (log-mel k-means units with Griffin-Lim resynthesis), unit files."""
from ._units import *  # noqa: F401,F403
from ._kmeans import *  # noqa: F401,F403
from ._ssl import *  # noqa: F401,F403
from ._default import LogMelUnitTokenizer, default, logmel_distance_db  # noqa: F401
from ._files import read_units  # noqa: F401
from . import _units, _kmeans, _ssl

__all__ = (_units.__all__ + _kmeans.__all__ + _ssl.__all__
           + ["LogMelUnitTokenizer", "default", "logmel_distance_db", "read_units"])
