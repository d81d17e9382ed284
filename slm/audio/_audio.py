"""The Audio value: float32 samples plus their sample rate, playable in Jupyter."""
from __future__ import annotations

import base64
import html

import numpy as np

__all__ = ["Audio"]

# _repr_html_ embeds at most this much audio (a notebook cell holding a base64 WAV of an
# hour of 48 kHz stereo would be ~900 MB); longer audio is cut, and the cell says so
REPR_MAX_SECONDS = 60.0


class Audio:
    """Samples (float32, (n,) mono or (channels, n)) at ``sample_rate`` Hz.

    ``np.asarray(a)`` gives the samples (no copy), ``len(a)`` the samples per channel,
    ``a.duration`` seconds. In Jupyter it shows an audio player (:meth:`_repr_html_`);
    :meth:`plot` draws the waveform and a spectrogram when matplotlib is installed."""

    __slots__ = ("samples", "sample_rate")

    def __init__(self, samples, sample_rate):
        from ._resample import _rate

        x = np.asarray(samples)
        if x.dtype.kind != "f":
            raise TypeError(f"Audio samples must be floats in [-1, 1], got dtype {x.dtype}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim not in (1, 2):
            raise ValueError(f"Audio samples must be (n,) or (channels, n), got shape {x.shape}")
        self.samples = x
        self.sample_rate = _rate(sample_rate, "sample_rate")

    # ---- shape ----
    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else self.samples.shape[0]

    @property
    def num_samples(self) -> int:
        """samples per channel"""
        return self.samples.shape[-1]

    @property
    def duration(self) -> float:
        """seconds"""
        return self.num_samples / self.sample_rate

    def __len__(self):
        return self.num_samples

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.samples, dtype=dtype, copy=True)
        return self.samples if dtype is None else self.samples.astype(dtype, copy=False)

    def __repr__(self):
        ch = "mono" if self.samples.ndim == 1 else f"{self.channels} channel" + ("s" if self.channels > 1 else "")
        return f"Audio({self.duration:.3f} s, {self.sample_rate} Hz, {ch})"

    def __eq__(self, other):
        return (isinstance(other, Audio) and self.sample_rate == other.sample_rate
                and np.array_equal(self.samples, other.samples))

    __hash__ = None

    # ---- transforms ----
    def resample(self, sr, **kwargs) -> "Audio":
        """This audio at ``sr`` Hz (:func:`slm.audio.resample`, torchaudio's kernel)."""
        from ._resample import _rate, resample

        sr = _rate(sr, "sr")
        if sr == self.sample_rate:
            return Audio(self.samples.copy(), sr)
        return Audio(resample(self.samples, self.sample_rate, sr, **kwargs), sr)

    def to_mono(self) -> "Audio":
        """The mean over channels (as slm.audio.load(mono=True) and librosa.to_mono)."""
        if self.samples.ndim == 1:
            return self
        return Audio(self.samples.mean(axis=0, dtype=np.float64).astype(np.float32), self.sample_rate)

    def save(self, path, format=None, subtype=None):
        """Write to ``path`` (see :func:`slm.audio.save`)."""
        from ._io import save

        save(path, self, format=format, subtype=subtype)

    def to_wav(self, subtype="PCM_16") -> bytes:
        """The audio as the bytes of a WAV file."""
        from ._io import encode

        return encode(self, format="WAV", subtype=subtype)

    # ---- notebook ----
    def _repr_html_(self):
        a, note = self, ""
        limit = int(REPR_MAX_SECONDS * self.sample_rate)
        if self.num_samples > limit:
            a = Audio(self.samples[..., :limit], self.sample_rate)
            note = f" (player holds the first {REPR_MAX_SECONDS:g} s)"
        if a.channels > 2:  # browsers play mono and stereo WAV
            a = a.to_mono()
            note += " (mixed to mono for the player)"
        if a.num_samples == 0:
            return f"<div>{html.escape(repr(self))}</div>"
        x = a.samples
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if not np.isfinite(peak):
            x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
            note += " (NaN/Inf samples replaced)"
        wav = Audio(x, a.sample_rate).to_wav()
        b64 = base64.b64encode(wav).decode("ascii")
        return (f'<div><audio controls preload="metadata" src="data:audio/wav;base64,{b64}"></audio>'
                f"<br><small>{html.escape(repr(self) + note)}</small></div>")

    def plot(self, ax=None, n_fft=1024, hop_length=None):
        """Waveform (top) and log-power spectrogram in dB (bottom) with matplotlib.

        ``ax`` may be a pair of Axes to draw into; otherwise a new figure is made.
        Returns the Figure. Needs matplotlib (ImportError with the install hint
        otherwise); multichannel audio is mixed to mono for the spectrogram."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("Audio.plot needs matplotlib, which is not installed: pip install matplotlib") from e
        if ax is None:
            fig, ax = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
        else:
            fig = ax[0].figure
        t = np.arange(self.num_samples) / self.sample_rate
        x = self.samples if self.samples.ndim == 2 else self.samples[None]
        for c in range(x.shape[0]):
            ax[0].plot(t, x[c], linewidth=0.5, label=f"ch {c}" if x.shape[0] > 1 else None)
        ax[0].set_ylabel("amplitude")
        if x.shape[0] > 1:
            ax[0].legend(loc="upper right")
        mono = self.to_mono().samples.astype(np.float64)
        hop = hop_length or n_fft // 4
        if len(mono) >= n_fft:
            ax[1].specgram(mono, NFFT=n_fft, Fs=self.sample_rate, noverlap=n_fft - hop, scale="dB", cmap="magma")
        ax[1].set_ylabel("Hz")
        ax[1].set_xlabel("seconds")
        ax[0].set_title(repr(self))
        return fig
