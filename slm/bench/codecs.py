"""Neural codec workloads: EnCodec 24 kHz (the released configuration, random weights) on
10 s of audio, encode at 6 kbps, decode, and both, against the encodec package's
EncodecModel (PyTorch) in the same process at the same thread count."""
from __future__ import annotations

import sys

import numpy as np

from .harness import Workload

sys.modules.setdefault("torchaudio.lib._torchaudio", None)  # see features.py


def _encodec_pair():
    import torch
    import encodec
    from slm.codecs import EnCodec
    torch.manual_seed(0)
    ref = encodec.EncodecModel.encodec_model_24khz(pretrained=False).eval()
    ref.set_target_bandwidth(6.0)
    ours = EnCodec({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = (np.random.default_rng(0).standard_normal((1, 1, 240000)) * 0.1).astype(np.float32)
    return torch, ref, ours, x


def _encode():
    def setup():
        torch, ref, ours, x = _encodec_pair()
        xt = torch.from_numpy(x)

        def peer():
            with torch.no_grad():
                return ref.encode(xt)
        return (lambda: ours.encode(x, bandwidth=6.0)), {"encodec": peer}
    return Workload("encodec 24k encode 6 kbps", "10 s mono", setup, audio_s=10.0)


def _decode():
    def setup():
        torch, ref, ours, x = _encodec_pair()
        codes = ours.encode(x, bandwidth=6.0)
        frames = [(torch.from_numpy(codes), None)]

        def peer():
            with torch.no_grad():
                return ref.decode(frames)
        return (lambda: ours.decode(codes)), {"encodec": peer}
    return Workload("encodec 24k decode 6 kbps", "10 s mono (8 codebooks)", setup, audio_s=10.0)


def _roundtrip():
    def setup():
        torch, ref, ours, x = _encodec_pair()
        xt = torch.from_numpy(x)

        def peer():
            with torch.no_grad():
                return ref.decode(ref.encode(xt))
        return (lambda: ours.decode(ours.encode(x, bandwidth=6.0))), {"encodec": peer}
    return Workload("encodec 24k encode+decode 6 kbps", "10 s mono", setup, audio_s=10.0)


def workloads(quick=False):
    return [_roundtrip()] if quick else [_encode(), _decode(), _roundtrip()]
