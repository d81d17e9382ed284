"""Helpers shared by the codec classes."""
import numpy as np


def audio_batch(audio, channels, who):
    """audio (B, C, L), (C, L) or (L,) (mono) -> (float32 (B, C, L) C-contiguous, batched),
    with clear errors for a wrong dtype, shape or channel count, an empty signal, NaN/Inf"""
    x = np.asarray(audio)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{who}: audio must be a real array, got dtype {x.dtype}")
    batched = x.ndim == 3
    if x.ndim == 1:
        x = x[None, None]
    elif x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1] != channels:
        raise ValueError(f"{who}: audio must be (B, {channels}, L), ({channels}, L)"
                         f"{' or (L,)' if channels == 1 else ''}, got shape {np.shape(audio)}")
    if x.shape[2] == 0:
        raise ValueError(f"{who}: empty audio")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{who}: audio contains NaN or Inf")
    return x, batched
