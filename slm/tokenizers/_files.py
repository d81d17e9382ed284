"""Unit files: what ``slm tokenize`` writes, and reading them back.

Format: JSON Lines, one utterance per line, UTF-8:

    {"path": "a/b.wav", "units": [12, 7, ...], "durations": [3, 1, ...] or null,
     "frame_rate": 50.0, "vocab_size": 100, "seconds": 4.02, "tokenizer": "..."}

``path`` is the input as given on the command line (files found in folders are given
relative to nothing: their full path as walked). Lines are appended and flushed one at
a time, so an interrupted run leaves a valid file plus at most one partial last line,
which :func:`read_units` skips and a resumed run overwrites.
"""
from __future__ import annotations

import json
import os

import numpy as np

from ._ssl import Units

__all__ = ["read_units", "units_record", "AUDIO_EXTENSIONS", "find_audio"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au", ".caf", ".w64", ".rf64")


def units_record(path, u: Units, tokenizer_name):
    return {"path": os.fspath(path), "units": u.units.tolist(),
            "durations": None if u.durations is None else u.durations.tolist(),
            "frame_rate": u.frame_rate, "vocab_size": u.vocab_size, "seconds": round(u.seconds, 6),
            "tokenizer": tokenizer_name}


def _records(path):
    """(record, byte offset after it) for each complete line; stops at a partial one"""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            return  # a partial last line (interrupted write)
        line = data[pos:end]
        pos = end + 1
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise ValueError(f"{path}: line at byte {pos - len(line) - 1} is not JSON") from None
        yield rec, pos


def read_units(path):
    """{input path: Units} from a file written by ``slm tokenize``"""
    out = {}
    for rec, _ in _records(path):
        d = rec.get("durations")
        out[rec["path"]] = Units(np.asarray(rec["units"], np.int64),
                                 None if d is None else np.asarray(d, np.int64),
                                 float(rec["frame_rate"]), rec.get("vocab_size"))
    return out


def done_and_truncate(path):
    """paths already in the file; a partial last line is cut off so appends stay valid"""
    if not os.path.exists(path):
        return set()
    done, good = set(), 0
    for rec, end in _records(path):
        done.add(rec["path"])
        good = end
    if good != os.path.getsize(path):
        with open(path, "r+b") as f:
            f.truncate(good)
    return done


def find_audio(inputs):
    """files in order: each input file as given, each folder walked (sorted) for audio
    extensions; a missing input raises FileNotFoundError"""
    out = []
    for p in inputs:
        p = os.fspath(p)
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                out += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(AUDIO_EXTENSIONS)]
        elif os.path.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return out
