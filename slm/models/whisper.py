"""The Whisper encoder (any size) with its log-mel front end.

Loads openai-whisper checkpoints (``torch.save({"dims": ..., "model_state_dict": ...})``,
the ``.pt`` files whisper downloads) and Hugging Face folders of ``WhisperModel``,
``WhisperForConditionalGeneration``, ``WhisperForAudioClassification`` or a bare
``WhisperEncoder``; the decoder's weights are ignored. The forward pass is one C call
(csrc/models/whisper.c).

    enc = slm.load("small.pt")                      # or an HF folder
    out = enc(wav_16k)                              # EncoderOutput, every hidden state
    out = enc(wav_16k, layers=[enc.num_layers])     # only the final (ln_post) state
    h = enc.forward_mel(mel)                        # (B, n_mels, 3000) log-mel input
"""
from __future__ import annotations

import os
import re

import numpy as np

from .. import _C
from ..io import load_hf_folder, load_torch
from ._base import EncoderOutput, as_batch

__all__ = ["WhisperEncoder", "sniff", "load"]

N_SAMPLES = 480000  # 30 s at 16 kHz: the window the encoder sees
HOP = 160

# checkpoint names -> the C model's names (whisper.h), as data: (pattern, replacement)
# applied to each key after its prefix is stripped; keys matching no rule are ignored
# only when they belong to the decoder (checked by the caller).
OPENAI_KEYS = [
    (r"^conv([12])\.(weight|bias)$", r"conv\1.\2"),
    (r"^positional_embedding$", "pos"),
    (r"^blocks\.(\d+)\.attn_ln\.(weight|bias)$", r"layers.\1.ln1.\2"),
    (r"^blocks\.(\d+)\.attn\.query\.(weight|bias)$", r"layers.\1.q.\2"),
    (r"^blocks\.(\d+)\.attn\.key\.(weight|bias)$", r"layers.\1.k.\2"),
    (r"^blocks\.(\d+)\.attn\.value\.(weight|bias)$", r"layers.\1.v.\2"),
    (r"^blocks\.(\d+)\.attn\.out\.(weight|bias)$", r"layers.\1.o.\2"),
    (r"^blocks\.(\d+)\.mlp_ln\.(weight|bias)$", r"layers.\1.ln2.\2"),
    (r"^blocks\.(\d+)\.mlp\.0\.(weight|bias)$", r"layers.\1.fc1.\2"),
    (r"^blocks\.(\d+)\.mlp\.2\.(weight|bias)$", r"layers.\1.fc2.\2"),
    (r"^ln_post\.(weight|bias)$", r"ln_post.\1"),
]
HF_KEYS = [
    (r"^conv([12])\.(weight|bias)$", r"conv\1.\2"),
    (r"^embed_positions\.weight$", "pos"),
    (r"^layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)$", r"layers.\1.ln1.\2"),
    (r"^layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$", r"layers.\1.q.\2"),
    (r"^layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$", r"layers.\1.k.\2"),
    (r"^layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$", r"layers.\1.v.\2"),
    (r"^layers\.(\d+)\.self_attn\.out_proj\.(weight|bias)$", r"layers.\1.o.\2"),
    (r"^layers\.(\d+)\.final_layer_norm\.(weight|bias)$", r"layers.\1.ln2.\2"),
    (r"^layers\.(\d+)\.fc([12])\.(weight|bias)$", r"layers.\1.fc\2.\3"),
    (r"^layer_norm\.(weight|bias)$", r"ln_post.\1"),
]
# where the encoder's weights sit in each format's state dict
OPENAI_PREFIXES = ("encoder.",)
HF_PREFIXES = ("model.encoder.", "encoder.", "")


def map_keys(state_dict, rules, prefixes, what):
    """{C name: float32 array} from a state dict: the first prefix that some key carries
    is stripped, then the first matching rule renames the key. Raises ValueError when no
    encoder weight is found."""
    prefix = next((p for p in prefixes if any(k.startswith(p + "conv1.") for k in state_dict)), None)
    if prefix is None:
        raise ValueError(f"{what}: no Whisper encoder weights (looked for "
                         f"{' / '.join(p + 'conv1.weight' for p in prefixes)})")
    out = {}
    compiled = [(re.compile(p), r) for p, r in rules]
    for k, v in state_dict.items():
        if not k.startswith(prefix):
            continue
        rest = k[len(prefix):]
        for pat, rep in compiled:
            if pat.match(rest):
                out[pat.sub(rep, rest)] = np.ascontiguousarray(v, dtype=np.float32)
                break
    return out


class WhisperEncoder:
    """A Whisper encoder: log-mel of 30 s windows in, hidden states (B, 1500, C) out at
    50 frames/s. Follows the speech-encoder protocol of :mod:`slm.models._base`."""

    sample_rate = 16000
    frame_rate = 50.0
    padding_invariant = True  # every row is padded to its own 30 s window

    def __init__(self, weights, n_mels, n_ctx, n_state, n_head, n_layer, n_ffn=None, dtype="float32",
                 source="<weights>"):
        if dtype not in ("float32", "bf16"):
            raise ValueError(f"WhisperEncoder: dtype must be 'float32' or 'bf16', got {dtype!r}")
        self.n_mels, self.n_ctx, self.hidden_size = int(n_mels), int(n_ctx), int(n_state)
        self.num_heads, self.num_layers = int(n_head), int(n_layer)
        self.ffn_size = int(n_ffn or 4 * n_state)
        self.dtype, self.source = dtype, source
        self._h = _C._whisper_create(self.n_mels, self.n_ctx, self.hidden_size, self.num_heads,
                                     self.num_layers, self.ffn_size, dtype == "bf16", weights)

    def __repr__(self):
        return (f"WhisperEncoder(n_mels={self.n_mels}, width={self.hidden_size}, heads={self.num_heads}, "
                f"layers={self.num_layers}, dtype={self.dtype}, source={self.source!r})")

    # ---- loading ------------------------------------------------------------------
    @classmethod
    def from_openai(cls, path, dtype="float32"):
        """an openai-whisper checkpoint: {"dims": {...}, "model_state_dict": {...}}"""
        ckpt = load_torch(path)
        if not isinstance(ckpt, dict) or "dims" not in ckpt or "model_state_dict" not in ckpt:
            raise ValueError(f"{path}: not an openai-whisper checkpoint (no 'dims'/'model_state_dict')")
        d = dict(ckpt["dims"])
        w = map_keys(ckpt["model_state_dict"], OPENAI_KEYS, OPENAI_PREFIXES, str(path))
        return cls(w, d["n_mels"], d["n_audio_ctx"], d["n_audio_state"], d["n_audio_head"],
                   d["n_audio_layer"], dtype=dtype, source=os.fspath(path))

    @classmethod
    def from_hf(cls, path, dtype="float32"):
        """a Hugging Face folder whose config.json has model_type 'whisper'"""
        cfg, sd = load_hf_folder(path)
        if cfg.get("model_type") != "whisper":
            raise ValueError(f"{path}: config.json model_type is {cfg.get('model_type')!r}, not 'whisper'")
        act = cfg.get("activation_function", "gelu")
        if act != "gelu":
            raise ValueError(f"{path}: activation_function {act!r} is not supported (Whisper uses 'gelu')")
        w = map_keys(sd, HF_KEYS, HF_PREFIXES, str(path))
        return cls(w, cfg.get("num_mel_bins", 80), cfg.get("max_source_positions", 1500), cfg["d_model"],
                   cfg["encoder_attention_heads"], cfg["encoder_layers"], cfg.get("encoder_ffn_dim"),
                   dtype=dtype, source=os.fspath(path))

    # ---- running ------------------------------------------------------------------
    def _layers(self, layers):
        if layers is None:
            return list(range(self.num_layers + 1))
        out = [int(i) for i in layers]
        for i in out:
            if not 0 <= i <= self.num_layers:
                raise ValueError(f"WhisperEncoder: layer {i} out of range [0, {self.num_layers}]")
        if not out:
            raise ValueError("WhisperEncoder: layers is empty")
        return out

    def forward_mel(self, mel, layers=None):
        """hidden states {layer: (B, n_ctx, C)} of a log-mel batch (B, n_mels, 2 * n_ctx)
        (or one (n_mels, 2 * n_ctx) input, returned with B = 1)"""
        m = np.asarray(mel)
        if m.ndim == 2:
            m = m[None]
        if m.ndim != 3:
            raise ValueError(f"WhisperEncoder: mel must be (B, n_mels, frames), got shape {m.shape}")
        ls = self._layers(layers)
        outs = _C._whisper_forward(self._h, m, np.asarray(ls, dtype=np.int64))
        return dict(zip(ls, outs))

    def log_mel(self, wav):
        """Whisper's input for one 16 kHz signal: whisper.log_mel_spectrogram(pad_or_trim(wav))
        (n_mels, 3000)"""
        from ..features import pad_or_trim, whisper_log_mel
        return whisper_log_mel(pad_or_trim(np.asarray(wav, dtype=np.float32), 2 * self.n_ctx * HOP), self.n_mels)

    def __call__(self, wav, lengths=None, layers=None):
        """EncoderOutput of a 16 kHz signal (S,) or zero-padded batch (B, S) (or an
        slm.audio.Audio): each row is padded or trimmed to 30 s and turned into log-mel on
        its own, as whisper.log_mel_spectrogram(whisper.pad_or_trim(row)); lengths gives
        the valid samples per row (frames beyond them are padding)."""
        x = as_batch(wav, self.sample_rate)
        B, S = x.shape
        lens = np.full(B, S, np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64).reshape(-1)
        if lens.shape[0] != B or (lens < 0).any() or (lens > S).any():
            raise ValueError(f"WhisperEncoder: lengths must be {B} values in [0, {S}], got {lengths!r}")
        mel = np.stack([self.log_mel(x[b, :lens[b]]) for b in range(B)])
        hs = self.forward_mel(mel, layers)
        frames = np.minimum(self.n_ctx, -(-lens // (2 * HOP)))  # frames covering real audio
        return EncoderOutput(hs, frames.astype(np.int64), self.frame_rate, hs.get(self.num_layers))


# ---- slm.load -------------------------------------------------------------------------

def _is_openai(path):
    if not os.path.isfile(path):
        return False
    try:
        ck = load_torch(path)
    except Exception:
        return False
    return isinstance(ck, dict) and "dims" in ck and "model_state_dict" in ck and "n_audio_state" in dict(ck["dims"])


def sniff(path):
    """True for an openai-whisper .pt file or a folder whose config.json says whisper"""
    if os.path.isdir(path):
        from ..io import folder_model_type
        return folder_model_type(path) == "whisper"
    return _is_openai(path)


def load(path, dtype="float32"):
    """a WhisperEncoder from an openai-whisper checkpoint or an HF folder"""
    return WhisperEncoder.from_hf(path, dtype) if os.path.isdir(path) else WhisperEncoder.from_openai(path, dtype)
