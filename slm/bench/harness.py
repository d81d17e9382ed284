"""Interleaved timing of slm against peers."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class Workload:
    """One measurement: ``setup()`` returns ``(slm_fn, {peer: fn})``, zero-argument
    callables doing the same work; ``flops`` or ``bytes`` (memory that must be read per
    call) turn times into rates."""
    name: str
    shape: str
    setup: Callable[[], tuple]
    flops: float = 0.0
    bytes: float = 0.0
    # "compute": share of peak FLOP/s; "memory": of DRAM read bandwidth (inputs larger
    # than the caches); "cache": inputs that stay in cache, rate shown without a share
    bound: str = "compute"
    # seconds of audio one call processes (feature front ends, decoders, resamplers):
    # the report then shows throughput as seconds of audio per second
    audio_s: float = 0.0
    # facts a setup measures for the report (e.g. a reduced-precision path's error)
    info: dict = field(default_factory=dict)


@dataclass
class Result:
    workload: Workload
    slm_ms: float
    slm_cold_ms: float
    peers_ms: dict = field(default_factory=dict)
    error: Optional[str] = None
    # the timed callables ({"slm": fn, peer: fn}), for measurements after timing (memory)
    fns: dict = field(default_factory=dict)

    def ratio(self, peer: str) -> Optional[float]:
        t = self.peers_ms.get(peer)
        return None if t is None or self.slm_ms <= 0 else t / self.slm_ms


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_one(w: Workload, repeats: int, min_time: float) -> Result:
    try:
        slm_fn, peers = w.setup()
        cold = _time(slm_fn)
    except Exception as e:  # a workload whose op is missing or fails is reported, not fatal
        return Result(w, float("nan"), float("nan"), {}, f"{type(e).__name__}: {e}")
    # warm-up both, and find how many calls make one sample last min_time
    t1 = max(_time(slm_fn), 1e-7)
    for fn in peers.values():
        fn()
    inner = max(1, int(min_time / t1))
    samples = {"slm": []}
    samples.update({p: [] for p in peers})
    for _ in range(repeats):
        for name, fn in [("slm", slm_fn)] + list(peers.items()):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - t0) / inner)
    med = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
    return Result(w, med.pop("slm"), cold * 1e3, med, fns={"slm": slm_fn, **peers})


def run_workloads(workloads, repeats=5, min_time=0.05, progress=None):
    out = []
    for w in workloads:
        r = run_one(w, repeats, min_time)
        out.append(r)
        if progress:
            progress(r)
    return out


def versions(modules):
    """'torch 2.13.0, numpy 2.4.6, x (not installed)' for the peers a report names"""
    import importlib
    vers = []
    for mod in modules:
        try:
            m = importlib.import_module(mod)
            vers.append(f"{mod} {getattr(m, '__version__', '?')}")
        except Exception:
            vers.append(f"{mod} (not installed)")
    return ", ".join(vers)
