"""The ``slm`` command line.

    slm info            which kernel paths this machine runs, per op family
    slm bench ARGS...   python -m slm.bench ARGS...
    slm demo            the README's main job: the backend report, then a short kernel
                        benchmark against PyTorch (until the tokenizers land)
"""
from __future__ import annotations

import argparse
import sys


def _info(args):
    import slm
    print(slm.backend_info())
    return 0


def _bench(args):
    from .bench.__main__ import main as bench_main
    bench_main(args.rest)
    return 0


def _demo(args):
    import slm
    from .bench.__main__ import run_kernels
    print(slm.backend_info())
    print()
    run_kernels(threads=args.threads, quick=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="slm", description="speech language models with a C core")
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("info", help="backend report").set_defaults(fn=_info)
    b = sub.add_parser("bench", help="benchmarks (python -m slm.bench)", add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=_bench)
    d = sub.add_parser("demo", help="backend report and a short kernel benchmark")
    d.add_argument("--threads", type=int, default=None)
    d.set_defaults(fn=_demo)
    args = ap.parse_args(argv)
    if not getattr(args, "fn", None):
        args = ap.parse_args(["demo"] + list(argv or []))
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
