"""Models with their weights: speech encoders now, codecs, LMs and vocoders later.

:func:`load` opens a checkpoint (a Hugging Face folder, or the original release's file)
and returns the matching model object. Each model family lives in its own module here
and registers two functions: ``sniff(path) -> bool`` (does this checkpoint belong to the
family? it must only read config/metadata, cheaply) and ``load(path, **options)``.
"""
from __future__ import annotations

import importlib
import os

from ._base import EncoderOutput

__all__ = ["load", "families", "EncoderOutput"]

# modules that define sniff() and load(); asked in this order
_FAMILIES = ("slm.models.ssl", "slm.models.whisper", "slm.codecs.encodec", "slm.codecs.dac")


def families():
    """The model-family modules that :func:`load` asks, in order."""
    mods = []
    for name in _FAMILIES:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:  # a real missing dependency inside the module
                raise
    return mods


def load(path, **options):
    """Load the model stored at ``path`` (a folder or a file) and return it.

    Recognises the checkpoints of every family in :func:`families`; ``options`` go to
    that family's loader. Raises FileNotFoundError for a missing path and ValueError
    naming what was looked for when no family recognises it.
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"slm.load: no such file or folder: {p!r}")
    tried = []
    for mod in families():
        if mod.sniff(p):
            return mod.load(p, **options)
        tried.append(mod.__name__.rsplit(".", 1)[-1])
    raise ValueError(f"slm.load: {p!r} is not a checkpoint of a known model family (tried: {', '.join(tried)})")
