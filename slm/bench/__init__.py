"""``python -m slm.bench``: slm against its peers, in one run, on this machine.

Each workload runs slm and every peer (PyTorch CPU at the same thread count) interleaved:
warm-up, then alternating timed repeats, medians reported. Shares of the machine's
limits use the peak fp32 FMA rate and the read bandwidth that the benchmark measures
itself (:mod:`slm.bench.machine`). Cold start (the first call, including primitive
creation and weight packing) is reported apart from steady state.
"""
from .harness import Result, Workload, run_workloads

__all__ = ["Result", "Workload", "run_workloads"]
