"""What the speech encoders share: the output value of a forward pass.

Every speech encoder (slm.models.ssl.SSLEncoder, slm.models.whisper.WhisperEncoder)
follows one protocol, which slm.tokenizers.SSLUnitTokenizer relies on:

    enc.sample_rate    int, the input rate in Hz
    enc.frame_rate     float, output frames per second
    enc.num_layers     int L, Transformer layers
    enc.hidden_size    int C
    enc(wav, lengths=None, layers=None) -> EncoderOutput
        wav      float32 (S,) or (B, S) at enc.sample_rate, or an slm.audio.Audio
                 (resampled to enc.sample_rate, mixed down to mono)
        lengths  (B,) valid samples per row of a zero-padded batch; None: all S
        layers   None: every hidden state; an iterable of ints in [0, L]: only those,
                 and the forward stops after the deepest one asked for
    enc.padding_invariant  bool: a row's output does not depend on the zero padding
                 that batches it with longer rows (False for the group-norm front end of
                 wav2vec2/HuBERT/WavLM base models, as in transformers)

Hidden states are numbered as transformers' ``output_hidden_states``: 0 is the input of
the first Transformer layer, i the output of layer i. ``EncoderOutput.final`` is the
model's output (transformers' ``last_hidden_state``), which differs from layer L where a
final norm follows the layers (pre-norm wav2vec2/HuBERT/WavLM); Whisper's layer L
already includes ln_post, as both of its references return it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["EncoderOutput", "as_batch"]


@dataclass
class EncoderOutput:
    """hidden_states: {layer: float32 (B, T, C)} for the layers asked for;
    lengths: int64 (B,) valid frames per batch row (frames beyond are padding);
    frame_rate: output frames per second;
    final: the model's output (B, T, C) when it was computed: the last layer after the
    model's final norm (transformers' last_hidden_state), else None."""
    hidden_states: dict
    lengths: np.ndarray
    frame_rate: float
    final: Optional[np.ndarray] = None

    @property
    def last_hidden_state(self):
        """the model's output when computed, else the deepest hidden state (B, T, C)"""
        if self.final is not None:
            return self.final
        return self.hidden_states[max(self.hidden_states)]


def as_batch(wav, sample_rate):
    """float32 C-contiguous (B, S) from a float array (S,) / (B, S) at ``sample_rate``,
    or from an slm.audio.Audio (mixed down to mono, resampled to ``sample_rate``).
    TypeError for non-float samples; ValueError for other shapes, empty or non-finite
    audio."""
    from ..audio import Audio, resample
    if isinstance(wav, Audio):
        x = np.asarray(wav.samples, dtype=np.float32)
        x = x.mean(axis=0) if x.ndim == 2 else x
        if wav.sample_rate != sample_rate:
            x = resample(x, wav.sample_rate, sample_rate)
    else:
        x = np.asarray(wav)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"audio must be floating-point samples, got dtype {x.dtype}")
        x = x.astype(np.float32, copy=False)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"audio must be (S,) or (B, S) with S > 0, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("audio holds NaN or Inf")
    return np.ascontiguousarray(x)
