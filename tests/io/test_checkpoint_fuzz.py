"""Damaged checkpoints: seeded random byte flips, deletions and truncations of valid files
in each format give CheckpointError (or load), never another exception or a crash."""
import argparse
import random

import numpy as np
import pytest

import slm.io as sio


def _mutations(data, rng, n):
    for _ in range(n):
        d = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            if not d:
                break
            i, k = rng.randrange(len(d)), rng.random()
            if k < 0.6:
                d[i] = rng.randrange(256)
            elif k < 0.8:
                del d[i:i + rng.randint(1, 64)]
            else:
                d = d[:i]
        yield bytes(d)


@pytest.mark.parametrize("fmt", ["zip", "legacy", "safetensors"])
def test_damaged_files(tmp_path, torch, fmt):
    src = tmp_path / "src"
    if fmt == "safetensors":
        sio.save_safetensors(src, {"a": np.ones((3, 4), np.float32), "b": np.arange(5)},
                             metadata={"k": "v"})
    else:
        w = torch.randn(4, 3)
        obj = {"w": w, "t": w.t(), "b": torch.randn(5).bfloat16(), "np": np.arange(3),
               "ns": argparse.Namespace(a=[1, 2], b="x")}
        torch.save(obj, src, _use_new_zipfile_serialization=(fmt == "zip"))
    rng = random.Random(1234)
    cur = tmp_path / "cur"
    loaded = 0
    for d in _mutations(src.read_bytes(), rng, 150):
        cur.write_bytes(d)
        try:
            out = sio.load_state_dict(cur)
        except sio.CheckpointError:
            continue
        loaded += 1
        for v in out.values() if isinstance(out, dict) else ():
            if isinstance(v, np.ndarray):
                v.sum()  # every array can be read in full
    assert loaded < 150  # the mutations do damage
