"""Audio files and signals: load/save/stream through libsndfile, resampling, the Audio value.

``slm.audio.load(path, sr=None, mono=True, offset=0.0, duration=None)`` -> Audio,
``slm.audio.save(path, audio, sr=None, format=None, subtype=None)``,
``slm.audio.stream(path, block)`` for block-wise reads, ``slm.audio.info(path)``,
``slm.audio.resample(x, orig_sr, new_sr)`` (torchaudio's kernel). See docs/audio.md.
"""
from ._audio import Audio
from ._io import (AudioInfo, AudioStream, available_formats, available_subtypes, encode, info, load, save,
                  stream)
from ._resample import resample

__all__ = ["Audio", "AudioInfo", "AudioStream", "available_formats", "available_subtypes", "encode", "info",
           "load", "resample", "save", "stream"]
