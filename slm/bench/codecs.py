"""Neural codec workloads on 10 s of audio, the released configurations with random
weights, against the reference PyTorch implementations in the same process at the same
thread count: EnCodec 24 kHz (encode at 6 kbps, decode, both) against the encodec
package's EncodecModel; DAC 44.1 kHz (encode + decode, 9 codebooks) against transformers'
DacModel (the descript-audio-codec package needs audiotools, which the test set-up does
not install; both implement the same network)."""
from __future__ import annotations

import os
import sys

import numpy as np

from .harness import Workload

CACHE = os.environ.get("SLM_BENCH_CACHE", os.path.expanduser("~/.cache/slm/bench"))  # as encoders.py

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


def _dac_roundtrip():
    def setup():
        import torch
        import transformers
        from slm.codecs.dac import DAC, _from_hf_keys
        torch.manual_seed(0)
        cfg = transformers.DacConfig()  # the 44.1 kHz release: 64/1536 channels, 9 codebooks
        ref = transformers.DacModel(cfg).eval()
        sd = _from_hf_keys({k: v.detach().numpy() for k, v in ref.state_dict().items()},
                           len(cfg.downsampling_ratios), len(cfg.upsampling_ratios))
        ours = DAC(sd, encoder_dim=cfg.encoder_hidden_size, encoder_rates=list(cfg.downsampling_ratios),
                   latent_dim=cfg.hidden_size, decoder_dim=cfg.decoder_hidden_size,
                   decoder_rates=list(cfg.upsampling_ratios), n_codebooks=cfg.n_codebooks,
                   codebook_size=cfg.codebook_size, codebook_dim=cfg.codebook_dim, sample_rate=cfg.sampling_rate)
        n = 441000 - 441000 % ours.hop_length
        x = (np.random.default_rng(0).standard_normal((1, 1, n)) * 0.1).astype(np.float32)
        xt = torch.from_numpy(x)

        def peer():
            with torch.no_grad():
                return ref.decode(audio_codes=ref.encode(xt).audio_codes)
        return (lambda: ours.decode(ours.encode(x))), {"transformers": peer}
    return Workload("dac 44k encode+decode 9 codebooks", "10 s mono", setup, audio_s=10.0)


def workloads(quick=False):
    return [_roundtrip()] if quick else [_encode(), _decode(), _roundtrip(), _dac_roundtrip()]


# ---------------------------------------------------------------- peak memory
def _cached(name):
    """the checkpoint a user would load: the encodec package's state dict file for
    EnCodec 24 kHz, a transformers folder for DAC 44.1 kHz (random weights, built once)"""
    os.makedirs(CACHE, exist_ok=True)
    if name == "encodec24":
        path = os.path.join(CACHE, "encodec24-random.th")
        if not os.path.exists(path):
            import torch
            import encodec
            torch.manual_seed(0)
            torch.save(encodec.EncodecModel.encodec_model_24khz(pretrained=False).state_dict(), path)
        return path
    path = os.path.join(CACHE, "dac44-random-hf")
    if not os.path.exists(os.path.join(path, "config.json")):
        import torch
        import transformers
        torch.manual_seed(0)
        transformers.DacModel(transformers.DacConfig()).save_pretrained(path)
    return path


def _peak_child(name, impl, threads):
    """in a fresh process: load one implementation of the codec from its cached checkpoint,
    encode and decode 10 s once, print the process's peak resident memory in MB"""
    sr = 24000 if name == "encodec24" else 44100
    x = (np.random.default_rng(0).standard_normal((1, 1, sr * 10)) * 0.1).astype(np.float32)
    path = _cached(name)
    if impl == "slm":
        import slm
        slm.set_num_threads(threads)
        model = slm.load(path)
        model.decode(model.encode(x))
    else:
        import torch
        torch.set_num_threads(threads)
        xt = torch.from_numpy(x)
        with torch.no_grad():
            if name == "encodec24":
                import encodec
                model = encodec.EncodecModel.encodec_model_24khz(pretrained=False)
                model.load_state_dict(torch.load(path))
                model.set_target_bandwidth(6.0)
                model.decode(model.encode(xt))
            else:
                import transformers
                model = transformers.DacModel.from_pretrained(path).eval()
                model.decode(audio_codes=model.encode(xt).audio_codes)
    with open("/proc/self/status") as f:  # VmHWM: see encoders.py
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(hwm / 1024.0)


def peak_mb(workload_name, threads):
    """{"slm": MB, peer: MB} for the encode+decode workloads, else {}"""
    import subprocess
    name = "encodec24" if workload_name.startswith("encodec") else "dac44"
    if "encode+decode" not in workload_name:
        return {}
    peer = "encodec" if name == "encodec24" else "transformers"
    out = {}
    for impl, label in (("slm", "slm"), ("torch", peer)):
        r = subprocess.run([sys.executable, "-m", "slm.bench.codecs", "--peak", name, impl, str(threads)],
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"peak-memory run of {label} failed: {r.stderr[-300:]}")
        out[label] = float(r.stdout.strip().splitlines()[-1])
    return out


if __name__ == "__main__":  # python -m slm.bench.codecs --peak encodec24|dac44 slm|torch THREADS
    if len(sys.argv) == 5 and sys.argv[1] == "--peak":
        _peak_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: python -m slm.bench.codecs --peak encodec24|dac44 slm|torch THREADS")
