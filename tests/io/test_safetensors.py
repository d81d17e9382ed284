"""slm.io safetensors: files written by the safetensors package (numpy and torch writers)
read back exactly and zero-copy; slm's writer read back by the safetensors package; every
malformed header raises CheckpointError naming the file."""
import json
import os

import numpy as np
import pytest

import slm.io as sio
from slm.io import CheckpointError

st_numpy = pytest.importorskip("safetensors.numpy")

NUMPY_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64,
                np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]


def _rand(dtype, shape, rng):
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


@pytest.fixture
def numpy_file(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {f"t.{np.dtype(d).name}": _rand(d, (3, 5), rng) for d in NUMPY_DTYPES}
    tensors["scalar"] = np.array(3.5, np.float32)
    tensors["empty"] = np.zeros((0, 4), np.float32)
    tensors["odd_f16"] = rng.standard_normal(7).astype(np.float16)  # leaves later data unaligned
    path = tmp_path / "np.safetensors"
    st_numpy.save_file(tensors, str(path), metadata={"format": "np", "note": "x"})
    return path, tensors


def test_reads_numpy_writer_exactly_and_zero_copy(numpy_file):
    path, tensors = numpy_file
    out = sio.load_safetensors(path)
    ref = st_numpy.load_file(str(path))
    assert sorted(out) == sorted(tensors)
    for k, v in tensors.items():
        assert out[k].dtype == v.dtype and out[k].shape == v.shape, k
        assert np.array_equal(out[k], v), k
        assert np.array_equal(out[k], ref[k]), k
        if v.size:  # a view of the mapping: no copy, and read-only so the file is safe
            assert not out[k].flags.owndata and not out[k].flags.writeable, k
    # mmap=False: a private writable copy
    out2 = sio.load_safetensors(path, mmap=False)
    assert out2["t.float32"].flags.writeable
    out2["t.float32"][0, 0] = 42
    assert sio.load_safetensors(path)["t.float32"][0, 0] == tensors["t.float32"][0, 0]


def test_reads_torch_writer_bf16_f8(tmp_path, torch):
    st_torch = pytest.importorskip("safetensors.torch")
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 6, generator=g)
    tensors = {"bf16": base.to(torch.bfloat16), "f16": base.half(), "f32": base,
               "e4m3": base.to(torch.float8_e4m3fn), "e5m2": base.to(torch.float8_e5m2),
               "i64": torch.arange(10), "big_bf16": (base * 1e30).to(torch.bfloat16)}
    path = tmp_path / "t.safetensors"
    st_torch.save_file(tensors, str(path))
    out = sio.load_safetensors(path)
    for k, v in tensors.items():
        want = v.float().numpy() if v.dtype in (torch.bfloat16, torch.float8_e4m3fn,
                                                torch.float8_e5m2) else v.numpy()
        assert out[k].dtype == want.dtype and np.array_equal(out[k], want), k
    raw = sio.load_safetensors(path, upcast=False)
    assert raw["bf16"].dtype == np.uint16 and not raw["bf16"].flags.owndata
    assert np.array_equal(raw["bf16"], tensors["bf16"].view(torch.int16).numpy().view(np.uint16))
    assert raw["e4m3"].dtype == np.uint8
    assert np.array_equal(raw["e4m3"], tensors["e4m3"].view(torch.uint8).numpy())


def test_f8_tables_cover_every_code(torch):
    # all 256 codes, NaNs and infinities included, against torch's own conversion
    from slm.io._common import f8_to_f32
    codes = np.arange(256, dtype=np.uint8)
    for fmt, tdt in (("e4m3fn", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2)):
        want = torch.from_numpy(codes.copy()).view(tdt).float().numpy()
        got = f8_to_f32(codes, fmt)
        assert np.array_equal(got, want, equal_nan=True), fmt


def test_writer_read_by_safetensors(tmp_path, torch):
    rng = np.random.default_rng(1)
    tensors = {f"w{i}": _rand(d, (2, 3, 4), rng) for i, d in enumerate(NUMPY_DTYPES)}
    tensors["nc"] = np.arange(12, dtype=np.float32).reshape(3, 4).T  # non-contiguous input
    tensors["be"] = np.arange(5, dtype=">i4")  # big-endian input is stored little-endian
    tensors["c64"] = (rng.standard_normal(3) + 1j).astype(np.complex64)
    tensors["scalar"] = np.float64(2.5)  # shape ()
    tensors["empty"] = np.zeros((0, 3), np.float32)
    path = tmp_path / "w.safetensors"
    tensors_c = dict(tensors)
    del tensors_c["c64"]  # safetensors.numpy reads C64, compare through slm only
    sio.save_safetensors(path, tensors, metadata={"a": "b"})
    ref = st_numpy.load_file(str(path))
    for k, v in tensors_c.items():
        assert np.array_equal(ref[k], v) and ref[k].shape == np.shape(v), k
    from safetensors import safe_open
    with safe_open(str(path), "np") as f:
        assert f.metadata() == {"a": "b"}
    assert np.array_equal(sio.load_safetensors(path)["c64"], tensors["c64"])
    assert not os.path.exists(str(path) + ".tmp")
    # bf16 and float8 through dtypes=, read back by safetensors.torch
    st_torch = pytest.importorskip("safetensors.torch")
    x = rng.standard_normal((3, 7)).astype(np.float32)
    e4 = torch.from_numpy(x).to(torch.float8_e4m3fn)
    sio.save_safetensors(path, {"b": x, "e": e4.view(torch.uint8).numpy()},
                         dtypes={"b": "BF16", "e": "F8_E4M3"})
    back = st_torch.load_file(str(path))
    assert back["b"].dtype == torch.bfloat16
    assert torch.equal(back["b"], torch.from_numpy(x).to(torch.bfloat16))
    assert back["e"].dtype == torch.float8_e4m3fn
    assert torch.equal(back["e"].view(torch.uint8), e4.view(torch.uint8))


def test_writer_rejects_bad_input(tmp_path):
    p = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="dtype object"):
        sio.save_safetensors(p, {"a": np.array([None])})
    with pytest.raises(TypeError, match="metadata"):
        sio.save_safetensors(p, {"a": np.zeros(1)}, metadata={"a": 1})
    with pytest.raises(ValueError, match="choose from"):
        sio.save_safetensors(p, {"a": np.zeros(1, np.uint16)}, dtypes={"a": "F4"})
    with pytest.raises(ValueError, match="not given"):
        sio.save_safetensors(p, {"a": np.zeros(1)}, dtypes={"b": "BF16"})
    with pytest.raises(TypeError):
        sio.save_safetensors(p, [np.zeros(1)])
    assert not p.exists()


def test_safe_open_lazy(numpy_file):
    path, tensors = numpy_file
    with sio.safe_open(path) as f:
        assert f.metadata() == {"format": "np", "note": "x"}
        assert set(f.keys()) == set(tensors) and len(f) == len(tensors)
        assert "t.int8" in f and "nope" not in f
        assert f.dtype("t.float16") == "F16" and f.shape("t.int8") == (3, 5)
        a = f.get_tensor("t.int8")
        with pytest.raises(KeyError, match="nope"):
            f.get_tensor("nope")
    assert np.array_equal(a, tensors["t.int8"])  # valid after close


# --- malformed files ---------------------------------------------------------------------

def _write(path, header, data=b"", raw_header=None, length=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(h) if length is None else length
    path.write_bytes(n.to_bytes(8, "little") + h + data)
    return path


GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize("case,match", [
    ("empty", "shorter than the 8-byte"),
    ("short", "shorter than the 8-byte"),
    ("len_past_end", "points past the end"),
    ("len_huge", "points past the end"),
    ("bad_json", "not valid JSON"),
    ("bad_utf8", "not valid JSON"),
    ("not_object", "not an object"),
    ("duplicate", "twice"),
    ("unknown_dtype", "unknown or unsupported dtype 'F4'"),
    ("shape_mismatch", "needs 12 bytes"),
    ("huge_shape", "needs"),
    ("negative_shape", "non-negative"),
    ("offsets_past_end", "past the end of the data"),
    ("offsets_reversed", "0 <= begin <= end"),
    ("overlap", "overlaps"),
    ("gap", "gap"),
    ("trailing", "trailing"),
    ("bad_metadata", "__metadata__"),
    ("extra_field", "exactly dtype"),
])
def test_malformed(tmp_path, case, match):
    p = tmp_path / "bad.safetensors"
    d8 = b"\0" * 8
    if case == "empty":
        p.write_bytes(b"")
    elif case == "short":
        p.write_bytes(b"\x05\0\0")
    elif case == "len_past_end":
        _write(p, GOOD, d8, length=10_000)
    elif case == "len_huge":
        _write(p, GOOD, d8, length=2**63)
    elif case == "bad_json":
        _write(p, None, d8, raw_header=b'{"a": {')
    elif case == "bad_utf8":
        _write(p, None, d8, raw_header=b'{"\xff": 1}')
    elif case == "not_object":
        _write(p, [1, 2], d8)
    elif case == "duplicate":
        h = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' \
            b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
        _write(p, None, d8, raw_header=h)
    elif case == "unknown_dtype":
        _write(p, {"a": {"dtype": "F4", "shape": [2], "data_offsets": [0, 8]}}, d8)
    elif case == "shape_mismatch":
        _write(p, {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, d8)
    elif case == "huge_shape":
        _write(p, {"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}, d8)
    elif case == "negative_shape":
        _write(p, {"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, d8)
    elif case == "offsets_past_end":
        _write(p, {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, d8)
    elif case == "offsets_reversed":
        _write(p, {"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, d8)
    elif case == "overlap":
        _write(p, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, d8)
    elif case == "gap":
        _write(p, {"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, d8)
    elif case == "trailing":
        _write(p, {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, d8)
    elif case == "bad_metadata":
        _write(p, {"__metadata__": {"k": 1}, **GOOD}, d8)
    elif case == "extra_field":
        _write(p, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1}}, d8)
    with pytest.raises(CheckpointError, match=match) as e:
        sio.load_safetensors(p)
    assert str(p) in str(e.value)
    # the reader still works after each error
    _write(p, GOOD, np.array([1, 2], np.float32).tobytes())
    assert np.array_equal(sio.load_safetensors(p)["a"], [1, 2])


def test_directory_and_missing(tmp_path):
    with pytest.raises(CheckpointError, match="directory"):
        sio.load_safetensors(tmp_path)
    with pytest.raises(FileNotFoundError):
        sio.load_safetensors(tmp_path / "nope.safetensors")
