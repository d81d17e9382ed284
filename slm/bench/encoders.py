"""Speech-encoder workloads: HuBERT base and large and WavLM base+ on 10 s of audio,
Whisper base and small encoders on a 30 s window, each a whole forward pass against the
implementations users run (transformers, openai-whisper, ONNX Runtime on the PyTorch
model's export, whisper.cpp) in the same process at the same thread count.

The models have random weights in the real architectures (model hubs are unreachable):
speed does not depend on the values. Each is built once with transformers, saved as a
Hugging Face folder under the cache directory (``$SLM_BENCH_CACHE``, default
``~/.cache/slm/bench``), and loaded by slm from that folder with ``slm.load`` -- the
path a user takes. The Whisper workloads time the encoder on a log-mel window of 3000
frames (the front end is benchmarked in ``slm.bench features``).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from .harness import Workload, versions

sys.modules.setdefault("torchaudio.lib._torchaudio", None)  # see tests/conftest.py

CACHE = os.environ.get("SLM_BENCH_CACHE", os.path.expanduser("~/.cache/slm/bench"))

# architectures of the released checkpoints (their config.json values that matter)
SSL_CONFIGS = {
    "hubert-base": ("hubert", {}),
    "hubert-large": ("hubert", dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                    intermediate_size=4096, feat_extract_norm="layer",
                                    do_stable_layer_norm=True, conv_bias=True)),
    "wavlm-base-plus": ("wavlm", {}),
}
WHISPER_CONFIGS = {
    "whisper-base": dict(d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048,
                         decoder_layers=1, decoder_attention_heads=8, decoder_ffn_dim=64, num_mel_bins=80),
    "whisper-small": dict(d_model=768, encoder_layers=12, encoder_attention_heads=12, encoder_ffn_dim=3072,
                          decoder_layers=1, decoder_attention_heads=12, decoder_ffn_dim=64, num_mel_bins=80),
}


def _audio(seconds, sr=16000, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * np.arange(n) / sr)
    return (0.3 * env * rng.standard_normal(n)).astype(np.float32)


def _hf_model(name):
    """(transformers model in eval mode, its saved folder), built once per cache"""
    import torch
    import transformers as tf
    folder = os.path.join(CACHE, name)
    if name in SSL_CONFIGS:
        kind, kw = SSL_CONFIGS[name]
        cfg_cls, model_cls = {"hubert": (tf.HubertConfig, tf.HubertModel),
                              "wavlm": (tf.WavLMConfig, tf.WavLMModel)}[kind]
    else:
        kw = WHISPER_CONFIGS[name]
        cfg_cls, model_cls = tf.WhisperConfig, tf.WhisperModel
    if os.path.exists(os.path.join(folder, "config.json")):
        model = model_cls.from_pretrained(folder)
    else:
        torch.manual_seed(0)
        model = model_cls(cfg_cls(**kw))
        model.save_pretrained(folder)
    return model.eval(), folder


def _layers_flops(T, C, F, L):
    """multiply-adds x 2 of L Transformer layers over T frames (projections, scores, FFN)"""
    return L * (2 * T * (4 * C * C + 2 * C * F) + 4 * T * T * C)


def _ssl_flops(name, samples):
    import transformers as tf
    kind, kw = SSL_CONFIGS[name]
    c = {"hubert": tf.HubertConfig, "wavlm": tf.WavLMConfig}[kind](**kw)
    flops, L, cin = 0.0, samples, 1
    for cout, k, s in zip(c.conv_dim, c.conv_kernel, c.conv_stride):
        L = (L - k) // s + 1
        flops += 2.0 * cout * cin * k * L
        cin = cout
    C = c.hidden_size
    flops += 2.0 * L * cin * C  # feature projection
    flops += 2.0 * L * C * (C // c.num_conv_pos_embedding_groups) * c.num_conv_pos_embeddings
    return flops + _layers_flops(L, C, c.intermediate_size, c.num_hidden_layers)


def _whisper_flops(name):
    c = WHISPER_CONFIGS[name]
    C, n_mels = c["d_model"], c["num_mel_bins"]
    conv = 2.0 * 3000 * C * n_mels * 3 + 2.0 * 1500 * C * C * 3
    return conv + _layers_flops(1500, C, c["encoder_ffn_dim"], c["encoder_layers"])


def _nmse(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(((a - b) ** 2).sum() / (b ** 2).sum())


def ssl_w(name, seconds=10.0, onnx=False, dtype="float32"):
    def setup():
        import torch
        import slm
        model, folder = _hf_model(name)
        enc = slm.load(folder, dtype=dtype)
        x = _audio(seconds)
        tx = torch.from_numpy(x)[None]
        L = enc.num_layers
        if dtype != "float32":  # the reduced-precision path's error against fp32 slm
            ref = slm.load(folder)(x, layers=[L]).hidden_states[L]
            w.info["nmse vs fp32"] = _nmse(enc(x, layers=[L]).hidden_states[L], ref)

        def torch_fn():
            with torch.inference_mode():
                return model(tx).last_hidden_state
        peers = {"torch": torch_fn}
        if onnx:
            peers.update(_onnx_peer(model, name, tx))
        return (lambda: enc(x, layers=[L])), peers
    w = Workload(f"{name} forward" + ("" if dtype == "float32" else f" {dtype}"), f"{seconds:g} s @ 16 kHz",
                 setup, audio_s=seconds, flops=_ssl_flops(name, int(seconds * 16000)))
    return w


def _onnx_peer(model, name, tx):
    try:
        import onnxruntime as ort
        import torch
    except ImportError:
        return {}
    path = os.path.join(CACHE, f"{name}.onnx")
    if not os.path.exists(path):
        torch.onnx.export(model, (tx,), path, dynamo=False, input_names=["wav"],
                          output_names=["hidden"], opset_version=17,
                          dynamic_axes={"wav": {1: "samples"}, "hidden": {1: "frames"}})
    so = ort.SessionOptions()
    so.intra_op_num_threads = torch.get_num_threads()
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {"wav": tx.numpy()}
    return {"onnxruntime": lambda: sess.run(None, feed)}


def whisper_w(name, dtype="float32"):
    def setup():
        import torch
        import slm
        model, folder = _hf_model(name)
        enc = slm.load(folder, dtype=dtype)
        mel = _audio(30.0)  # any values: time does not depend on them
        from .. import features
        m = features.whisper_log_mel(mel, n_mels=model.config.num_mel_bins)[None]
        m = np.ascontiguousarray(m[..., :3000])
        tm = torch.from_numpy(m)
        hf_enc = model.get_encoder()
        L = enc.num_layers
        if dtype != "float32":
            ref = slm.load(folder).forward_mel(m, layers=[L])[L]
            w.info["nmse vs fp32"] = _nmse(enc.forward_mel(m, layers=[L])[L], ref)

        def hf_fn():
            with torch.inference_mode():
                return hf_enc(tm).last_hidden_state
        peers = {"transformers": hf_fn}
        try:
            import whisper
            c = model.config
            dims = whisper.model.ModelDimensions(
                n_mels=c.num_mel_bins, n_audio_ctx=1500, n_audio_state=c.d_model,
                n_audio_head=c.encoder_attention_heads, n_audio_layer=c.encoder_layers,
                n_vocab=c.vocab_size, n_text_ctx=448, n_text_state=c.d_model,
                n_text_head=c.decoder_attention_heads, n_text_layer=1)
            ow = whisper.model.AudioEncoder(dims.n_mels, dims.n_audio_ctx, dims.n_audio_state,
                                            dims.n_audio_head, dims.n_audio_layer).eval()

            def ow_fn():
                with torch.inference_mode():
                    return ow(tm)
            peers["openai-whisper"] = ow_fn
        except ImportError:
            pass
        return (lambda: enc.forward_mel(m, layers=[L])), peers
    w = Workload(f"{name} encoder" + ("" if dtype == "float32" else f" {dtype}"), "30 s window (3000 mel frames)",
                 setup, audio_s=30.0, flops=_whisper_flops(name))
    return w


def workloads(quick=False):
    if quick:
        return [ssl_w("hubert-base", 2.0), whisper_w("whisper-base")]
    return [ssl_w("hubert-base", onnx=True), ssl_w("hubert-base", dtype="bf16"), ssl_w("hubert-large"),
            ssl_w("wavlm-base-plus"), whisper_w("whisper-base"), whisper_w("whisper-base", dtype="bf16"),
            whisper_w("whisper-small")]


def peer_versions():
    return versions(("torch", "transformers", "whisper", "onnxruntime", "numpy"))


def _peak_child(name, impl, threads):
    """run in a fresh process: load one implementation of a workload's model, run one
    forward on its input, print the process's peak resident memory in MB"""
    import slm
    slm.set_num_threads(threads)
    if impl != "slm":  # the slm process never imports torch
        import torch
        torch.set_num_threads(threads)
    folder = os.path.join(CACHE, name)
    if name in SSL_CONFIGS:
        x = _audio(10.0)
        if impl == "slm":
            enc = slm.load(folder)
            enc(x, layers=[enc.num_layers])
        else:
            import transformers as tf
            cls = {"hubert": tf.HubertModel, "wavlm": tf.WavLMModel}[SSL_CONFIGS[name][0]]
            with torch.inference_mode():
                cls.from_pretrained(folder).eval()(torch.from_numpy(x)[None])
    else:
        from .. import features
        m = np.ascontiguousarray(features.whisper_log_mel(_audio(30.0), n_mels=80)[None][..., :3000])
        if impl == "slm":
            enc = slm.load(folder)
            enc.forward_mel(m, layers=[enc.num_layers])
        else:
            import transformers as tf
            with torch.inference_mode():
                tf.WhisperModel.from_pretrained(folder).eval().get_encoder()(torch.from_numpy(m))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork + exec, so a child of a
    # large benchmark process would report the parent's peak
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(hwm / 1024.0)


def peak_process_mb(name, impl, threads):
    """peak resident memory (MB) of a process that loads the model (slm or torch) from
    the cached folder and runs one forward: weights, activations and the runtime
    itself, as a user's process would hold"""
    import subprocess
    r = subprocess.run([sys.executable, "-m", "slm.bench.encoders", "--peak", name, impl, str(threads)],
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"peak-memory run failed: {r.stderr[-300:]}")
    return float(r.stdout.strip().splitlines()[-1])


def whisper_cpp_ms(name, threads, repeats=3):
    """whisper.cpp's own encoder time (ms, median of its `whisper-bench -w 0` report) for
    the named architecture in fp32, or None when $SLM_WHISPER_CPP does not point at a
    whisper.cpp source tree built with its `whisper-bench` target (docs/benchmarks.md
    says how; it is not part of slm). The model is an openai-whisper checkpoint of the
    same encoder shape (random weights, a one-layer decoder) converted by whisper.cpp's
    own models/convert-pt-to-ggml.py."""
    import re
    import statistics
    import subprocess
    root = os.environ.get("SLM_WHISPER_CPP")
    if not root:
        return None
    bench = os.path.join(root, "build", "bin", "whisper-bench")
    conv = os.path.join(root, "models", "convert-pt-to-ggml.py")
    if not (os.path.exists(bench) and os.path.exists(conv)):
        raise FileNotFoundError(f"SLM_WHISPER_CPP={root}: build/bin/whisper-bench or the converter is missing")
    out_dir = os.path.join(CACHE, f"{name}-ggml")
    ggml = os.path.join(out_dir, "ggml-model-f32.bin")
    if not os.path.exists(ggml):
        import torch
        import whisper
        c = WHISPER_CONFIGS[name]
        dims = whisper.model.ModelDimensions(
            n_mels=c["num_mel_bins"], n_audio_ctx=1500, n_audio_state=c["d_model"],
            n_audio_head=c["encoder_attention_heads"], n_audio_layer=c["encoder_layers"], n_vocab=51865,
            n_text_ctx=448, n_text_state=c["d_model"], n_text_head=c["encoder_attention_heads"], n_text_layer=1)
        torch.manual_seed(0)
        model = whisper.model.Whisper(dims)
        os.makedirs(out_dir, exist_ok=True)
        pt = os.path.join(out_dir, "model.pt")
        torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, pt)
        site = os.path.dirname(os.path.dirname(whisper.__file__))  # holds whisper/assets
        subprocess.run([sys.executable, conv, pt, site, out_dir, "f32"], check=True, capture_output=True)
    times = []
    for _ in range(repeats):
        r = subprocess.run([bench, "-m", ggml, "-t", str(threads), "-w", "0"], capture_output=True, text=True)
        m = re.search(r"encode time =\s*([\d.]+) ms", r.stderr + r.stdout)
        if r.returncode or not m:
            raise RuntimeError(f"whisper-bench failed: {(r.stderr or r.stdout)[-300:]}")
        times.append(float(m.group(1)))
    return statistics.median(times)


if __name__ == "__main__":  # python -m slm.bench.encoders --peak NAME IMPL THREADS
    if len(sys.argv) == 5 and sys.argv[1] == "--peak":
        _peak_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: python -m slm.bench.encoders --peak NAME slm|torch THREADS")
