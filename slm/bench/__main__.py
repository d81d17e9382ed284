"""python -m slm.bench [kernels|features|encoders|units|codecs] [--threads N] [--quick] [--filter TEXT] [--json FILE]

kernels: the engine's kernels at real model shapes against PyTorch.
features: audio decode, resampling, STFT and the feature front ends against torchaudio,
librosa and the reference packages, as seconds of audio processed per second.
encoders: HuBERT, WavLM and Whisper encoders against transformers, openai-whisper, ONNX
Runtime and (with $SLM_WHISPER_CPP) whisper.cpp; real-time factor, cold start, peak memory.
units: k-means (predict, k-means++ seeding, Lloyd, mini-batch) against scikit-learn, and
unit BPE against Hugging Face tokenizers.
codecs: EnCodec 24 kHz encode/decode against the encodec package (real-time factor)."""
from __future__ import annotations

import argparse
import json
import math
import sys

import slm

from . import machine
from .harness import run_workloads


def _fmt(x, spec=".2f"):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def run_kernels(threads=None, quick=False, filt=None, json_path=None, out=sys.stdout):
    from . import kernels
    threads = threads or slm.get_num_threads()
    slm.set_num_threads(threads)
    try:
        import torch
        torch.set_num_threads(threads)
        peer = f"torch {torch.__version__}"
    except ImportError:
        torch = None
        peer = "none (torch not installed)"
    m = machine.probe(threads, quick=quick)
    info = slm.backend_info()
    print(f"slm {slm.__version__} kernels benchmark; peer: {peer}; backend: {info.forced}", file=out)
    print(m, file=out)
    wl = kernels.workloads(quick=quick)
    if filt:
        wl = [w for w in wl if filt.lower() in w.name.lower()]
    hdr = (f"{'workload':<46} {'shape':<34} {'slm ms':>9} {'torch ms':>9} {'x torch':>7} "
           f"{'rate':>14} {'share':>6} {'cold ms':>8}")
    print(hdr, file=out)
    print("-" * len(hdr), file=out)
    rows = []

    def show(r):
        w = r.workload
        if r.error:
            print(f"{w.name:<46} {w.shape:<34} skipped: {r.error}", file=out, flush=True)
            rows.append({"name": w.name, "shape": w.shape, "error": r.error})
            return
        t = r.slm_ms / 1e3
        if w.bound in ("memory", "cache"):
            rate = w.bytes / t / 1e9
            rate_s, share = f"{rate:.1f} GB/s", (rate / m.read_gbs if w.bound == "memory" else None)
        else:
            rate = w.flops / t / 1e9
            rate_s, share = f"{rate:.1f} GFLOP/s", rate / m.peak_gflops
        ratio = r.ratio("torch")
        print(f"{w.name:<46} {w.shape:<34} {r.slm_ms:>9.3f} {_fmt(r.peers_ms.get('torch'), '9.3f'):>9} "
              f"{_fmt(ratio):>7} {rate_s:>14} {('cache' if share is None else format(share, '.0%')):>6} "
              f"{r.slm_cold_ms:>8.2f}", file=out, flush=True)
        rows.append({"name": w.name, "shape": w.shape, "slm_ms": r.slm_ms, "torch_ms": r.peers_ms.get("torch"),
                     "ratio_vs_torch": ratio, "rate": rate, "rate_unit": rate_s.split()[1], "share": share,
                     "bound": w.bound, "cold_ms": r.slm_cold_ms})

    if torch is None:
        wl = []
        print("(install torch==2.13.0 to compare against PyTorch)", file=out)
    run_workloads(wl, repeats=3 if quick else 7, min_time=0.02 if quick else 0.1, progress=show)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"machine": m.__dict__, "backend": str(info), "peer": peer, "rows": rows}, f, indent=1)
    return rows


def run_features(threads=None, quick=False, filt=None, json_path=None, out=sys.stdout):
    from . import features
    threads = threads or slm.get_num_threads()
    slm.set_num_threads(threads)
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        pass
    info = slm.backend_info()
    print(f"slm {slm.__version__} features benchmark; {threads} thread(s); backend: {info.forced}", file=out)
    print(f"peers: {features.peer_versions()}", file=out)
    print("(librosa and soundfile run on one thread whatever --threads says; torch-based peers use "
          "--threads)", file=out)
    wl = features.workloads(quick=quick)
    if filt:
        wl = [w for w in wl if filt.lower() in w.name.lower()]
    hdr = f"{'workload':<40} {'input':<30} {'slm ms':>9} {'audio s/s':>10}  peers: ms (slm speed-up)"
    print(hdr, file=out)
    print("-" * (len(hdr) + 30), file=out)
    rows = []

    def show(r):
        w = r.workload
        if r.error:
            print(f"{w.name:<40} {w.shape:<30} skipped: {r.error}", file=out, flush=True)
            rows.append({"name": w.name, "shape": w.shape, "error": r.error})
            return
        rate = w.audio_s / (r.slm_ms / 1e3) if w.audio_s else None
        peers = "  ".join(f"{k} {v:.3f} ({_fmt(r.ratio(k))}x)" for k, v in r.peers_ms.items())
        print(f"{w.name:<40} {w.shape:<30} {r.slm_ms:>9.3f} {_fmt(rate, '10.0f'):>10}  {peers}",
              file=out, flush=True)
        rows.append({"name": w.name, "shape": w.shape, "slm_ms": r.slm_ms, "audio_s_per_s": rate,
                     "peers_ms": r.peers_ms, "ratios": {k: r.ratio(k) for k in r.peers_ms},
                     "cold_ms": r.slm_cold_ms})

    run_workloads(wl, repeats=3 if quick else 7, min_time=0.02 if quick else 0.1, progress=show)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"threads": threads, "backend": str(info), "peers": features.peer_versions(),
                       "rows": rows}, f, indent=1)
    return rows


def run_encoders(threads=None, quick=False, filt=None, json_path=None, out=sys.stdout):
    from . import encoders
    threads = threads or slm.get_num_threads()
    slm.set_num_threads(threads)
    import torch
    torch.set_num_threads(threads)
    m = machine.probe(threads, quick=quick)
    info = slm.backend_info()
    print(f"slm {slm.__version__} encoders benchmark; {threads} thread(s); backend: {info.forced}", file=out)
    print(f"peers: {encoders.peer_versions()}", file=out)
    print(m, file=out)
    wl = encoders.workloads(quick=quick)
    if filt:
        wl = [w for w in wl if filt.lower() in w.name.lower()]
    hdr = (f"{'workload':<26} {'input':<30} {'slm ms':>9} {'RTF':>7} {'GFLOP/s':>8} {'share':>6} "
           f"{'cold ms':>8} {'peak MB':>8}  peers: ms (slm speed-up)")
    print(hdr, file=out)
    print("-" * (len(hdr) + 30), file=out)
    rows = []

    def show(r):
        w = r.workload
        if r.error:
            print(f"{w.name:<26} {w.shape:<30} skipped: {r.error}", file=out, flush=True)
            rows.append({"name": w.name, "shape": w.shape, "error": r.error})
            return
        if w.name.startswith("whisper") and not w.name.endswith("bf16"):
            try:
                ms = encoders.whisper_cpp_ms(w.name.split()[0], threads)
                if ms is not None:
                    r.peers_ms["whisper.cpp"] = ms
            except Exception as e:  # reported, not fatal
                print(f"  (whisper.cpp: {type(e).__name__}: {e})", file=out)
        gflops = w.flops / (r.slm_ms / 1e3) / 1e9
        model = w.name.split()[0]
        peak = {}
        for impl in (("slm", "torch") if not w.info else ()):
            try:
                peak[impl] = encoders.peak_process_mb(model, impl, threads)
            except Exception as e:  # reported, not fatal
                print(f"  (peak memory of {impl}: {type(e).__name__}: {e})", file=out)
        peers = "  ".join(f"{k} {v:.1f} ({_fmt(r.ratio(k))}x)" for k, v in r.peers_ms.items())
        print(f"{w.name:<26} {w.shape:<30} {r.slm_ms:>9.1f} {r.slm_ms / 1e3 / w.audio_s:>7.4f} {gflops:>8.1f} "
              f"{gflops / m.peak_gflops:>6.0%} {r.slm_cold_ms:>8.1f} {_fmt(peak.get('slm'), '8.0f'):>8}  {peers}",
              file=out, flush=True)
        for k, v in w.info.items():
            print(f"  {k}: {v:.2e}", file=out, flush=True)
        if peak:
            print("  peak resident MB of a process that loads the model and runs one forward: " +
                  ", ".join(f"{k} {v:.0f}" for k, v in peak.items()), file=out, flush=True)
        r.fns = {}  # let the models go before the next workload
        rows.append({"name": w.name, "shape": w.shape, "slm_ms": r.slm_ms, "rtf": r.slm_ms / 1e3 / w.audio_s,
                     "gflops": gflops, "share": gflops / m.peak_gflops, "peers_ms": r.peers_ms,
                     "ratios": {k: r.ratio(k) for k in r.peers_ms}, "cold_ms": r.slm_cold_ms, "peak_mb": peak,
                     **w.info})

    run_workloads(wl, repeats=3 if quick else 5, min_time=0.0, progress=show)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"threads": threads, "backend": str(info), "peers": encoders.peer_versions(),
                       "machine": m.__dict__, "rows": rows}, f, indent=1)
    return rows


def _run_table(title, modules, peer_names, threads=None, quick=False, filt=None, json_path=None, out=sys.stdout,
               repeats=5, extra=None):
    """workloads of `modules` against their peers at the same thread count: time, rate
    (GFLOP/s and share of peak when a workload counts flops; real-time factor when it
    processes audio), and each peer's time and slm's speed-up"""
    import importlib
    import os
    from .harness import versions
    threads = threads or slm.get_num_threads()
    slm.set_num_threads(threads)
    try:  # scikit-learn's OpenMP and BLAS pools get the same thread count (threadpoolctl
        # limits only libraries already loaded: import sklearn's first)
        import sklearn.cluster  # noqa: F401  (imported for its side effect)
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(threads)
    except ImportError:
        limits = None
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        pass
    # Hugging Face tokenizers (Rayon) reads its pool size once, at first use
    os.environ["RAYON_RS_NUM_CPUS"] = os.environ["RAYON_NUM_THREADS"] = str(threads)
    wl = []
    for name in modules:  # first: a module may prepare its peers' imports (see codecs.py)
        wl += importlib.import_module(f"{__package__}.{name}").workloads(quick=quick)
    m = machine.probe(threads, quick=quick)
    peers = versions(peer_names)
    print(f"slm {slm.__version__} {title} benchmark; {threads} thread(s); backend: {slm.backend_info().forced}",
          file=out)
    print(f"peers: {peers}", file=out)
    print(m, file=out)
    if filt:
        wl = [w for w in wl if filt.lower() in w.name.lower()]
    hdr = (f"{'workload':<36} {'input':<24} {'slm ms':>9} {'GFLOP/s':>8} {'share':>6} {'RTF':>7}  "
           f"peers: ms (slm speed-up)")
    print(hdr, file=out)
    print("-" * (len(hdr) + 20), file=out)
    rows = []

    def show(r):
        w = r.workload
        if r.error:
            print(f"{w.name:<36} {w.shape:<24} skipped: {r.error}", file=out, flush=True)
            rows.append({"name": w.name, "shape": w.shape, "error": r.error})
            return
        g = w.flops / (r.slm_ms / 1e3) / 1e9 if w.flops else None
        share = g / m.peak_gflops if g else None
        rtf = r.slm_ms / 1e3 / w.audio_s if w.audio_s else None
        ps = "  ".join(f"{k} {v:.2f} ({_fmt(r.ratio(k))}x)" for k, v in r.peers_ms.items())
        print(f"{w.name:<36} {w.shape:<24} {r.slm_ms:>9.2f} {_fmt(g, '8.1f'):>8} {_fmt(share, '6.0%'):>6} "
              f"{_fmt(rtf, '7.4f'):>7}  {ps}", file=out, flush=True)
        r.fns = {}
        more = {}
        if extra:  # per-workload measurements beyond time (peak memory), reported, not fatal
            try:
                more = extra(w.name, threads)
            except Exception as e:
                print(f"  ({type(e).__name__}: {e})", file=out)
            if more.get("peak_mb"):
                print("  peak resident MB of a process that loads the model and runs it once: " +
                      ", ".join(f"{k} {v:.0f}" for k, v in more["peak_mb"].items()), file=out, flush=True)
        rows.append({"name": w.name, "shape": w.shape, "slm_ms": r.slm_ms, "gflops": g, "share": share, "rtf": rtf,
                     "peers_ms": r.peers_ms, "ratios": {k: r.ratio(k) for k in r.peers_ms},
                     "cold_ms": r.slm_cold_ms, **more})

    try:
        run_workloads(wl, repeats=3 if quick else repeats, min_time=0.0 if quick else 0.05, progress=show)
    finally:
        if limits is not None:
            limits.unregister()
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"threads": threads, "peers": peers, "machine": m.__dict__, "rows": rows}, f, indent=1)
    return rows


def run_units(threads=None, quick=False, filt=None, json_path=None, out=sys.stdout):
    """k-means and unit BPE workloads against scikit-learn and Hugging Face tokenizers"""
    return _run_table("units", ("kmeans", "units"), ("sklearn", "numpy", "tokenizers"), threads, quick, filt,
                      json_path, out)


def run_codecs(threads=None, quick=False, filt=None, json_path=None, out=sys.stdout):
    """neural codecs against their reference PyTorch packages"""
    from . import codecs
    return _run_table("codecs", ("codecs",), ("torch", "encodec", "transformers"), threads, quick, filt, json_path,
                      out, extra=lambda name, th: {"peak_mb": codecs.peak_mb(name, th)})


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m slm.bench", description=__doc__)
    ap.add_argument("suite", nargs="?", default="kernels", choices=["kernels", "features", "encoders", "units", "codecs"])
    ap.add_argument("--threads", type=int, default=None, help="threads for slm and torch (default: slm's)")
    ap.add_argument("--quick", action="store_true", help="a few workloads, few repeats")
    ap.add_argument("--filter", default=None, help="only workloads whose name contains this")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args(argv)
    run = {"kernels": run_kernels, "features": run_features, "encoders": run_encoders, "units": run_units,
           "codecs": run_codecs}[a.suite]
    run(a.threads, a.quick, a.filter, a.json)


if __name__ == "__main__":
    main()
