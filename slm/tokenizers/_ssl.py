"""Semantic speech tokenizers: encoder features -> k-means units -> deduplicated runs.

    tok = SSLUnitTokenizer.from_pretrained("hubert-base/", "km100.bin", layer=6)
    u = tok.encode("speech.wav")        # Units(units, durations, frame_rate, ...)
    u.units, u.durations, u.units_per_second, u.bitrate()

The encoder is any object of the speech-encoder protocol (slm.models._base): the
wav2vec2/HuBERT/WavLM and Whisper encoders of slm.models. The k-means is
slm.tokenizers.KMeans (centres from .npy/safetensors or scikit-learn pickles).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ._kmeans import KMeans
from ._units import dedup as _dedup, repeat as _repeat

__all__ = ["Units", "SSLUnitTokenizer", "load_audio_input"]


@dataclass
class Units:
    """One utterance as discrete units.

    units       int64 (N,): unit ids (deduplicated runs when durations is set)
    durations   int64 (N,) frames per unit, or None when not deduplicated
    frame_rate  frames per second of the encoder
    vocab_size  number of distinct unit ids (k-means clusters), for the bitrate
    features    float32 (T, C) the frame features the units came from, when asked for
    """
    units: np.ndarray
    durations: Optional[np.ndarray]
    frame_rate: float
    vocab_size: Optional[int] = None
    features: Optional[np.ndarray] = field(default=None, repr=False)

    def __len__(self):
        return int(self.units.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.durations.sum()) if self.durations is not None else len(self)

    @property
    def seconds(self) -> float:
        """duration covered, in seconds"""
        return self.num_frames / self.frame_rate

    @property
    def units_per_second(self) -> float:
        return len(self) / self.seconds if self.num_frames else 0.0

    def bitrate(self, vocab_size=None) -> float:
        """bits per second at log2(vocab_size) bits per unit (durations not counted)"""
        v = vocab_size or self.vocab_size
        if not v:
            raise ValueError("Units.bitrate: vocab_size unknown; pass it")
        return self.units_per_second * math.log2(v)

    def expand(self) -> np.ndarray:
        """per-frame units (T,): the runs repeated by their durations"""
        return self.units.copy() if self.durations is None else _repeat(self.units, self.durations)

    def deduplicated(self) -> "Units":
        """runs and durations (a no-op when already deduplicated)"""
        if self.durations is not None:
            return self
        u, d = _dedup(self.units)
        return Units(u, d, self.frame_rate, self.vocab_size, self.features)


def load_audio_input(audio, sample_rate):
    """(samples float32 (S,), rate) for a path, an slm.audio.Audio or a float array at
    ``sample_rate`` Hz; files and Audio values are resampled to ``sample_rate`` and mixed
    down to mono."""
    from ..audio import Audio, load, resample
    if isinstance(audio, (str, os.PathLike, bytes)):
        audio = load(audio, sr=sample_rate)
    if isinstance(audio, Audio):
        x = np.asarray(audio.samples, np.float32)
        x = x.mean(axis=0) if x.ndim == 2 else x
        if audio.sample_rate != sample_rate:
            x = resample(x, audio.sample_rate, sample_rate)
        return np.ascontiguousarray(x, np.float32)
    x = np.asarray(audio)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"audio samples must be floating point, got dtype {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"audio must be one channel (S,), got shape {x.shape}; pass an slm.audio.Audio "
                         "to mix channels down")
    if x.shape[0] == 0:
        raise ValueError("audio is empty")
    if not np.isfinite(x).all():
        raise ValueError("audio holds NaN or Inf")
    return np.ascontiguousarray(x, np.float32)


class SSLUnitTokenizer:
    """Units from one layer of a speech encoder, quantised by k-means (HuBERT/GSLM units).

    encoder  an encoder of slm.models (SSLEncoder, WhisperEncoder) or any object of the
             speech-encoder protocol
    layer    which hidden state to cluster (transformers' numbering: 0 is the input of the
             first layer, i the output of layer i)
    kmeans   slm.tokenizers.KMeans with centres of the encoder's width
    dedup    collapse repeated units into runs with durations (GSLM's default)
    """

    def __init__(self, encoder, layer, kmeans, dedup=True):
        n = getattr(encoder, "num_layers", None)
        if n is None or not hasattr(encoder, "hidden_size"):
            raise TypeError(f"SSLUnitTokenizer: {type(encoder).__name__} is not a speech encoder "
                            "(needs num_layers, hidden_size, sample_rate, __call__)")
        if not isinstance(layer, (int, np.integer)) or not 0 <= layer <= n:
            raise ValueError(f"SSLUnitTokenizer: layer must be an int in [0, {n}], got {layer!r}")
        if not isinstance(kmeans, KMeans) or kmeans.cluster_centers_ is None:
            raise TypeError("SSLUnitTokenizer: kmeans must be a fitted slm.tokenizers.KMeans")
        d = kmeans.cluster_centers_.shape[1]
        if d != encoder.hidden_size:
            raise ValueError(f"SSLUnitTokenizer: the k-means centres have {d} features but the encoder's "
                             f"hidden size is {encoder.hidden_size}")
        self.encoder, self.layer, self.kmeans, self.dedup = encoder, int(layer), kmeans, bool(dedup)

    @property
    def vocab_size(self) -> int:
        return self.kmeans.n_clusters

    @property
    def sample_rate(self) -> int:
        return self.encoder.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.encoder.frame_rate

    def __repr__(self):
        return (f"SSLUnitTokenizer(encoder={self.encoder!r}, layer={self.layer}, "
                f"k={self.vocab_size}, dedup={self.dedup})")

    @classmethod
    def from_pretrained(cls, encoder_path, kmeans_path, layer=None, dedup=True, **load_options):
        """An encoder checkpoint (anything slm.load reads) plus a k-means file (.npy,
        .safetensors, scikit-learn pickle). layer None: the middle layer, L // 2 (6 for
        12-layer base models, as GSLM's HuBERT units)."""
        from ..models import load
        enc = load(encoder_path, **load_options)
        km = KMeans.load(kmeans_path)
        return cls(enc, enc.num_layers // 2 if layer is None else layer, km, dedup)

    def _units(self, feats, return_features):
        labels = self.kmeans.predict(feats)
        u = Units(labels, None, float(self.frame_rate), self.vocab_size,
                  feats if return_features else None)
        return u.deduplicated() if self.dedup else u

    def encode(self, audio, return_features=False) -> Units:
        """Units of one utterance: a path, an slm.audio.Audio or float samples (S,) at the
        encoder's rate."""
        return self.encode_batch([audio], return_features)[0]

    def encode_batch(self, audios, return_features=False):
        """Units of several utterances: one padded encoder forward, or one forward per
        utterance for encoders whose output depends on the padding (group-norm front
        ends), so that a batch gives exactly the units of encoding each alone."""
        xs = [load_audio_input(a, self.sample_rate) for a in audios]
        if not xs:
            return []
        if len(xs) > 1 and not getattr(self.encoder, "padding_invariant", True):
            return [self._encode_padded([x], return_features)[0] for x in xs]
        return self._encode_padded(xs, return_features)

    def _encode_padded(self, xs, return_features):
        width = max(len(x) for x in xs)
        batch = np.zeros((len(xs), width), np.float32)
        for i, x in enumerate(xs):
            batch[i, :len(x)] = x
        out = self.encoder(batch, lengths=np.array([len(x) for x in xs]), layers=[self.layer])
        h = out.hidden_states[self.layer]
        return [self._units(np.ascontiguousarray(h[i, :out.lengths[i]]), return_features) for i in range(len(xs))]
