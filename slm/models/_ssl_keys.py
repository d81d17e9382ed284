"""Key maps of the wav2vec2 / HuBERT / WavLM checkpoints onto the C model's names
(csrc/include/slm/ssl.h), as data: (pattern, replacement) pairs tried in order on each
key after the model prefix is stripped. Weight-norm halves map to ``<name>.weight_g`` /
``<name>.weight_v``; :func:`map_state_dict` folds them. Keys listed in IGNORED are
training-only parts (quantizer, masking embedding, projection heads) and are skipped.
"""
from __future__ import annotations

import re

import numpy as np

__all__ = ["HF_KEYS", "FAIRSEQ_KEYS", "HF_PREFIXES", "FAIRSEQ_PREFIXES", "IGNORED", "map_state_dict"]

_LAYER = r"^encoder\.layers\.(\d+)\."

# transformers Wav2Vec2Model / HubertModel / WavLMModel (and their ForCTC etc. bodies)
HF_KEYS = [
    (r"^feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)$", r"fe.\1.conv.\2"),
    (r"^feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)$", r"fe.\1.norm.\2"),
    (r"^feature_projection\.layer_norm\.(weight|bias)$", r"fp.norm.\1"),
    (r"^feature_projection\.projection\.(weight|bias)$", r"fp.proj.\1"),
    (r"^encoder\.pos_conv_embed\.conv\.(weight_g|parametrizations\.weight\.original0)$", "pos.weight_g"),
    (r"^encoder\.pos_conv_embed\.conv\.(weight_v|parametrizations\.weight\.original1)$", "pos.weight_v"),
    (r"^encoder\.pos_conv_embed\.conv\.(weight|bias)$", r"pos.\1"),
    (r"^encoder\.layer_norm\.(weight|bias)$", r"enc.norm.\1"),
    (_LAYER + r"attention\.([qkv])_proj\.(weight|bias)$", r"layers.\1.\2.\3"),
    (_LAYER + r"attention\.out_proj\.(weight|bias)$", r"layers.\1.o.\2"),
    (_LAYER + r"layer_norm\.(weight|bias)$", r"layers.\1.ln1.\2"),
    (_LAYER + r"final_layer_norm\.(weight|bias)$", r"layers.\1.ln2.\2"),
    (_LAYER + r"feed_forward\.intermediate_dense\.(weight|bias)$", r"layers.\1.fc1.\2"),
    (_LAYER + r"feed_forward\.output_dense\.(weight|bias)$", r"layers.\1.fc2.\2"),
    (_LAYER + r"attention\.gru_rel_pos_linear\.(weight|bias)$", r"layers.\1.gate.\2"),
    (_LAYER + r"attention\.gru_rel_pos_const$", r"layers.\1.gate_const"),
    (r"^encoder\.layers\.0\.attention\.rel_attn_embed\.weight$", "rel_embed"),
]

# fairseq wav2vec2 / HuBERT and unilm WavLM (the same module names, WavLM's gate renamed)
FAIRSEQ_KEYS = [
    (r"^feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)$", r"fe.\1.conv.\2"),
    (r"^feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)$", r"fe.\1.norm.\2"),  # layer norm mode
    (r"^feature_extractor\.conv_layers\.(\d+)\.2\.(weight|bias)$", r"fe.\1.norm.\2"),  # group norm mode
    (r"^layer_norm\.(weight|bias)$", r"fp.norm.\1"),
    (r"^post_extract_proj\.(weight|bias)$", r"fp.proj.\1"),
    (r"^encoder\.pos_conv\.0\.weight_g$", "pos.weight_g"),
    (r"^encoder\.pos_conv\.0\.weight_v$", "pos.weight_v"),
    (r"^encoder\.pos_conv\.0\.(weight|bias)$", r"pos.\1"),
    (r"^encoder\.layer_norm\.(weight|bias)$", r"enc.norm.\1"),
    (_LAYER + r"self_attn\.([qkv])_proj\.(weight|bias)$", r"layers.\1.\2.\3"),
    (_LAYER + r"self_attn\.out_proj\.(weight|bias)$", r"layers.\1.o.\2"),
    (_LAYER + r"self_attn_layer_norm\.(weight|bias)$", r"layers.\1.ln1.\2"),
    (_LAYER + r"final_layer_norm\.(weight|bias)$", r"layers.\1.ln2.\2"),
    (_LAYER + r"fc([12])\.(weight|bias)$", r"layers.\1.fc\2.\3"),
    (_LAYER + r"self_attn\.grep_linear\.(weight|bias)$", r"layers.\1.gate.\2"),
    (_LAYER + r"self_attn\.grep_a$", r"layers.\1.gate_const"),
    (r"^encoder\.layers\.0\.self_attn\.relative_attention_bias\.weight$", "rel_embed"),
]

HF_PREFIXES = ("wav2vec2.", "hubert.", "wavlm.", "")
FAIRSEQ_PREFIXES = ("w2v_encoder.w2v_model.", "")

# training-only parts, skipped without complaint
IGNORED = re.compile(r"^(masked_spec_embed|mask_emb|quantizer\.|project_q\.|project_hid\.|final_proj\.|"
                     r"label_embs_concat|lm_head\.|ctc_proj\.|proj\.|projector\.|classifier\.|"
                     r"encoder\.layers\.\d+\.attention\.rel_attn_embed|"
                     r"encoder\.layers\.\d+\.self_attn\.relative_attention_bias|"
                     r"target_glu|layer_weights|masked_spec|adapter\.)")


def _fold_weight_norm(g, v):
    """weight = g * v / ||v||, the norm over every axis but the kernel axis (dim=2), as
    torch.nn.utils.weight_norm(conv, dim=2) in both wav2vec2 implementations"""
    v64 = np.asarray(v, np.float64)
    norm = np.sqrt((v64 ** 2).sum(axis=(0, 1), keepdims=True))
    return (np.asarray(g, np.float64).reshape(1, 1, -1) * v64 / norm).astype(np.float32)


def map_state_dict(sd, rules, prefixes, what):
    """{C name: float32 array}: the first prefix that the feature extractor's keys carry is
    stripped, the rules rename, weight norm is folded. Keys outside the prefix are left
    out (heads of ForCTC models); keys inside it that no rule knows and IGNORED does not
    list raise ValueError naming them (an architecture this loader does not handle)."""
    prefix = next((p for p in prefixes if any(k.startswith(p + "feature_extractor.") for k in sd)), None)
    if prefix is None:
        raise ValueError(f"{what}: no wav2vec2/HuBERT/WavLM encoder weights (no feature_extractor.* keys)")
    compiled = [(re.compile(p), r) for p, r in rules]
    out, unknown = {}, []
    for k, v in sd.items():
        if not k.startswith(prefix):
            continue
        rest = k[len(prefix):]
        for pat, rep in compiled:
            if pat.match(rest):
                out[pat.sub(rep, rest)] = v
                break
        else:
            if not IGNORED.match(rest):
                unknown.append(k)
    if unknown:
        raise ValueError(f"{what}: weights this loader does not know: {', '.join(sorted(unknown)[:8])}"
                         + (" ..." if len(unknown) > 8 else ""))
    if "pos.weight_g" in out or "pos.weight_v" in out:
        if not ("pos.weight_g" in out and "pos.weight_v" in out):
            raise ValueError(f"{what}: the positional conv has only half of its weight norm (g or v)")
        out["pos.weight"] = _fold_weight_norm(out.pop("pos.weight_g"), out.pop("pos.weight_v"))
    for k, v in out.items():
        a = np.asarray(v, dtype=np.float32)
        if k.endswith("gate_const"):
            a = a.reshape(-1)  # stored (1, H, 1, 1)
        out[k] = np.ascontiguousarray(a)
    return out
