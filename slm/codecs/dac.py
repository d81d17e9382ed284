"""DAC (Descript Audio Codec, Kumar et al. 2023) from the ``descript-audio-codec`` package's
checkpoint format (``{"state_dict", "metadata": {"kwargs"}}``) and from transformers
DacModel folders (keys renamed to the package's layout): Snake/conv encoder and
decoder as conv-stack programs in C (csrc/models/convseq.c), the factorised residual
quantizer in C (slm.codecs.rvq)."""
from __future__ import annotations

import math
import re

import numpy as np

from ._common import audio_batch
from .rvq import RVQ
from .seanet import CONVP, CONVTRP, PUSH, ADD, SNAKE, TANH, ConvStack, _conv_w, _layer

__all__ = ["DAC"]

_DEFAULTS = {"encoder_dim": 64, "encoder_rates": [2, 4, 8, 8], "latent_dim": None, "decoder_dim": 1536,
             "decoder_rates": [8, 8, 4, 2], "n_codebooks": 9, "codebook_size": 1024, "codebook_dim": 8,
             "sample_rate": 44100}


class _Prog:
    def __init__(self, sd):
        self.sd, self.prog = sd, []

    def conv(self, p, cin, cout, k, stride=1, dilation=1, pad=0):
        w, b = _conv_w(self.sd, p)
        if w.shape != (cout, cin, k):
            raise ValueError(f"DAC: {p}weight has shape {w.shape}, expected {(cout, cin, k)}")
        self.prog.append(_layer(CONVP, w, b, cin, cout, k, stride, dilation, pad_left=pad, pad_right=pad))

    def convtr(self, p, cin, cout, k, stride, pad):
        w, b = _conv_w(self.sd, p)
        if w.shape != (cin, cout, k):
            raise ValueError(f"DAC: {p}weight has shape {w.shape}, expected {(cin, cout, k)}")
        self.prog.append(_layer(CONVTRP, w, b, cin, cout, k, stride, pad_left=pad, pad_right=pad))

    def snake(self, p, c):
        a = np.ascontiguousarray(np.asarray(self.sd[p + "alpha"], np.float32).reshape(-1))
        if a.shape != (c,):
            raise ValueError(f"DAC: {p}alpha has {a.size} channels, expected {c}")
        self.prog.append(_layer(SNAKE, a, None, c, c))

    def res_unit(self, p, dim, dilation):
        self.prog.append(_layer(PUSH))
        self.snake(p + "block.0.", dim)
        self.conv(p + "block.1.", dim, dim, 7, dilation=dilation, pad=3 * dilation)
        self.snake(p + "block.2.", dim)
        self.conv(p + "block.3.", dim, dim, 1)
        self.prog.append(_layer(ADD))


def encoder_program(sd, kw):
    g = _Prog(sd)
    d = kw["encoder_dim"]
    g.conv("encoder.block.0.", 1, d, 7, pad=3)
    for i, s in enumerate(kw["encoder_rates"]):
        p = f"encoder.block.{i + 1}.block."
        for j, dil in enumerate((1, 3, 9)):
            g.res_unit(f"{p}{j}.", d, dil)
        g.snake(f"{p}3.", d)
        g.conv(f"{p}4.", d, 2 * d, 2 * s, stride=s, pad=math.ceil(s / 2))
        d *= 2
    n = len(kw["encoder_rates"])
    g.snake(f"encoder.block.{n + 1}.", d)
    g.conv(f"encoder.block.{n + 2}.", d, kw["latent_dim"], 3, pad=1)
    return g.prog


def decoder_program(sd, kw):
    g = _Prog(sd)
    ch = kw["decoder_dim"]
    g.conv("decoder.model.0.", kw["latent_dim"], ch, 7, pad=3)
    out = ch
    for i, s in enumerate(kw["decoder_rates"]):
        cin, out = ch // 2 ** i, ch // 2 ** (i + 1)
        p = f"decoder.model.{i + 1}.block."
        g.snake(f"{p}0.", cin)
        g.convtr(f"{p}1.", cin, out, 2 * s, s, math.ceil(s / 2))
        for j, dil in enumerate((1, 3, 9)):
            g.res_unit(f"{p}{j + 2}.", out, dil)
    n = len(kw["decoder_rates"])
    g.snake(f"decoder.model.{n + 1}.", out)
    g.conv(f"decoder.model.{n + 2}.", out, 1, 7, pad=3)
    g.prog.append(_layer(TANH))
    return g.prog


def _hf_renames(n_enc, n_dec):
    """(pattern, replacement) pairs: transformers DacModel key -> descript-audio-codec key"""
    ru = lambda j: str(int(j) - 1)  # noqa: E731  res_unitJ (1-based) -> block index
    unit = {"snake1": "block.0", "conv1": "block.1", "snake2": "block.2", "conv2": "block.3"}
    return [
        (r"^encoder\.conv1\.", lambda m: "encoder.block.0."),
        (r"^encoder\.block\.(\d+)\.res_unit(\d)\.(snake1|conv1|snake2|conv2)\.",
         lambda m: f"encoder.block.{int(m.group(1)) + 1}.block.{ru(m.group(2))}.{unit[m.group(3)]}."),
        (r"^encoder\.block\.(\d+)\.snake1\.", lambda m: f"encoder.block.{int(m.group(1)) + 1}.block.3."),
        (r"^encoder\.block\.(\d+)\.conv1\.", lambda m: f"encoder.block.{int(m.group(1)) + 1}.block.4."),
        (r"^encoder\.snake1\.", lambda m: f"encoder.block.{n_enc + 1}."),
        (r"^encoder\.conv2\.", lambda m: f"encoder.block.{n_enc + 2}."),
        (r"^decoder\.conv1\.", lambda m: "decoder.model.0."),
        (r"^decoder\.block\.(\d+)\.snake1\.", lambda m: f"decoder.model.{int(m.group(1)) + 1}.block.0."),
        (r"^decoder\.block\.(\d+)\.conv_t1\.", lambda m: f"decoder.model.{int(m.group(1)) + 1}.block.1."),
        (r"^decoder\.block\.(\d+)\.res_unit(\d)\.(snake1|conv1|snake2|conv2)\.",
         lambda m: f"decoder.model.{int(m.group(1)) + 1}.block.{int(m.group(2)) + 1}.{unit[m.group(3)]}."),
        (r"^decoder\.snake1\.", lambda m: f"decoder.model.{n_dec + 1}."),
        (r"^decoder\.conv2\.", lambda m: f"decoder.model.{n_dec + 2}."),
    ]


def _from_hf_keys(sd, n_enc, n_dec):
    rules = [(re.compile(p), f) for p, f in _hf_renames(n_enc, n_dec)]
    out = {}
    for k, v in sd.items():
        for rx, f in rules:
            m = rx.match(k)
            if m:
                k = f(m) + k[m.end():]
                break
        out[k] = v
    return out


class DAC:
    """DAC codec: ``encode(audio) -> codes (B, n_q, T)``, ``decode(codes) -> audio``.

    Audio is mono at ``sample_rate``; encode right-pads it with zeros to a multiple of the
    hop length (as DAC's ``preprocess``), decode returns T * hop_length samples."""

    def __init__(self, state_dict, **kwargs):
        kw = dict(_DEFAULTS)
        kw.update({k: v for k, v in kwargs.items() if k in _DEFAULTS})
        if kw["latent_dim"] is None:
            kw["latent_dim"] = kw["encoder_dim"] * 2 ** len(kw["encoder_rates"])
        sd = {k: np.asarray(v) for k, v in state_dict.items()}
        self.kwargs = kw
        self.sample_rate = int(kw["sample_rate"])
        self.hop_length = int(np.prod(kw["encoder_rates"]))
        self.frame_rate = self.sample_rate / self.hop_length
        self._enc = ConvStack(encoder_program(sd, kw))
        self._dec = ConvStack(decoder_program(sd, kw))
        self.quantizer = RVQ.from_state_dict(sd, "quantizer.")
        self.n_q = self.quantizer.n_q
        self.codebook_size = self.quantizer.codebook_sizes[0]
        self.channels = 1

    @classmethod
    def from_hf(cls, path):
        """transformers DacModel folder (config.json + weights)"""
        from ..io import load_hf_folder
        cfg, sd = load_hf_folder(path)
        kw = {"encoder_dim": cfg.get("encoder_hidden_size", 64),
              "encoder_rates": list(cfg.get("downsampling_ratios", [2, 4, 8, 8])),
              "latent_dim": cfg.get("hidden_size"), "decoder_dim": cfg.get("decoder_hidden_size", 1536),
              "decoder_rates": list(cfg.get("upsampling_ratios", [8, 8, 4, 2])),
              "n_codebooks": cfg.get("n_codebooks", 9), "codebook_size": cfg.get("codebook_size", 1024),
              "codebook_dim": cfg.get("codebook_dim", 8), "sample_rate": cfg.get("sampling_rate", 44100)}
        sd = _from_hf_keys(sd, len(kw["encoder_rates"]), len(kw["decoder_rates"]))
        return cls(sd, **kw)

    def __repr__(self):
        return (f"DAC(sample_rate={self.sample_rate}, hop_length={self.hop_length}, n_q={self.n_q}, "
                f"codebook_size={self.codebook_size})")

    def _audio(self, audio):
        x, batched = audio_batch(audio, 1, "DAC")
        pad = -x.shape[2] % self.hop_length  # DAC's preprocess: right zeros to a hop multiple
        if pad:
            x = np.concatenate([x, np.zeros(x.shape[:2] + (pad,), np.float32)], axis=2)
        return x, batched

    def encode_latents(self, audio):
        x, batched = self._audio(audio)
        z = self._enc(x)
        return z if batched else z[0]

    def encode(self, audio, n_q=None):
        """audio -> codes (B, n_q, T) int64 (default: all codebooks)"""
        x, batched = self._audio(audio)
        codes = self.quantizer.encode(self._enc(x), n_q=n_q)
        return codes if batched else codes[0]

    def decode(self, codes):
        """codes (B, n, T) -> audio (B, 1, about T * hop_length: a transposed conv of odd stride s
        gives s*L - 1 samples, as in the package)"""
        c = np.asarray(codes)
        batched = c.ndim == 3
        y = self._dec(self.quantizer.decode(c if batched else c[None]))
        return y if batched else y[0]


def _checkpoint(path):
    from ..io import load_state_dict
    ck = load_state_dict(path)
    sd = ck.get("state_dict") if isinstance(ck, dict) else None
    if isinstance(sd, dict) and "quantizer.quantizers.0.codebook.weight" in sd:
        return ck
    return None


def sniff(path):
    """True for a descript-audio-codec checkpoint file or a transformers DacModel folder"""
    import os
    from ..io import folder_model_type
    if os.path.isdir(path):
        return folder_model_type(path) == "dac"
    if not os.path.isfile(path):
        return False
    try:
        return _checkpoint(path) is not None
    except Exception:
        return False


def load(path, sample_rate=None):
    """a DAC from a descript-audio-codec checkpoint or a transformers folder; the rate is
    the checkpoint's (sample_rate, if given, must agree)"""
    import os
    if os.path.isdir(path):
        model = DAC.from_hf(path)
    else:
        ck = _checkpoint(path)
        if ck is None:
            raise ValueError(f"{path}: not a descript-audio-codec checkpoint")
        model = DAC(ck["state_dict"], **((ck.get("metadata") or {}).get("kwargs") or {}))
    if sample_rate is not None and int(sample_rate) != model.sample_rate:
        raise ValueError(f"DAC: {path} is a {model.sample_rate} Hz model, sample_rate={sample_rate} given")
    return model
