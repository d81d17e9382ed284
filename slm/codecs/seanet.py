"""SEANet encoders and decoders (EnCodec, and the variants in Mimi and SpeechTokenizer) as
programs for the C conv-stack runner (csrc/models/convseq.c, slm/convseq.h).

:func:`encoder_program` / :func:`decoder_program` walk the same configuration the PyTorch
modules are built from (``encodec.modules.SEANetEncoder`` / ``SEANetDecoder``), so the
layer indices, and with them the state-dict keys, are those of ``nn.Sequential``.
Weight norm is folded at load."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

import numpy as np

from .. import _C
from .rvq import fold_weight_norm

CONV, CONVTR, ELU, PUSH, ADD, SKIPCONV, LSTM, CONVP, CONVTRP, SNAKE, TANH, GROUPNORM, SKIPGROUPNORM = range(13)


@dataclass
class SEANetConfig:
    """The arguments of encodec's SEANetEncoder/SEANetDecoder (their defaults; EnCodec
    24 kHz uses causal=True, true_skip=True)."""
    channels: int = 1
    dimension: int = 128
    n_filters: int = 32
    n_residual_layers: int = 1
    ratios: List[int] = field(default_factory=lambda: [8, 5, 4, 2])
    kernel_size: int = 7
    last_kernel_size: int = 7
    residual_kernel_size: int = 3
    dilation_base: int = 2
    causal: bool = False
    pad_mode: str = "reflect"
    true_skip: bool = False
    compress: int = 2
    lstm: int = 2
    trim_right_ratio: float = 1.0
    elu_alpha: float = 1.0
    norm: str = "weight_norm"  # or "time_group_norm": GroupNorm(1, C) after every conv

    @property
    def hop_length(self):
        return int(np.prod(self.ratios))


def _conv_w(sd, p):
    """weight (folded from weight_g/weight_v or parametrizations) and bias of the conv at p"""
    for g, v in (("weight_g", "weight_v"), ("parametrizations.weight.original0",
                                            "parametrizations.weight.original1")):
        if p + g in sd:
            w = fold_weight_norm(np.asarray(sd[p + g]), np.asarray(sd[p + v]), dim=0)
            break
    else:
        if p + "weight" not in sd:
            raise ValueError(f"SEANet: no weight for {p.rstrip('.')}")
        w = np.asarray(sd[p + "weight"], np.float32)
    b = sd.get(p + "bias")
    return np.ascontiguousarray(w, np.float32), None if b is None else np.ascontiguousarray(b, np.float32)


def _layer(op, w=None, b=None, cin=0, cout=0, k=0, stride=1, dilation=1, causal=False, reflect=False, param=0.0,
           lstm=None, lstm_layers=0, lstm_skip=False, pad_left=0, pad_right=0):
    return (op, w, b, int(cin), int(cout), int(k), int(stride), int(dilation), bool(causal), bool(reflect),
            float(param), lstm, int(lstm_layers), bool(lstm_skip), int(pad_left), int(pad_right))


# where each layer's weights sit under a Sequential index, per checkpoint layout
KEYS_ENCODEC = {"conv": "conv.conv.", "convtr": "convtr.convtr.", "block": "block.{}.conv.conv.",
                "shortcut": "shortcut.conv.conv.", "lstm": "lstm.", "norm": ("conv.conv.", "conv.norm."),
                "normtr": ("convtr.convtr.", "convtr.norm.")}
KEYS_HF = {"conv": "conv.", "convtr": "conv.", "block": "block.{}.conv.", "shortcut": "shortcut.conv.",
           "lstm": "lstm.", "norm": ("conv.", "norm."), "normtr": ("conv.", "norm.")}


class _Builder:
    def __init__(self, sd, prefix, cfg, keys):
        self.sd, self.prefix, self.cfg, self.prog, self.idx, self.keys = sd, prefix, cfg, [], 0, keys

    def key(self, i=None):
        return f"{self.prefix}{self.idx if i is None else i}."

    def conv(self, p, cin, cout, k, stride=1, dilation=1, op=CONV):
        w, b = _conv_w(self.sd, p)
        if w.shape != (cout, cin, k):
            raise ValueError(f"SEANet: {p}weight has shape {w.shape}, the configuration gives {(cout, cin, k)}")
        self.prog.append(_layer(op, w, b, cin, cout, k, stride, dilation, self.cfg.causal,
                                self.cfg.pad_mode == "reflect"))
        self.norm(p, cout, "norm", SKIPGROUPNORM if op == SKIPCONV else GROUPNORM)

    def norm_params(self, p, kind):
        """[weight, bias] of the GroupNorm(1, C) that follows the conv at p (time_group_norm), or None"""
        if self.cfg.norm != "time_group_norm":
            return None
        conv_part, norm_part = self.keys[kind]
        q = p[:len(p) - len(conv_part)] + norm_part if p.endswith(conv_part) else None
        if q is None or q + "weight" not in self.sd or q + "bias" not in self.sd:
            raise ValueError(f"SEANet: time_group_norm without {q}weight and {q}bias")
        return [np.ascontiguousarray(self.sd[q + "weight"], np.float32),
                np.ascontiguousarray(self.sd[q + "bias"], np.float32)]

    def norm(self, p, c, kind, op=GROUPNORM):
        """the GroupNorm(1, C) after a conv (time_group_norm), as its own layer"""
        gn = self.norm_params(p, kind)
        if gn is not None:
            self.prog.append(_layer(op, gn[0], gn[1], c, c, 1, param=1e-5))

    def elu(self):
        self.prog.append(_layer(ELU, param=self.cfg.elu_alpha))

    def resblock(self, dim, dilation):
        c = self.cfg
        hidden = dim // c.compress
        p = self.key()
        self.prog.append(_layer(PUSH))
        self.elu()
        self.conv(p + self.keys["block"].format(1), dim, hidden, c.residual_kernel_size, dilation=dilation)
        self.elu()
        self.conv(p + self.keys["block"].format(3), hidden, dim, 1)
        if not c.true_skip:
            self.conv(p + self.keys["shortcut"], dim, dim, 1, op=SKIPCONV)
        self.prog.append(_layer(ADD))
        self.idx += 1

    def lstm(self, dim):
        p = self.key() + self.keys["lstm"]
        arrs = []
        for layer in range(self.cfg.lstm):
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                k = f"{p}{n}_l{layer}"
                if k not in self.sd:
                    raise ValueError(f"SEANet: missing {k}")
                arrs.append(np.ascontiguousarray(self.sd[k], np.float32))
        self.prog.append(_layer(LSTM, cin=dim, cout=dim, lstm=arrs, lstm_layers=self.cfg.lstm, lstm_skip=True))
        self.idx += 1


def encoder_program(sd, prefix, cfg: SEANetConfig, keys=KEYS_ENCODEC):
    """the layer list of encodec's SEANetEncoder(cfg) whose Sequential (or transformers'
    EncodecEncoder layer list, keys=KEYS_HF) is at prefix"""
    b = _Builder(sd, prefix, cfg, keys)
    nf, mult = cfg.n_filters, 1
    b.conv(b.key() + keys["conv"], cfg.channels, nf, cfg.kernel_size)
    b.idx += 1
    for ratio in reversed(cfg.ratios):
        for j in range(cfg.n_residual_layers):
            b.resblock(mult * nf, cfg.dilation_base ** j)
        b.elu()
        b.idx += 1
        b.conv(b.key() + keys["conv"], mult * nf, 2 * mult * nf, 2 * ratio, stride=ratio)
        b.idx += 1
        mult *= 2
    if cfg.lstm:
        b.lstm(mult * nf)
    b.elu()
    b.idx += 1
    b.conv(b.key() + keys["conv"], mult * nf, cfg.dimension, cfg.last_kernel_size)
    return b.prog


def decoder_program(sd, prefix, cfg: SEANetConfig, keys=KEYS_ENCODEC):
    """the layer list of encodec's SEANetDecoder(cfg) whose Sequential (or transformers'
    EncodecDecoder layer list, keys=KEYS_HF) is at prefix"""
    b = _Builder(sd, prefix, cfg, keys)
    nf, mult = cfg.n_filters, 2 ** len(cfg.ratios)
    b.conv(b.key() + keys["conv"], cfg.dimension, mult * nf, cfg.kernel_size)
    b.idx += 1
    if cfg.lstm:
        b.lstm(mult * nf)
    for ratio in cfg.ratios:
        b.elu()
        b.idx += 1
        w, bias = _conv_w(sd, b.key() + keys["convtr"])
        if w.shape != (mult * nf, mult * nf // 2, 2 * ratio):
            raise ValueError(f"SEANet: {b.key()}convtr weight has shape {w.shape}")
        gn = b.norm_params(b.key() + keys["convtr"], "normtr")  # normalises before the trim
        b.prog.append(_layer(CONVTR, w, bias, mult * nf, mult * nf // 2, 2 * ratio, ratio, 1, cfg.causal, False,
                             cfg.trim_right_ratio, lstm=gn, lstm_layers=1 if gn else 0))
        b.idx += 1
        for j in range(cfg.n_residual_layers):
            b.resblock(mult * nf // 2, cfg.dilation_base ** j)
        mult //= 2
    b.elu()
    b.idx += 1
    b.conv(b.key() + keys["conv"], nf, cfg.channels, cfg.last_kernel_size)
    return b.prog


class ConvStack:
    """a compiled program: ``stack(x (N, C, L)) -> (N, C_out, L_out)`` in C"""

    def __init__(self, program):
        self._prog = _C.convseq_program(list(program))
        self.n_layers = len(program)

    def __call__(self, x):
        return _C.convseq_run(self._prog, x)
