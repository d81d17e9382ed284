"""This machine's limits, probed by slm's own C code: peak fp32 FMA rate and read
bandwidth at a given thread count."""
from __future__ import annotations

from dataclasses import dataclass

from .. import _C


@dataclass(frozen=True)
class Machine:
    threads: int
    peak_gflops: float      # fp32 FMA chains on every thread, widest vectors
    vector_width: int       # floats per vector used by the probe
    read_gbs: float         # streaming read of a buffer far larger than the caches

    def __str__(self):
        return (f"machine: {self.threads} thread(s), fp32 peak {self.peak_gflops:.1f} GFLOP/s "
                f"({self.vector_width}-wide FMA), read bandwidth {self.read_gbs:.1f} GB/s")


def probe(threads: int, quick: bool = False) -> Machine:
    flops, width = _C.probe_peak_flops(threads, 2 if quick else 5)
    bw = _C.probe_read_bandwidth(threads, (256 if quick else 512) << 20, 2 if quick else 5)
    return Machine(threads, flops / 1e9, width, bw / 1e9)
