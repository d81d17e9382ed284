"""EnCodec (Défossez et al. 2022) from the ``encodec`` package's checkpoint format and from
transformers EncodecModel folders: SEANet encoder and decoder run by the C conv-stack
runner, residual vector quantizer in C.

Supported: the 24 kHz configuration (mono, causal, weight norm, no audio normalisation,
whole-utterance: no segments), with any widths, ratios and codebook counts inferred
from the state dict. The 48 kHz model (stereo, non-causal, time_group_norm, segments with
overlap-add) is not supported yet and raises NotImplementedError."""
from __future__ import annotations

import math
import re

import numpy as np

from ._common import audio_batch
from .rvq import RVQ
from .seanet import KEYS_ENCODEC, KEYS_HF, ConvStack, SEANetConfig, decoder_program, encoder_program

__all__ = ["EnCodec", "encodec_config_from_state_dict", "encodec_config_from_hf"]


def encodec_config_from_hf(cfg):
    """SEANetConfig and sample rate of a transformers EncodecConfig (config.json as a dict)"""
    if cfg.get("norm_type", "weight_norm") != "weight_norm":
        raise NotImplementedError(f"EnCodec: norm_type {cfg.get('norm_type')!r} (the 48 kHz release) is not "
                                  "supported yet")
    if cfg.get("normalize") or cfg.get("chunk_length_s"):
        raise NotImplementedError("EnCodec: audio normalisation and chunked (overlap-add) models are not "
                                  "supported yet")
    sc = SEANetConfig(channels=cfg.get("audio_channels", 1), dimension=cfg.get("hidden_size", 128),
                      n_filters=cfg.get("num_filters", 32), n_residual_layers=cfg.get("num_residual_layers", 1),
                      ratios=list(cfg.get("upsampling_ratios", [8, 5, 4, 2])), kernel_size=cfg.get("kernel_size", 7),
                      last_kernel_size=cfg.get("last_kernel_size", 7),
                      residual_kernel_size=cfg.get("residual_kernel_size", 3),
                      dilation_base=cfg.get("dilation_growth_rate", 2), causal=bool(cfg.get("use_causal_conv", True)),
                      pad_mode=cfg.get("pad_mode", "reflect"), true_skip=not cfg.get("use_conv_shortcut", True),
                      compress=cfg.get("compress", 2), lstm=cfg.get("num_lstm_layers", 2),
                      trim_right_ratio=float(cfg.get("trim_right_ratio", 1.0)))
    return sc, int(cfg.get("sampling_rate", 24000))


def encodec_config_from_state_dict(sd, causal=True):
    """SEANetConfig of an encodec-package state dict (24 kHz family), from the weight shapes.
    Whether the convolutions are causal is not in the state dict: causal=True is the
    released 24 kHz model; give causal=False for a non-causal weight-norm configuration."""
    gn = any(k.endswith(".conv.norm.weight") for k in sd)

    def shape(k):
        for suf in ("weight_v", "parametrizations.weight.original1", "weight"):
            if k + suf in sd:
                return np.shape(sd[k + suf])
        raise ValueError(f"EnCodec: missing {k}weight")

    idx = sorted({int(m.group(1)) for k in sd for m in [re.match(r"encoder\.model\.(\d+)\.", k)] if m})
    first = shape("encoder.model.0.conv.conv.")
    channels, nf, ks = first[1], first[0], first[2]
    last = shape(f"encoder.model.{idx[-1]}.conv.conv.")
    dimension, lks = last[0], last[2]
    # downsampling convs: kernel 2 * ratio, channels doubling; resblocks have block.1 / block.3
    ratios, n_res, res_k, true_skip = [], 0, 3, True
    for i in idx[1:-1]:
        p = f"encoder.model.{i}."
        if any(k.startswith(p + "block.1.") for k in sd):
            n_res += 1
            res_k = shape(p + "block.1.conv.conv.")[2]
            true_skip = true_skip and not any(k.startswith(p + "shortcut.") for k in sd)
        elif any(k.startswith(p + "conv.conv.") for k in sd):
            ratios.append(shape(p + "conv.conv.")[2] // 2)
    n_lstm = len({m.group(1) for k in sd for m in [re.match(r"encoder\.model\.\d+\.lstm\.weight_ih_l(\d+)$", k)] if m})
    if not ratios:
        raise ValueError("EnCodec: no downsampling layers found")
    hidden = shape("encoder.model.1.block.1.conv.conv.")[0] if n_res else nf // 2
    return SEANetConfig(channels=channels, dimension=dimension, n_filters=nf,
                        n_residual_layers=n_res // len(ratios), ratios=list(reversed(ratios)), kernel_size=ks,
                        last_kernel_size=lks, residual_kernel_size=res_k, causal=bool(causal), pad_mode="reflect",
                        true_skip=true_skip, compress=max(1, nf // hidden), lstm=n_lstm,
                        norm="time_group_norm" if gn else "weight_norm")


class EnCodec:
    """EnCodec codec: ``encode(audio) -> codes (B, n_q, T)``, ``decode(codes) -> audio``.

    sample_rate: of the audio (24000 for the released model; the state dict does not say,
    so give it for other configurations). bandwidth (kbps) picks the number of codebooks
    as EnCodec does: n_q = max(1, floor(bandwidth * 1000 / (frame_rate * log2(bins))))."""

    def __init__(self, state_dict, sample_rate=24000, config=None, layout="encodec", causal=True, normalize=False,
                 segment=None, overlap=0.01):
        sd = {k: np.asarray(v) for k, v in state_dict.items()}
        # the 48 kHz release: loudness normalisation per segment, 1 s segments, overlap-add
        self.normalize = bool(normalize)
        if segment is not None and not (float(segment) > 0 and 0 <= float(overlap) < 1):
            raise ValueError(f"EnCodec: segment must be > 0 s and overlap in [0, 1), got {segment}, {overlap}")
        self.segment = None if segment is None else float(segment)
        self.overlap = float(overlap)
        if layout not in ("encodec", "hf"):
            raise ValueError(f"EnCodec: layout must be 'encodec' or 'hf', got {layout!r}")
        self.config = config or encodec_config_from_state_dict(sd, causal)
        self.sample_rate = int(sample_rate)
        self.channels = self.config.channels
        self.hop_length = self.config.hop_length
        self.frame_rate = math.ceil(self.sample_rate / self.hop_length)
        if layout == "hf":  # transformers' EncodecModel: layers.N.conv..., same indices
            self._enc = ConvStack(encoder_program(sd, "encoder.layers.", self.config, KEYS_HF))
            self._dec = ConvStack(decoder_program(sd, "decoder.layers.", self.config, KEYS_HF))
        else:
            self._enc = ConvStack(encoder_program(sd, "encoder.model.", self.config, KEYS_ENCODEC))
            self._dec = ConvStack(decoder_program(sd, "decoder.model.", self.config, KEYS_ENCODEC))
        self.quantizer = RVQ.from_state_dict(sd, "quantizer.")
        self.codebook_size = self.quantizer.codebook_sizes[0]
        self.n_q = self.quantizer.n_q

    @classmethod
    def from_hf(cls, path):
        """transformers EncodecModel folder (config.json + weights)"""
        from ..io import load_hf_folder
        cfg, sd = load_hf_folder(path)
        sc, sr = encodec_config_from_hf(cfg)
        return cls(sd, sample_rate=sr, config=sc, layout="hf")

    def __repr__(self):
        return (f"EnCodec(sample_rate={self.sample_rate}, channels={self.channels}, frame_rate={self.frame_rate}, "
                f"n_q={self.n_q}, codebook_size={self.codebook_size})")

    def n_q_for_bandwidth(self, bandwidth):
        """codebooks used at a bandwidth in kbps (EnCodec's rule)"""
        per = math.log2(self.codebook_size) * self.frame_rate
        return min(self.n_q, max(1, int(math.floor(float(bandwidth) * 1000 / per))))

    def _audio(self, audio):
        return audio_batch(audio, self.channels, "EnCodec")

    @property
    def segment_length(self):
        return None if self.segment is None else int(self.segment * self.sample_rate)

    @property
    def segment_stride(self):
        return None if self.segment is None else max(1, int((1 - self.overlap) * self.segment_length))

    def encode_frames(self, audio, bandwidth=None, n_q=None):
        """audio (B, C, L) -> [(codes (B, n_q, T_i) int64, scale (B,) float32 or None), ...]:
        one entry per segment, as the package's EncodecModel.encode (segments of
        segment_length every segment_stride samples; with normalize, each segment is
        divided by 1e-8 + the RMS of its channel mean, and the scale kept for decoding)."""
        if bandwidth is not None and n_q is not None:
            raise ValueError("EnCodec.encode_frames: give bandwidth or n_q, not both")
        n = self.n_q_for_bandwidth(bandwidth) if bandwidth is not None else n_q
        x, _ = self._audio(audio)
        length = x.shape[-1]
        seg = self.segment_length or length
        stride = self.segment_stride or length
        frames = []
        for off in range(0, length, stride):
            f = x[:, :, off:off + seg]
            scale = None
            if self.normalize:
                mono = f.astype(np.float64).mean(axis=1)
                scale = (1e-8 + np.sqrt((mono ** 2).mean(axis=1))).astype(np.float32)  # (B,)
                f = f / scale[:, None, None]
            frames.append((self.quantizer.encode(self._enc(np.ascontiguousarray(f, np.float32)), n_q=n), scale))
        return frames

    def decode_frames(self, frames):
        """the list from encode_frames -> audio (B, C, L): each segment decoded and scaled,
        then joined by the package's linear overlap-add (triangular weights)"""
        if not frames:
            raise ValueError("EnCodec.decode_frames: no frames")
        outs = []
        for codes, scale in frames:
            y = self._dec(self.quantizer.decode(np.asarray(codes)))
            outs.append(y if scale is None else y * np.asarray(scale, np.float32)[:, None, None])
        if len(outs) == 1:
            return outs[0]
        stride = self.segment_stride or outs[0].shape[-1]
        fl = outs[0].shape[-1]
        t = np.linspace(0.0, 1.0, fl + 2, dtype=np.float64)[1:-1]
        w = (0.5 - np.abs(t - 0.5)).astype(np.float32)
        total = stride * (len(outs) - 1) + outs[-1].shape[-1]
        out = np.zeros(outs[0].shape[:-1] + (total,), np.float32)
        wsum = np.zeros(total, np.float32)
        for i, y in enumerate(outs):
            n = y.shape[-1]
            out[..., i * stride:i * stride + n] += w[:n] * y
            wsum[i * stride:i * stride + n] += w[:n]
        return out / wsum

    def encode_latents(self, audio):
        """the encoder's output (B, dimension, T) before quantization"""
        x, batched = self._audio(audio)
        z = self._enc(x)
        return z if batched else z[0]

    def encode(self, audio, bandwidth=None, n_q=None):
        """audio (B, C, L) float at sample_rate -> codes (B, n_q, T) int64 (unbatched in,
        unbatched out). bandwidth in kbps or n_q; default: all codebooks."""
        if bandwidth is not None and n_q is not None:
            raise ValueError("EnCodec.encode: give bandwidth or n_q, not both")
        if self.normalize or self.segment is not None:
            raise ValueError("EnCodec.encode: this model codes segments with loudness scales (the 48 kHz "
                             "release): use encode_frames / decode_frames")
        n = self.n_q_for_bandwidth(bandwidth) if bandwidth is not None else n_q
        x, batched = self._audio(audio)
        codes = self.quantizer.encode(self._enc(x), n_q=n)
        return codes if batched else codes[0]

    def decode(self, codes):
        """codes (B, n, T) -> audio (B, C, T * hop_length) float32"""
        c = np.asarray(codes)
        batched = c.ndim == 3
        z = self.quantizer.decode(c if batched else c[None])
        y = self._dec(z)
        return y if batched else y[0]


def _state_dict(path):
    from ..io import load_state_dict
    return load_state_dict(path)


def sniff(path):
    """True for a file holding an encodec-package state dict (SEANet + vq.layers codebooks),
    or a folder whose config.json says model_type "encodec" (transformers)"""
    import os
    from ..io import folder_model_type
    if os.path.isdir(path):
        return folder_model_type(path) == "encodec"
    if not os.path.isfile(path):
        return False
    try:
        sd = _state_dict(path)
    except Exception:
        return False
    return (isinstance(sd, dict) and "quantizer.vq.layers.0._codebook.embed" in sd
            and any(k.startswith("encoder.model.0.conv.conv.") for k in sd))


def load(path, sample_rate=None):
    """an EnCodec from an encodec-package checkpoint (``torch.save(model.state_dict())``;
    sample_rate default 24000) or a transformers EncodecModel folder (its config says)"""
    import os
    if os.path.isdir(path):
        model = EnCodec.from_hf(path)
        if sample_rate is not None and int(sample_rate) != model.sample_rate:
            raise ValueError(f"EnCodec: {path} is a {model.sample_rate} Hz model, sample_rate={sample_rate} given")
        return model
    sd = _state_dict(path)
    if any(k.endswith(".conv.norm.weight") for k in sd):
        # the package's time_group_norm model is its 48 kHz release: stereo, non-causal,
        # loudness normalisation, 1 s segments with 1 % overlap
        cfg = encodec_config_from_state_dict(sd, causal=False)
        if cfg.channels != 2:
            raise NotImplementedError(f"{path}: a time_group_norm EnCodec that is not the stereo 48 kHz release; "
                                      "build it with slm.codecs.EnCodec(state_dict, sample_rate=..., causal=False, "
                                      "normalize=..., segment=...)")
        return EnCodec(sd, sample_rate=48000 if sample_rate is None else sample_rate, config=cfg, normalize=True,
                       segment=1.0)
    return EnCodec(sd, sample_rate=24000 if sample_rate is None else sample_rate)
