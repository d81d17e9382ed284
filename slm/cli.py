"""The ``slm`` command line.

    slm resynth [IN] [-o OUT]     audio -> units -> audio with the embedded default
                                  tokenizer (the README's main job; also plain ``slm``)
    slm resynth --codec PATH      audio -> codec codes -> audio (EnCodec checkpoints)
    slm tokenize IN... -o OUT     units of files/folders into a JSON Lines file (resumable,
                                  --jobs N worker processes)
    slm encode IN -o OUT.npz --codec PATH   codec codes of one audio file (docs/codecs.md)
    slm decode IN.npz -o OUT --codec PATH   audio from a codes file
    slm info                      which kernel paths this machine runs, per op family
    slm bench ARGS...             python -m slm.bench ARGS...
    slm demo                      the backend report and a short kernel benchmark
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


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


def _tokenizer(args):
    """(tokenizer, name) from --tokenizer / --encoder + --kmeans"""
    from .tokenizers import SSLUnitTokenizer, default
    if args.encoder or args.kmeans:
        if not (args.encoder and args.kmeans):
            raise SystemExit("slm: --encoder and --kmeans go together")
        tok = SSLUnitTokenizer.from_pretrained(args.encoder, args.kmeans, layer=args.layer, dedup=not args.no_dedup)
        return tok, f"ssl:{args.encoder}:{args.layer if args.layer is not None else tok.layer}:{args.kmeans}"
    if args.tokenizer != "default":
        raise SystemExit(f"slm: unknown tokenizer {args.tokenizer!r}; choose from ['default'] or give "
                         "--encoder PATH --kmeans PATH")
    return default(dedup=not args.no_dedup), "default"


def _progress(total, desc):
    try:
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, unit="file", file=sys.stderr)
    except ImportError:
        class Counter:
            n = 0

            def update(self, k=1):
                self.n += k
                print(f"\r{desc}: {self.n}/{total}", end="", file=sys.stderr, flush=True)

            def close(self):
                print(file=sys.stderr)
        return Counter()


_WORKER = {}


def _worker_init(ns):
    """each worker process builds its tokenizer once, on one thread"""
    import slm
    slm.set_num_threads(1)
    _WORKER["tok"], _WORKER["name"] = _tokenizer(ns)


def _worker_encode(f):
    """(path, record or None, error message or None)"""
    from .tokenizers._files import units_record
    try:
        return f, units_record(f, _WORKER["tok"].encode(f), _WORKER["name"]), None
    except (OSError, ValueError, TypeError) as e:
        return f, None, str(e)


def _tokenize(args):
    import json
    from .tokenizers._files import done_and_truncate, find_audio
    if args.jobs < 1:
        raise SystemExit(f"slm tokenize: --jobs must be >= 1, got {args.jobs}")
    tok, name = _tokenizer(args)  # also checks the arguments before any worker starts
    try:
        files = find_audio(args.inputs)
    except FileNotFoundError as e:
        print(f"slm tokenize: {e}", file=sys.stderr)
        return 2
    done = done_and_truncate(args.output)
    todo = [f for f in files if f not in done]
    print(f"slm tokenize: {len(files)} files, {len(files) - len(todo)} already in {args.output}, "
          f"{len(todo)} to do; tokenizer {name}; {args.jobs} process(es)", file=sys.stderr)
    failed = 0
    bar = _progress(len(todo), "tokenize")
    if args.jobs == 1:
        _WORKER["tok"], _WORKER["name"] = tok, name
        results = map(_worker_encode, todo)
        pool = None
    else:
        import multiprocessing as mp
        pool = mp.get_context("spawn").Pool(args.jobs, _worker_init, (args,))
        results = pool.imap_unordered(_worker_encode, todo, chunksize=1)
    try:
        with open(args.output, "a", encoding="utf-8") as out:
            for f, rec, err in results:  # written as they finish: a rerun resumes from here
                if err is not None:
                    failed += 1
                    print(f"\nslm tokenize: skipped {f}: {err}", file=sys.stderr)
                else:
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
                bar.update(1)
    finally:
        if pool is not None:
            pool.terminate()
        bar.close()
    if failed:
        print(f"slm tokenize: {failed} of {len(todo)} files failed", file=sys.stderr)
    return 1 if failed else 0


def _resynth(args):
    import time
    from . import audio as A
    from .tokenizers import logmel_distance_db
    from .tokenizers._default import DEMO_PATH
    if args.codec:
        return _resynth_codec(args)
    tok, name = _tokenizer(args)
    if not hasattr(tok, "decode"):
        raise SystemExit("slm resynth: this tokenizer has no resynthesis (use the default one)")
    src = args.input or DEMO_PATH
    x = A.load(src, sr=tok.sample_rate)
    t0 = time.perf_counter()
    u = tok.encode(x)
    t1 = time.perf_counter()
    y = tok.decode(u)
    t2 = time.perf_counter()
    A.save(args.output, y)
    print(f"input       {src} ({x.num_samples / x.sample_rate:.2f} s at {x.sample_rate} Hz)")
    print(f"tokenizer   {tok!r}")
    print(f"units       {len(u)} runs over {u.num_frames} frames; {u.units_per_second:.1f} units/s, "
          f"{u.bitrate():.0f} bit/s (log2 {u.vocab_size} bits per unit, durations not counted)")
    print(f"resynthesis {args.output} (Griffin-Lim from centroid log-mel frames)")
    print(f"log-mel distance to the input: {logmel_distance_db(x, y, tok):.2f} dB (mean absolute)")
    print(f"time        encode {1e3 * (t1 - t0):.0f} ms, decode {1e3 * (t2 - t1):.0f} ms")
    return 0


CODES_FORMAT = "slm-codes"


def _codec(args):
    import slm
    from .codecs import DAC, EnCodec
    opts = {"sample_rate": args.sample_rate} if args.sample_rate else {}
    codec = slm.load(args.codec, **opts)
    if not isinstance(codec, (EnCodec, DAC)):
        raise SystemExit(f"slm: {args.codec} is not a codec checkpoint ({type(codec).__name__})")
    if getattr(codec, "segment", None) is not None or getattr(codec, "normalize", False):
        raise SystemExit(f"slm: {args.codec} codes overlapping segments with loudness scales (EnCodec 48 kHz); "
                         "the codes files do not carry those yet: use slm.codecs.EnCodec.encode_frames in Python")
    return codec


def _codes_of(codec, x, args):
    if args.bandwidth is not None and args.n_q is not None:
        raise SystemExit("slm: give --bandwidth or --n-q, not both")
    n_q = args.n_q
    if args.bandwidth is not None:
        if not hasattr(codec, "n_q_for_bandwidth"):
            raise SystemExit(f"slm: {type(codec).__name__} takes --n-q, not --bandwidth")
        n_q = codec.n_q_for_bandwidth(args.bandwidth)
    return codec.encode(np.asarray(x, np.float32), n_q=n_q)


def _encode_cmd(args):
    from . import audio as A
    codec = _codec(args)
    x = A.load(args.input, sr=codec.sample_rate)
    codes = _codes_of(codec, x, args)
    np.savez(args.output, codes=codes.astype(np.int32), sample_rate=codec.sample_rate,
             frame_rate=codec.frame_rate, num_samples=len(x), codebook_size=codec.codebook_size,
             format=CODES_FORMAT, version=1)
    n_q, t = codes.shape
    print(f"{args.input}: {n_q} codebooks x {t} frames ({codec.frame_rate} Hz) -> {args.output}; "
          f"{n_q * np.log2(codec.codebook_size) * codec.frame_rate / 1000:.2f} kbps")
    return 0


def read_codes(path):
    """(codes (n_q, T) int64, metadata dict) of a file written by ``slm encode``"""
    with np.load(path, allow_pickle=False) as z:
        if str(z.get("format", "")) != CODES_FORMAT or "codes" not in z:
            raise ValueError(f"{path}: not an slm codes file (written by `slm encode`)")
        meta = {k: z[k].item() for k in z.files if k != "codes"}
        codes = z["codes"].astype(np.int64)
    if codes.ndim != 2:
        raise ValueError(f"{path}: codes must be (n_q, T), got shape {codes.shape}")
    return codes, meta


def _decode_cmd(args):
    from . import audio as A
    codec = _codec(args)
    codes, meta = read_codes(args.input)
    if int(meta.get("sample_rate", codec.sample_rate)) != codec.sample_rate:
        raise SystemExit(f"slm decode: the codes are for {meta['sample_rate']} Hz, the codec runs at "
                         f"{codec.sample_rate} Hz")
    y = codec.decode(codes)[0]
    n = int(meta.get("num_samples", len(y)))
    A.save(args.output, y[:n], sr=codec.sample_rate)
    print(f"{args.input}: {codes.shape[0]} codebooks x {codes.shape[1]} frames -> {args.output} "
          f"({n / codec.sample_rate:.2f} s at {codec.sample_rate} Hz)")
    return 0


def _resynth_codec(args):
    import time
    from . import audio as A
    from .tokenizers import logmel_distance_db
    from .tokenizers._default import DEMO_PATH
    codec = _codec(args)
    src = args.input or DEMO_PATH
    x = A.load(src, sr=codec.sample_rate)
    t0 = time.perf_counter()
    codes = _codes_of(codec, x, args)
    t1 = time.perf_counter()
    y = codec.decode(codes)[0][:len(x)]
    t2 = time.perf_counter()
    A.save(args.output, y, sr=codec.sample_rate)
    n_q, t = codes.shape
    x16, y16 = A.resample(np.asarray(x), codec.sample_rate, 16000), A.resample(y, codec.sample_rate, 16000)
    print(f"input       {src} ({len(x) / codec.sample_rate:.2f} s at {codec.sample_rate} Hz)")
    print(f"codec       {codec!r}")
    print(f"codes       {n_q} codebooks x {t} frames; "
          f"{n_q * np.log2(codec.codebook_size) * codec.frame_rate:.0f} bit/s")
    print(f"resynthesis {args.output}")
    print(f"log-mel distance to the input: {logmel_distance_db(x16, y16):.2f} dB (mean absolute)")
    print(f"time        encode {1e3 * (t1 - t0):.0f} ms, decode {1e3 * (t2 - t1):.0f} ms")
    return 0


def _add_codec_args(p, required):
    p.add_argument("--codec", required=required, default=None,
                   help="codec checkpoint: encodec or descript-audio-codec file, or a transformers folder")
    p.add_argument("--bandwidth", type=float, default=None, help="kbps (picks the number of codebooks)")
    p.add_argument("--n-q", type=int, default=None, help="number of codebooks (default: all)")
    p.add_argument("--sample-rate", type=int, default=None, help="the codec's rate if not its default")


def _add_tokenizer_args(p):
    p.add_argument("--tokenizer", default="default", help="'default' (embedded log-mel units)")
    p.add_argument("--encoder", default=None, help="encoder checkpoint (HF folder, fairseq/openai file)")
    p.add_argument("--kmeans", default=None, help="k-means centres (.npy, .safetensors, sklearn pickle)")
    p.add_argument("--layer", type=int, default=None, help="encoder layer (default: the middle one)")
    p.add_argument("--no-dedup", action="store_true", help="keep one unit per frame")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="slm", description="speech language models with a C core")
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("info", help="backend report").set_defaults(fn=_info)
    b = sub.add_parser("bench", help="benchmarks (python -m slm.bench)", add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=_bench)
    r = sub.add_parser("resynth", help="audio -> units -> audio with a tokenizer (default: the embedded one)")
    r.add_argument("input", nargs="?", default=None, help="audio file (default: the bundled demo clip)")
    r.add_argument("-o", "--output", default="resynth.wav")
    _add_tokenizer_args(r)
    _add_codec_args(r, False)
    r.set_defaults(fn=_resynth)
    e = sub.add_parser("encode", help="codec codes of an audio file into a .npz codes file")
    e.add_argument("input", help="audio file")
    e.add_argument("-o", "--output", required=True, help="codes file (.npz)")
    _add_codec_args(e, True)
    e.set_defaults(fn=_encode_cmd)
    dc = sub.add_parser("decode", help="audio from a codes file written by `slm encode`")
    dc.add_argument("input", help="codes file (.npz)")
    dc.add_argument("-o", "--output", required=True, help="audio file")
    _add_codec_args(dc, True)
    dc.set_defaults(fn=_decode_cmd)
    t = sub.add_parser("tokenize", help="units of audio files/folders into a JSON Lines file")
    t.add_argument("inputs", nargs="+", help="audio files or folders (walked for audio extensions)")
    t.add_argument("-o", "--output", required=True, help="JSON Lines file (appended; reruns skip done inputs)")
    t.add_argument("-j", "--jobs", type=int, default=1, help="worker processes (each on one thread)")
    _add_tokenizer_args(t)
    t.set_defaults(fn=_tokenize)
    d = sub.add_parser("demo", help="backend report and a short kernel benchmark")
    d.add_argument("--threads", type=int, default=None)
    d.set_defaults(fn=_demo)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in sub.choices and argv[0] not in ("-h", "--help")):
        argv = ["resynth"] + argv  # plain `slm [IN] [-o OUT]` is `slm resynth`
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
