"""slm.io.load_torch against torch.load: checkpoints written by torch.save in the zip and
the legacy format, every dtype, shared storages, nested containers, config objects;
corrupt and lying files raise CheckpointError without allocating what they claim."""
import argparse
import collections
import io
import struct
import zipfile

import numpy as np
import pytest

import slm.io as sio
from slm.io import CheckpointError

LOW = ("bfloat16", "float8_e4m3fn", "float8_e5m2")


def _as_numpy(t, torch):
    if str(t.dtype).split(".")[1] in LOW:
        return t.float().numpy()
    return t.numpy()


def _same(ours, ref, torch, where="root"):
    """Structure and every tensor exactly equal (tensors as arrays, configs as dicts)."""
    if isinstance(ref, torch.Tensor):
        want = _as_numpy(ref.detach(), torch)
        assert isinstance(ours, np.ndarray), where
        assert ours.dtype == want.dtype and ours.shape == want.shape, where
        assert np.array_equal(ours, want, equal_nan=True), where
    elif isinstance(ref, argparse.Namespace):
        _same(ours, vars(ref), torch, where)
    elif isinstance(ref, dict):
        assert isinstance(ours, dict) and list(ours) == list(ref), where
        assert type(ours) is type(ref) or type(ref) is not collections.OrderedDict, where
        for k in ref:
            _same(ours[k], ref[k], torch, f"{where}[{k!r}]")
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref), where
        for i, (a, b) in enumerate(zip(ours, ref)):
            _same(a, b, torch, f"{where}[{i}]")
    elif isinstance(ref, np.ndarray):
        assert ours.dtype == ref.dtype and np.array_equal(ours, ref), where
    elif isinstance(ref, torch.dtype):
        assert ours == str(ref), where
    else:
        assert type(ours) is type(ref) and ours == ref, where


def _all_dtypes(torch, legacy):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, generator=g)
    out = {"float32": x, "float64": x.double(), "float16": x.half(), "bfloat16": x.bfloat16(),
           "int8": (x * 50).to(torch.int8), "uint8": (x * 50).abs().to(torch.uint8),
           "int16": (x * 1000).to(torch.int16), "int32": (x * 1e6).to(torch.int32),
           "int64": (x * 1e12).to(torch.int64), "bool": x > 0,
           "complex64": torch.complex(x, -x), "complex128": torch.complex(x, x).to(torch.complex128)}
    if not legacy:  # torch.load cannot read these from the legacy format itself
        out.update({"uint16": (x * 1000).abs().to(torch.uint16),
                    "uint32": (x * 1e6).abs().to(torch.uint32),
                    "uint64": (x * 1e12).abs().to(torch.uint64),
                    "float8_e4m3fn": x.to(torch.float8_e4m3fn),
                    "float8_e5m2": x.to(torch.float8_e5m2)})
    return out


@pytest.fixture(params=["zip", "legacy"])
def fmt(request):
    return request.param


def _save(torch, obj, path, fmt):
    torch.save(obj, path, _use_new_zipfile_serialization=(fmt == "zip"))


def test_every_dtype(tmp_path, torch, fmt):
    sd = _all_dtypes(torch, fmt == "legacy")
    sd.update({f"{k}_scalar": v[0, 0].clone() for k, v in list(sd.items())})
    sd["empty"] = torch.zeros(0, 3)
    p = tmp_path / "m.pt"
    _save(torch, sd, p, fmt)
    assert sio.checkpoint_kind(p) == ("torch-zip" if fmt == "zip" else "torch-legacy")
    ours = sio.load_torch(p)
    _same(ours, torch.load(p, weights_only=True), torch)
    for k in sd:
        if k not in ("empty",) and ours[k].size and "scalar" not in k:
            want_copy = k in LOW  # upcast: a new float32 array
            assert ours[k].flags.writeable is False or want_copy, k
    raw = sio.load_torch(p, upcast=False)
    assert raw["bfloat16"].dtype == np.uint16
    assert np.array_equal(raw["bfloat16"], sd["bfloat16"].view(torch.int16).numpy().view(np.uint16))


def test_shared_storages(tmp_path, torch, fmt):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    b16 = base.bfloat16()
    obj = {"base": base, "row": base[2], "col": base[:, 3], "t": base.t(),
           "slice": base[1:3, 2:5], "step": base[::2, ::3], "expand": base[0:1].expand(3, 6),
           "b16": b16, "b16_t": b16.t(), "flat": base.view(-1)[5:]}
    p = tmp_path / "s.pt"
    _save(torch, obj, p, fmt)
    ours = sio.load_torch(p)
    _same(ours, torch.load(p, weights_only=True), torch)
    for k in ("row", "col", "t", "slice", "step", "expand", "flat"):
        assert np.shares_memory(ours[k], ours["base"]), k  # one storage, as in torch
    assert np.shares_memory(ours["b16"], ours["b16_t"])  # the upcast copy is shared too
    assert ours["t"].strides == (4, 24) and not ours["t"].flags.writeable
    # mmap=False: writable, still shared like torch's views
    mine = sio.load_torch(p, mmap=False)
    mine["base"][0, 3] = -1
    assert mine["t"][3, 0] == -1 and mine["col"][0] == -1


def test_nested_containers_and_config(tmp_path, torch, fmt):
    lin = torch.nn.Linear(3, 4)
    obj = {
        "model": lin.state_dict(),  # an OrderedDict of tensors (with _metadata)
        "param": torch.nn.Parameter(torch.ones(2)),
        "args": argparse.Namespace(lr=0.1, layers=[1, 2], name="x", flag=None),
        "nested": [1, (2.5, "s", b"bytes", None), {"k": [torch.zeros(1), {"deep": True}]}],
        "tuple": (1, 2), "od": collections.OrderedDict(b=1, a=2), "set": {1, 2},
        "np": np.arange(6, dtype=np.int16).reshape(2, 3), "npf": np.float64(0.25),
        "npi": np.int64(7), "dtype": torch.float16, "big": 2**70, "neg": -3,
    }
    attr = torch.arange(3.0)
    attr.note = "tensor with a __dict__"  # pickled through _rebuild_from_type_v2
    obj["attr"] = attr
    pstate = torch.nn.Parameter(torch.ones(2))
    pstate.tag = 1  # _rebuild_parameter_with_state
    obj["pstate"] = pstate
    p = tmp_path / "n.pt"
    _save(torch, obj, p, fmt)
    ours = sio.load_torch(p)
    ref = torch.load(p, weights_only=False)
    for k in ("param", "attr", "pstate"):
        _same(ours.pop(k), ref.pop(k), torch, k)
    ref_np = {k: ref.pop(k) for k in ("np", "npf", "npi", "set")}
    ours_np = {k: ours.pop(k) for k in ("np", "npf", "npi", "set")}
    _same(ours, ref, torch)
    assert np.array_equal(ours_np["np"], ref_np["np"]) and ours_np["np"].dtype == np.int16
    assert ours_np["npf"] == 0.25 and ours_np["npf"].dtype == np.float64
    assert ours_np["npi"] == 7 and ours_np["set"] == {1, 2}
    assert type(ours["model"]) is collections.OrderedDict
    assert type(ours["args"]) is dict


def test_omegaconf_dictconfig(tmp_path, torch, fmt):
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.create({
        "_name": None,
        "model": {"_name": "hubert", "label_rate": 50.0, "encoder_layers": 12,
                  "conv_feature_layers": "[(512,10,5)] + [(512,3,2)] * 4",
                  "final_dim": "${model.encoder_layers}", "flag": True, "lst": [1, "a", None],
                  "nested": {"x": [[1, 2], {"y": 3}]}, "missing": "???"},
        "task": {"labels": ["km"], "sample_rate": 16000, "normalize": False},
    })
    omegaconf.OmegaConf.set_struct(cfg, True)  # as fairseq does
    # the shape of a fairseq checkpoint (checkpoint_utils.save_checkpoint)
    obj = {"args": None, "cfg": cfg, "model": {"w": torch.ones(2, 2)},
           "optimizer_history": [{"criterion_name": "HubertCriterion", "num_updates": 400000}],
           "extra_state": {"epoch": 3, "metrics": {}}, "list_cfg": omegaconf.ListConfig([1, 2])}
    p = tmp_path / "fairseq.pt"
    _save(torch, obj, p, fmt)
    ours = sio.load_torch(p)
    assert ours["cfg"] == omegaconf.OmegaConf.to_container(cfg)
    assert ours["args"] is None and ours["optimizer_history"][0]["num_updates"] == 400000
    assert type(ours["cfg"]) is dict and type(ours["cfg"]["model"]["lst"]) is list
    assert ours["list_cfg"] == [1, 2]
    assert np.array_equal(ours["model"]["w"], np.ones((2, 2), np.float32))


def test_storage_saved_directly(tmp_path, torch):
    s = torch.arange(5, dtype=torch.int32)
    p = tmp_path / "st.pt"
    torch.save({"s": s.untyped_storage(), "t": torch.ones(2)}, p)
    ours = sio.load_torch(p)  # an untyped storage is its bytes
    assert ours["s"].dtype == np.uint8
    assert np.array_equal(ours["s"].view(np.int32), np.arange(5, dtype=np.int32))
    assert np.array_equal(ours["t"], np.ones(2, np.float32))


def _rezip(src, dst, edit):
    """Copy a zip member by member, letting edit(name, data) -> (name, data) or None."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w") as zo:
        for info in zi.infolist():
            r = edit(info.filename, zi.read(info))
            if r is not None:
                zo.writestr(r[0], r[1], compress_type=r[2] if len(r) > 2 else zipfile.ZIP_STORED)


def test_big_endian_zip(tmp_path, torch):
    sd = {"f": torch.randn(3, 4), "d": torch.randn(5).double(), "i": torch.arange(6),
          "h": torch.randn(4).half(), "b": torch.randn(3).bfloat16(), "u8": torch.arange(3).byte()}
    src, dst = tmp_path / "le.pt", tmp_path / "be.pt"
    torch.save(sd, src)
    # storages are saved in first-seen order: keys '0'..'5' follow sd's order
    sizes = {str(i): v.element_size() for i, v in enumerate(sd.values())}

    def edit(name, data):
        if name.endswith("/byteorder"):
            return name, b"big"
        if "/data/" in name:
            n = sizes[name.rsplit("/", 1)[1]]
            return name, np.frombuffer(data, f"<u{n}").astype(f">u{n}").tobytes()
        return name, data
    _rezip(src, dst, edit)
    ref = torch.load(dst, weights_only=True)
    for k in sd:
        assert torch.equal(ref[k], sd[k]), k  # torch itself swaps back
    _same(sio.load_torch(dst), ref, torch)


def test_compressed_members(tmp_path, torch):
    sd = {"w": torch.randn(50, 40), "z": torch.zeros(1000)}
    src, dst = tmp_path / "a.pt", tmp_path / "deflated.pt"
    torch.save(sd, src)
    _rezip(src, dst, lambda n, d: (n, d, zipfile.ZIP_DEFLATED))
    ours = sio.load_torch(dst)
    _same(ours, torch.load(dst, weights_only=True), torch)
    assert ours["w"].flags.writeable  # decompressed into its own memory


# --- corrupt and lying files -------------------------------------------------------------

def _pkl(*ops):
    return b"\x80\x02" + b"".join(ops) + b"."


def _g(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def _s(x):
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _i(x):
    b = x.to_bytes((x.bit_length() + 8) // 8 or 1, "little", signed=True)
    return b"\x8a" + bytes([len(b)]) + b


def _tuple(*items):
    return b"(" + b"".join(items) + b"t"


def _tensor_pickle(numel, offset=0, size=(2,), stride=(1,), key="0"):
    pid = _tuple(_s("storage"), _g("torch", "FloatStorage"), _s(key), _s("cpu"), _i(numel)) + b"Q"
    return _pkl(b"}", _s("w"), _g("torch._utils", "_rebuild_tensor_v2"),
                _tuple(pid, _i(offset), _tuple(*map(_i, size)), _tuple(*map(_i, stride)),
                       b"\x89", _g("collections", "OrderedDict") + b")R"), b"R", b"s")


def _zip(path, pkl, records):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", b"little")
        for k, v in records.items():
            z.writestr(f"archive/data/{k}", v)
    return path


def test_hand_built_zip_reads(tmp_path):
    p = _zip(tmp_path / "ok.pt", _tensor_pickle(4, offset=1, size=(3,)),
             {"0": np.arange(4, dtype=np.float32).tobytes()})
    assert np.array_equal(sio.load_torch(p)["w"], [1, 2, 3])


@pytest.mark.parametrize("pkl,records,match", [
    (_tensor_pickle(2**40, size=(4,)), {"0": b"\0" * 16}, "claims 1099511627776 float32"),
    (_tensor_pickle(4, size=(5,)), {"0": b"\0" * 16}, "reaches element 5 of a storage of 4"),
    (_tensor_pickle(4, offset=3, size=(2,)), {"0": b"\0" * 16}, "reaches element 5"),
    (_tensor_pickle(4, size=(2, 2), stride=(3, 1)), {"0": b"\0" * 16}, "reaches element 5"),
    (_tensor_pickle(4, size=(2**30, 2**30), stride=(0, 0)), {"0": b"\0" * 16}, None),
    (_tensor_pickle(4, size=(2**40, 2**40), stride=(0, 0)), {"0": b"\0" * 16}, "too many"),
    (_tensor_pickle(4, size=(2, 2), stride=(1,)), {"0": b"\0" * 16}, "differ in length"),
    (_tensor_pickle(4, key="7"), {"0": b"\0" * 16}, "no record"),
    (_tensor_pickle(4)[:-5], {"0": b"\0" * 16}, "corrupt pickle"),
    (b"not a pickle", {}, "corrupt pickle"),
])
def test_lying_zip(tmp_path, pkl, records, match):
    p = _zip(tmp_path / "bad.pt", pkl, records)
    if match is None:  # 2**60 elements of stride 0: a view of one float, no allocation
        w = sio.load_torch(p)["w"]
        assert w.shape == (2**30, 2**30) and w.strides == (0, 0)
        return
    with pytest.raises(CheckpointError, match=match) as e:
        sio.load_torch(p)
    assert str(p) in str(e.value)


def test_zip_bomb_and_truncation(tmp_path, torch):
    src = tmp_path / "a.pt"
    torch.save({"z": torch.zeros(4096)}, src)
    bomb = tmp_path / "bomb.pt"
    _rezip(src, bomb, lambda n, d: (n, d, zipfile.ZIP_DEFLATED))
    raw = bytearray(bomb.read_bytes())
    # claim 4 GB for the storage in the central directory: refused before inflating
    pos = 0
    while True:
        pos = raw.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n = struct.unpack("<H", raw[pos + 28:pos + 30])[0]
        if raw[pos + 46:pos + 46 + n].endswith(b"data/0"):
            raw[pos + 24:pos + 28] = struct.pack("<I", 0xFFFFFFF0)
        pos += 4
    bomb.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="zip bomb|more than"):
        sio.load_torch(bomb)
    # truncated files, both formats
    for fmt in ("zip", "legacy"):
        p = tmp_path / f"t_{fmt}.pt"
        _save(torch, {"w": torch.randn(1000)}, p, fmt)
        data = p.read_bytes()
        p.write_bytes(data[:len(data) - 600])
        with pytest.raises(CheckpointError) as e:
            sio.load_torch(p)
        assert str(p) in str(e.value)
        p.write_bytes(data[:100])
        with pytest.raises(CheckpointError):
            sio.load_torch(p)


def test_not_a_checkpoint(tmp_path):
    p = tmp_path / "x.pt"
    p.write_bytes(b"hello world, not a checkpoint")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        sio.load_torch(p)
    p.write_bytes(b"")
    with pytest.raises(CheckpointError):
        sio.load_torch(p)
    with pytest.raises(CheckpointError, match="directory"):
        sio.load_torch(tmp_path)
    # a plain zip without data.pkl
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(CheckpointError, match="without data.pkl"):
        sio.load_torch(p)
    # legacy magic, wrong protocol version
    p.write_bytes(io.BytesIO(b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
                             + b"." + _pkl(_i(999))).getvalue())
    with pytest.raises(CheckpointError, match="protocol version"):
        sio.load_torch(p)


@pytest.mark.parametrize("proto", [1, 2, 4, 5])
def test_pickle_protocols(tmp_path, torch, fmt, proto):
    # torch.save(pickle_protocol=...) changes how containers, bytes and objects are spelled
    obj = {"w": torch.randn(3, 2).t(), "ns": argparse.Namespace(a=1, b=(2, 3)), "s": {1, 2},
           "fs": frozenset([3]), "b": b"xx", "np": np.arange(3), "od": collections.OrderedDict(z=1)}
    p = tmp_path / "p.pt"
    torch.save(obj, p, pickle_protocol=proto, _use_new_zipfile_serialization=(fmt == "zip"))
    ours = sio.load_torch(p)
    assert np.array_equal(ours["w"], obj["w"].numpy()) and ours["ns"] == {"a": 1, "b": (2, 3)}
    assert ours["s"] == {1, 2} and ours["fs"] == frozenset([3]) and ours["b"] == b"xx"
    assert np.array_equal(ours["np"], np.arange(3)) and ours["od"] == {"z": 1}
