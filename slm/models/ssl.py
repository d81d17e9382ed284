"""wav2vec2, HuBERT and WavLM encoders (base and large families) as one C graph.

Loads Hugging Face folders (model_type wav2vec2, hubert, wavlm: bare models and the
ForCTC / ForPreTraining / ForSequenceClassification bodies) and the original fairseq
(wav2vec2, HuBERT: ``{"cfg" or "args": ..., "model": state_dict}``) and unilm WavLM
(``{"cfg": {...}, "model": ...}``) checkpoints. Key maps are data
(:mod:`slm.models._ssl_keys`); weight norm is folded at load.

    enc = slm.load("hubert_base_ls960.pt")          # or an HF folder
    out = enc(wav_16k, layers=[6])                  # EncoderOutput; stops after layer 6
    feats = out.hidden_states[6][0, :out.lengths[0]]
"""
from __future__ import annotations

import ast
import json
import os

import numpy as np

from .. import _C
from ..io import load_hf_folder, load_torch
from ._base import EncoderOutput, as_batch
from ._ssl_keys import FAIRSEQ_KEYS, FAIRSEQ_PREFIXES, HF_KEYS, HF_PREFIXES, map_state_dict

__all__ = ["SSLEncoder", "sniff", "load", "FINAL"]

FINAL = -1  # the model's output: layer L after the final norm of pre-norm ("stable") models
HF_TYPES = ("wav2vec2", "hubert", "wavlm")


class SSLEncoder:
    """A wav2vec2 / HuBERT / WavLM encoder: 16 kHz audio in, hidden states (B, T, C) out at
    50 frames/s (for the usual front end). Follows the speech-encoder protocol of
    :mod:`slm.models._base`; ``kind`` is 'wav2vec2', 'hubert' or 'wavlm'."""

    sample_rate = 16000

    def __init__(self, weights, config, kind="wav2vec2", dtype="float32", source="<weights>", normalize=False):
        if dtype not in ("float32", "bf16"):
            raise ValueError(f"SSLEncoder: dtype must be 'float32' or 'bf16', got {dtype!r}")
        cfg = dict(config)
        cfg["bf16"] = int(dtype == "bf16")
        self.config, self.kind, self.dtype, self.source = cfg, kind, dtype, source
        # zero-mean unit-variance input per utterance, which the checkpoint's feature
        # extractor applies before the model (do_normalize / fairseq task.normalize:
        # wav2vec2 large and most fine-tuned models); not part of the model itself
        self.normalize = bool(normalize)
        self.num_layers, self.hidden_size = int(cfg["L"]), int(cfg["C"])
        self.stable = bool(cfg.get("stable", 0))
        # a group-norm front end normalises each channel over the whole (padded) row, so a
        # row's features depend on the padding added to batch it (transformers behaves
        # the same); layer-norm front ends and the masked encoder do not
        self.padding_invariant = int(cfg.get("fe_norm", 0)) == 1
        hop = int(np.prod(cfg["conv_stride"]))
        self.frame_rate = self.sample_rate / hop
        self._h = _C._ssl_create(cfg, weights)

    def __repr__(self):
        return (f"SSLEncoder(kind={self.kind!r}, layers={self.num_layers}, width={self.hidden_size}, "
                f"{'pre' if self.stable else 'post'}-norm, dtype={self.dtype}, normalize={self.normalize}, "
                f"source={self.source!r})")

    def frames(self, samples):
        """output frames for an input of ``samples`` samples (0 when too short)"""
        return _C._ssl_frames(self._h, int(samples))

    # ---- loading ------------------------------------------------------------------
    @classmethod
    def from_hf(cls, path, dtype="float32", normalize=None):
        """normalize None: preprocessor_config.json's do_normalize (False without one)"""
        cfg, sd = load_hf_folder(path)
        if normalize is None:
            try:
                with open(os.path.join(path, "preprocessor_config.json")) as f:
                    normalize = bool(json.load(f).get("do_normalize", False))
            except (OSError, ValueError):
                normalize = False
        kind = cfg.get("model_type")
        if kind not in HF_TYPES:
            raise ValueError(f"{path}: config.json model_type {kind!r} is not one of {HF_TYPES}")
        for key in ("hidden_act", "feat_extract_activation"):
            if cfg.get(key, "gelu") != "gelu":
                raise ValueError(f"{path}: {key} {cfg[key]!r} is not supported (only 'gelu')")
        c = {
            "conv_dim": list(cfg.get("conv_dim", [512] * 7)),
            "conv_kernel": list(cfg.get("conv_kernel", [10, 3, 3, 3, 3, 2, 2])),
            "conv_stride": list(cfg.get("conv_stride", [5, 2, 2, 2, 2, 2, 2])),
            "conv_bias": int(bool(cfg.get("conv_bias", False))),
            "fe_norm": _fe_norm(cfg.get("feat_extract_norm", "group"), path),
            "fp_norm": int(bool(cfg.get("feat_proj_layer_norm", True))) if kind == "hubert" else 1,
            "C": cfg.get("hidden_size", 768), "H": cfg.get("num_attention_heads", 12),
            "F": cfg.get("intermediate_size", 3072), "L": cfg.get("num_hidden_layers", 12),
            "stable": int(bool(cfg.get("do_stable_layer_norm", False))),
            "eps": float(cfg.get("layer_norm_eps", 1e-5)),
            "pos_kernel": cfg.get("num_conv_pos_embeddings", 128),
            "pos_groups": cfg.get("num_conv_pos_embedding_groups", 16),
            "wavlm": int(kind == "wavlm"),
            "num_buckets": cfg.get("num_buckets", 320), "max_distance": cfg.get("max_bucket_distance", 800),
        }
        w = map_state_dict(sd, HF_KEYS, HF_PREFIXES, str(path))
        return cls(w, c, kind, dtype, os.fspath(path), normalize)

    @classmethod
    def from_fairseq(cls, path, dtype="float32", normalize=None):
        """normalize None: the task's (or model config's) normalize flag"""
        ck = load_torch(path)
        if not isinstance(ck, dict) or "model" not in ck:
            raise ValueError(f"{path}: not a fairseq/unilm checkpoint (no 'model' entry)")
        m, kind = _fairseq_model_cfg(ck, path)
        if normalize is None:
            cfg = ck.get("cfg") if isinstance(ck.get("cfg"), dict) else {}
            task = cfg.get("task") if isinstance(cfg.get("task"), dict) else {}
            normalize = bool(task.get("normalize", m.get("normalize", False)))
        if m.get("activation_fn", "gelu") != "gelu":
            raise ValueError(f"{path}: activation_fn {m['activation_fn']!r} is not supported (only 'gelu')")
        layers = _conv_layers(m.get("conv_feature_layers", "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2"),
                              path)
        mode = m.get("extractor_mode", "default")
        c = {
            "conv_dim": [l[0] for l in layers], "conv_kernel": [l[1] for l in layers],
            "conv_stride": [l[2] for l in layers],
            "conv_bias": int(bool(m.get("conv_bias", False))),
            "fe_norm": _fe_norm({"default": "group", "layer_norm": "layer"}.get(mode, mode), path),
            "fp_norm": 1,
            "C": m.get("encoder_embed_dim", 768), "H": m.get("encoder_attention_heads", 12),
            "F": m.get("encoder_ffn_embed_dim", 3072), "L": m.get("encoder_layers", 12),
            "stable": int(bool(m.get("layer_norm_first", False))), "eps": 1e-5,
            "pos_kernel": m.get("conv_pos", 128), "pos_groups": m.get("conv_pos_groups", 16),
            "wavlm": int(kind == "wavlm"),
            "num_buckets": m.get("num_buckets", 320), "max_distance": m.get("max_distance", 800),
        }
        if kind == "wavlm" and not m.get("gru_rel_pos", True):
            raise ValueError(f"{path}: WavLM without gru_rel_pos gating is not supported")
        w = map_state_dict(ck["model"], FAIRSEQ_KEYS, FAIRSEQ_PREFIXES, str(path))
        return cls(w, c, kind, dtype, os.fspath(path), normalize)

    # ---- running ------------------------------------------------------------------
    def _layers(self, layers):
        if layers is None:
            return list(range(self.num_layers + 1)) + ([FINAL] if self.stable else [])
        out = [int(i) for i in layers]
        if not out:
            raise ValueError("SSLEncoder: layers is empty")
        for i in out:
            if not (0 <= i <= self.num_layers or i == FINAL):
                raise ValueError(f"SSLEncoder: layer {i} out of range [0, {self.num_layers}] (or FINAL = -1)")
        return out

    def __call__(self, wav, lengths=None, layers=None):
        """EncoderOutput of 16 kHz audio (S,) or a zero-padded batch (B, S) (or an
        slm.audio.Audio). ``layers``: None for every hidden state, else a list of layer
        numbers (``FINAL`` = -1: the model's output after its final norm, which is what
        ``last_hidden_state`` returns). ``lengths``: valid samples per row."""
        x = as_batch(wav, self.sample_rate)
        B, S = x.shape
        lens = None
        if lengths is not None:
            lens = np.asarray(lengths, dtype=np.int64).reshape(-1)
            if lens.shape[0] != B:
                raise ValueError(f"SSLEncoder: lengths has {lens.shape[0]} entries for a batch of {B}")
        ls = self._layers(layers)
        if self.normalize:
            from ..features import zero_mean_unit_var_norm
            x = zero_mean_unit_var_norm(x, lengths=lens if lens is not None else np.full(B, S, np.int64))
        outs, frames = _C._ssl_forward(self._h, x, lens, np.asarray(ls, dtype=np.int64))
        hs = dict(zip(ls, outs))
        final = hs.pop(FINAL, None)
        if final is None and not self.stable and self.num_layers in hs:
            final = hs[self.num_layers]
        return EncoderOutput(hs, frames, self.frame_rate, final)


def _fe_norm(name, path):
    if name not in ("group", "layer"):
        raise ValueError(f"{path}: feature extractor norm {name!r} is not supported ('group' or 'layer')")
    return 0 if name == "group" else 1


def _fairseq_model_cfg(ck, path):
    """(model config dict, kind) from a fairseq ('cfg'/'args') or unilm WavLM checkpoint"""
    cfg = ck.get("cfg")
    if isinstance(cfg, dict) and isinstance(cfg.get("model"), dict):
        m = dict(cfg["model"])
    elif isinstance(cfg, dict) and "encoder_layers" in cfg:  # unilm WavLM: the config itself
        m = dict(cfg)
    elif isinstance(ck.get("args"), dict):
        m = dict(ck["args"])
    else:
        raise ValueError(f"{path}: no model configuration found (neither 'cfg' nor 'args')")
    name = str(m.get("_name", m.get("arch", ""))).lower()
    sd = ck["model"]
    if any(".self_attn.grep_linear." in k for k in sd) or m.get("relative_position_embedding"):
        kind = "wavlm"
    elif "hubert" in name or any(k.startswith("label_embs_concat") for k in sd):
        kind = "hubert"
    else:
        kind = "wav2vec2"
    return m, kind


def _conv_layers(spec, path):
    """fairseq's conv_feature_layers string, e.g. "[(512,10,5)] + [(512,3,2)] * 4", read
    without eval: lists and tuples of ints joined by + and *"""
    def ev(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        if isinstance(n, (ast.List, ast.Tuple)):
            vals = [ev(e) for e in n.elts]
            return vals if isinstance(n, ast.List) else tuple(vals)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Mult)):
            a, b = ev(n.left), ev(n.right)
            return a + b if isinstance(n.op, ast.Add) else a * b
        raise ValueError
    try:
        layers = ev(ast.parse(str(spec), mode="eval").body)
        ok = isinstance(layers, list) and layers and all(
            isinstance(t, tuple) and len(t) == 3 and all(isinstance(v, int) for v in t) for t in layers)
    except (ValueError, SyntaxError, TypeError, RecursionError):
        ok = False
    if not ok:
        raise ValueError(f"{path}: cannot read conv_feature_layers {spec!r}")
    return layers


# ---- slm.load -------------------------------------------------------------------------

def sniff(path):
    """True for an HF folder of model_type wav2vec2/hubert/wavlm, or a torch file with a
    'model' state dict holding feature_extractor.* keys (fairseq, unilm)"""
    if os.path.isdir(path):
        try:
            with open(os.path.join(path, "config.json")) as f:
                return json.load(f).get("model_type") in HF_TYPES
        except (OSError, ValueError):
            return False
    try:
        ck = load_torch(path)
    except Exception:
        return False
    return (isinstance(ck, dict) and isinstance(ck.get("model"), dict)
            and any(str(k).startswith(p + "feature_extractor.") for k in ck["model"] for p in FAIRSEQ_PREFIXES))


def load(path, dtype="float32", normalize=None):
    """an SSLEncoder from an HF folder or a fairseq / unilm checkpoint; normalize None
    follows the checkpoint's feature-extractor / task setting"""
    if os.path.isdir(path):
        return SSLEncoder.from_hf(path, dtype, normalize)
    return SSLEncoder.from_fairseq(path, dtype, normalize)
