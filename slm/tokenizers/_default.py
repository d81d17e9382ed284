"""The embedded default tokenizer: k-means units over log-mel frames, with resynthesis.

No downloaded weights: the k-means centres (K = 100 over 80 log-mel bins, 32 KB) were
trained by slm on the speech fixtures in tests/data/speech (see
``python -m slm.tokenizers._train_default``) and ship in slm/data. This is the
clustering of spectral frames that HuBERT's first iteration uses to make its targets
(there over MFCCs), at HuBERT's 50 frames per second.

    tok = slm.tokenizers.default()
    u = tok.encode("speech.wav")          # Units at 50 frames/s
    audio = tok.decode(u)                 # centroid log-mel frames -> Griffin-Lim

Resynthesis replaces each frame by its unit's centroid log-mel frame, maps the mel
power back to a linear-frequency power spectrogram with the filterbank's pseudo-inverse
(negative values clipped), and runs Griffin-Lim. It keeps the words' spectral outline
and loses pitch and voice detail: it is a baseline that later vocoders replace.
"""
from __future__ import annotations

import json
import os

import numpy as np

from ._kmeans import KMeans
from ._ssl import Units, load_audio_input

__all__ = ["LogMelUnitTokenizer", "default", "DEFAULT_PATH", "logmel_distance_db"]

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
DEFAULT_PATH = os.path.join(DATA, "default_units.safetensors")
DEMO_PATH = os.path.join(DATA, "demo_speech_16k.flac")

# the front end: 16 kHz, 64 ms Hann windows every 20 ms (50 frames/s), 80 Slaney mel
# bands to 8 kHz, natural log of the power floored at 1e-5
FRONT_END = dict(sample_rate=16000, n_fft=1024, hop_length=320, n_mels=80, f_min=0.0, f_max=8000.0,
                 log_floor=1e-5)


class LogMelUnitTokenizer:
    """Units = nearest k-means centre of each log-mel frame.

    kmeans     slm.tokenizers.KMeans over n_mels features
    front_end  dict of the log-mel settings (FRONT_END's keys)
    dedup      collapse repeats into runs with durations
    """

    def __init__(self, kmeans, front_end=None, dedup=True):
        fe = dict(FRONT_END, **(front_end or {}))
        if kmeans.cluster_centers_ is None or kmeans.cluster_centers_.shape[1] != fe["n_mels"]:
            raise ValueError(f"LogMelUnitTokenizer: the k-means centres must have {fe['n_mels']} features")
        self.kmeans, self.front_end, self.dedup = kmeans, fe, bool(dedup)
        self.sample_rate = int(fe["sample_rate"])
        self.frame_rate = self.sample_rate / fe["hop_length"]

    def __repr__(self):
        return f"LogMelUnitTokenizer(k={self.vocab_size}, n_mels={self.front_end['n_mels']}, {self.frame_rate:g} frames/s)"

    @property
    def vocab_size(self) -> int:
        return self.kmeans.n_clusters

    # ---- features -----------------------------------------------------------------
    def _mel_args(self):
        fe = self.front_end
        return dict(sample_rate=self.sample_rate, n_fft=fe["n_fft"], hop_length=fe["hop_length"],
                    n_mels=fe["n_mels"], f_min=fe["f_min"], f_max=fe["f_max"], power=2.0, norm="slaney",
                    mel_scale="slaney")

    def features(self, audio) -> np.ndarray:
        """log-mel frames (T, n_mels) of one utterance (path, Audio or samples at 16 kHz)"""
        from ..features import melspectrogram
        x = load_audio_input(audio, self.sample_rate)
        mel = melspectrogram(x, **self._mel_args())
        return np.ascontiguousarray(np.log(np.maximum(mel, self.front_end["log_floor"])).T)

    # ---- units --------------------------------------------------------------------
    def encode(self, audio, return_features=False) -> Units:
        f = self.features(audio)
        u = Units(self.kmeans.predict(f), None, self.frame_rate, self.vocab_size, f if return_features else None)
        return u.deduplicated() if self.dedup else u

    def encode_batch(self, audios, return_features=False):
        return [self.encode(a, return_features) for a in audios]

    def decode(self, units, n_iter=32, seed=0):
        """audio (slm.audio.Audio at 16 kHz) from Units or per-frame unit ids (T,)"""
        from ..audio import Audio
        from ..features import griffin_lim, melscale_fbanks, window
        ids = units.expand() if isinstance(units, Units) else np.asarray(units)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"decode: units must be a non-empty 1-D sequence, got shape {ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"decode: unit ids must be integers in [0, {self.vocab_size})")
        fe = self.front_end
        logmel = self.kmeans.cluster_centers_[ids]                        # (T, n_mels)
        if getattr(self, "_pinv", None) is None:  # its SVD costs more than Griffin-Lim: once
            fb = melscale_fbanks(fe["n_fft"] // 2 + 1, fe["f_min"], fe["f_max"], fe["n_mels"], self.sample_rate,
                                 norm="slaney", mel_scale="slaney")       # (F, n_mels)
            self._pinv = np.linalg.pinv(fb.T.astype(np.float64))         # (F, n_mels)
        power = np.maximum(self._pinv @ np.exp(logmel.T.astype(np.float64)), 0.0)
        y = griffin_lim(power.astype(np.float32), fe["n_fft"], hop_length=fe["hop_length"],
                        window=window("hann", fe["n_fft"]), power=2.0, n_iter=n_iter, seed=seed,
                        length=(len(ids) - 1) * fe["hop_length"])
        peak = float(np.abs(y).max())
        if peak > 0.99:  # keep it playable and writable as PCM
            y = y * (0.99 / peak)
        return Audio(y.astype(np.float32), self.sample_rate)

    # ---- files --------------------------------------------------------------------
    def save(self, path):
        from ..io import save_safetensors
        save_safetensors(path, {"cluster_centers": self.kmeans.cluster_centers_},
                         metadata={"format": "slm.logmel_units", "front_end": json.dumps(self.front_end)})

    @classmethod
    def load(cls, path, dedup=True):
        from ..io import safe_open
        with safe_open(path) as f:
            meta = f.metadata() or {}
            if meta.get("format") != "slm.logmel_units":
                raise ValueError(f"{path}: not a LogMelUnitTokenizer file (format {meta.get('format')!r})")
            centres = np.array(f.get_tensor("cluster_centers"), np.float32)
        return cls(KMeans.from_centers(centres), json.loads(meta.get("front_end", "{}")), dedup)


def default(dedup=True) -> LogMelUnitTokenizer:
    """the embedded default tokenizer (shipped in slm/data)"""
    return LogMelUnitTokenizer.load(DEFAULT_PATH, dedup)


def logmel_distance_db(a, b, tokenizer=None):
    """mean absolute difference of the log-mel frames of two signals (16 kHz samples or
    Audio), in dB (10 log10 of the power ratio), over their common frames"""
    tok = tokenizer or default()
    fa, fb = tok.features(a), tok.features(b)
    n = min(len(fa), len(fb))
    return float(np.mean(np.abs(fa[:n] - fb[:n])) * 10.0 / np.log(10.0))
