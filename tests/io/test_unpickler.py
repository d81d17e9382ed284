"""The restricted unpickler refuses and runs nothing: hostile pickles whose payload would
create a marker file (each payload is first shown to work with plain pickle.loads) raise
UnsafePickleError naming the global, and the marker file never appears, whether the
pickle is given directly, as a zip checkpoint's data.pkl or inside a legacy file."""
import copyreg
import io
import os
import pickle
import struct
import zipfile

import pytest

import slm.io as sio
from slm.io import CheckpointError, UnsafePickleError
from slm.io import _unpickler


def _g(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def _s(x):
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _sb(x):
    return b"\x8c" + bytes([len(x)]) + x.encode()


def _p2(*ops):
    return b"\x80\x02" + b"".join(ops) + b"."


class _Reduce:
    """An object whose pickle calls fn(*args) on load (the classic attack)."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def payloads(marker):
    """name -> (pickle bytes, the global it must be refused for)."""
    m = str(marker)
    cmd = f"touch {m}"
    code = f"open({m!r}, 'w').close()"
    out = {}
    for proto in range(0, 6):
        out[f"os.system-p{proto}"] = (pickle.dumps(_Reduce(os.system, cmd), protocol=proto),
                                      "posix.system")
    out["eval"] = (_p2(_g("builtins", "eval"), b"(", _s(code), b"tR"), "builtins.eval")
    out["exec"] = (_p2(_g("builtins", "exec"), b"(", _s(code), b"tR"), "builtins.exec")
    out["py2-eval"] = (_p2(_g("__builtin__", "eval"), b"(", _s(code), b"tR"), "builtins.eval")
    out["popen"] = (_p2(_g("subprocess", "Popen"), b"((", _s("touch"), _s(m), b"ltR"),
                    "subprocess.Popen")
    out["posix.system"] = (_p2(_g("posix", "system"), b"(", _s(cmd), b"tR"), "posix.system")
    inner = pickle.dumps(_Reduce(os.system, cmd), protocol=2)
    out["nested-pickle"] = (_p2(_g("pickle", "loads"), b"(C", bytes([len(inner)]), inner, b"tR"),
                            "pickle.loads")
    # attrgetter trick: __import__('os') then attrgetter('system')(os)(cmd)
    out["attrgetter"] = (_p2(_g("operator", "attrgetter"), b"(", _s("system"), b"tR",
                             b"(", _g("builtins", "__import__"), b"(", _s("os"), b"tR", b"tR",
                             b"(", _s(cmd), b"tR"), "operator.attrgetter")
    # protocol 0 INST opcode and protocol 4 STACK_GLOBAL spellings
    out["inst"] = (b"(S'" + cmd.encode() + b"'\nios\nsystem\n.", "os.system")
    out["stack-global"] = (b"\x80\x04" + b"\x8c\x02os\x8c\x06system\x93" + b"\x8c"
                           + bytes([len(cmd)]) + cmd.encode() + b"\x85R.", "os.system")
    # reaching other objects through an allowed one's attributes
    out["dotted"] = (b"\x80\x04" + _sb("collections") + _sb("OrderedDict.__init__.__globals__")
                     + b"\x93.", "collections.OrderedDict.__init__.__globals__")
    out["dotted-torch"] = (b"\x80\x04" + _sb("torch._utils") + _sb("_rebuild_tensor_v2.__globals__")
                           + b"\x93.", "torch._utils._rebuild_tensor_v2.__globals__")
    out["getattr"] = (_p2(_g("builtins", "getattr"), b"(", _g("os", "path"), _s("join"), b"tR"),
                      "builtins.getattr")
    out["runpy"] = (_p2(_g("runpy", "_run_code"), b"(", _s(code), b"}tR"), "runpy._run_code")
    out["numpy-load"] = (_p2(_g("numpy", "load"), b"(", _s(m), b"tR"), "numpy.load")
    out["torch-load"] = (_p2(_g("torch", "load"), b"(", _s(m), b"tR"), "torch.load")
    return out


def _load(data):
    return _unpickler.RestrictedUnpickler(io.BytesIO(data), "<test>").load()


def test_payloads_are_real(tmp_path):
    # the payloads work when loaded with plain pickle: the refusals below mean something
    for name in ("os.system-p2", "eval", "exec", "posix.system", "inst", "stack-global"):
        marker = tmp_path / f"real-{name}"
        data, _ = payloads(marker)[name]
        pickle.loads(data)
        assert marker.exists(), name


@pytest.mark.parametrize("name", sorted(payloads("x")))
def test_payload_refused(tmp_path, name):
    marker = tmp_path / "pwned"
    data, glob = payloads(marker)[name]
    with pytest.raises(UnsafePickleError) as e:
        _load(data)
    assert f"'{glob}'" in str(e.value)
    assert not marker.exists()


def _zip_ckpt(path, pkl):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", b"little")
    return path


def _legacy_ckpt(path, pkl):
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    head = magic + pickle.dumps(1001, protocol=2) + pickle.dumps(
        {"protocol_version": 1001, "little_endian": True}, protocol=2)
    path.write_bytes(head + pkl + pickle.dumps([], protocol=2))
    return path


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
@pytest.mark.parametrize("name", ["os.system-p2", "eval", "popen", "attrgetter", "runpy"])
def test_payload_in_checkpoint(tmp_path, fmt, name):
    marker = tmp_path / "pwned"
    data, glob = payloads(marker)[name]
    make = _zip_ckpt if fmt == "zip" else _legacy_ckpt
    p = make(tmp_path / "evil.pt", data)
    with pytest.raises(UnsafePickleError) as e:
        sio.load_torch(p)
    assert f"'{glob}'" in str(e.value) and str(p) in str(e.value)
    with pytest.raises(UnsafePickleError):
        sio.load_state_dict(p)
    assert not marker.exists()


def test_extension_registry(tmp_path):
    # EXT1 names a global through copyreg's registry: still goes through find_class
    marker = tmp_path / "pwned"
    copyreg.add_extension("posix", "system", 0xF1)
    try:
        data = b"\x80\x02\x82\xf1X" + struct.pack("<I", len(f"touch {marker}")) + \
            f"touch {marker}".encode() + b"\x85R."
        with pytest.raises(UnsafePickleError, match="posix.system"):
            _load(data)
    finally:
        copyreg.remove_extension("posix", "system", 0xF1)
    assert not marker.exists()


def test_build_cannot_rewire_allowed_objects():
    before = dict(_unpickler.ALLOWED)
    # BUILD with slot state on an allowed function stand-in: set its 'fn' to another one
    data = _p2(_g("torch._utils", "_rebuild_tensor_v2"), b"N}", _s("fn"),
               _g("_codecs", "encode"), b"s\x86b")
    with pytest.raises(CheckpointError, match="set attribute 'fn'"):
        _load(data)
    # BUILD on an allowed class (a stub) and on a marker
    for mod, name in (("argparse", "Namespace"), ("torch", "FloatStorage"),
                      ("collections", "OrderedDict")):
        data = _p2(_g(mod, name), b"N}", _s("__setstate__"), _g("_codecs", "encode"), b"s\x86b")
        # raw unpickler: the TypeError of calling the class's own __setstate__ unbound, or
        # our refusal (load_torch turns either into CheckpointError)
        with pytest.raises((CheckpointError, TypeError)):
            _load(data)
    assert _unpickler.ALLOWED == before
    # the stand-in still works after
    assert _load(_p2(_g("_codecs", "encode"), b"(", _s("ab"), _s("latin1"), b"tR")) == b"ab"


def test_calls_that_could_allocate_or_escape():
    # bytes(2**40) would allocate a terabyte
    with pytest.raises(UnsafePickleError, match="bytes"):
        _load(_p2(_g("builtins", "bytes"), b"(\x8a\x06\x00\x00\x00\x00\x00\x01tR"))
    # a marker is a value only, never callable
    with pytest.raises(CheckpointError, match="only accepts as a value"):
        _load(_p2(_g("torch", "FloatStorage"), b")R"))
    # numpy object arrays hold pickles: refused
    obj_arr = pickle.dumps(__import__("numpy").array([1, "a"], dtype=object), protocol=2)
    with pytest.raises(UnsafePickleError, match="object arrays"):
        _load(obj_arr)
    # _rebuild_from_type_v2 with a function that is not a tensor rebuilder
    data = _p2(_g("torch._utils", "_rebuild_from_type_v2"), b"(", _g("_codecs", "encode"),
               _g("torch", "Tensor"), b"(", _s("a"), b"tNtR")
    with pytest.raises(UnsafePickleError, match="_rebuild_from_type_v2"):
        _load(data)
    # persistent ids outside a checkpoint
    with pytest.raises(UnsafePickleError, match="persistent id"):
        _load(_p2(_s("x"), b"Q"))


def test_extra_globals_opt_in():
    data = _p2(_g("mypkg.enums", "Mode"), b"(", _s("fast"), b"tR")
    with pytest.raises(UnsafePickleError, match="mypkg.enums.Mode"):
        _load(data)
    up = _unpickler.RestrictedUnpickler(io.BytesIO(data), "<t>",
                                        extra_globals={"mypkg.enums.Mode": str})
    assert up.load() == "fast"


@pytest.mark.parametrize("proto", [2, 4, 5])
def test_numpy_values_rebuilt_from_bytes(proto):
    import numpy as np
    rec = np.array([(1, 2.0), (3, 4.5)], dtype=[("a", ">i4"), ("b", "<f8")])
    objs = [rec, np.arange(6, dtype=">i4").reshape(2, 3).T, np.float16(2.5), np.int8(-3),
            np.bool_(True), np.zeros((0, 2), np.complex64)]
    got = _unpickler.to_plain(_load(pickle.dumps(objs, protocol=proto)), None)
    for a, b in zip(got, objs):
        assert type(a) is type(b) and a.dtype == b.dtype and np.array_equal(a, b)
    assert got[1].flags.writeable  # a new array, not a view of the pickle's bytes


def test_nested_too_deeply(tmp_path):
    n = 20000
    data = b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."
    with zipfile.ZipFile(tmp_path / "deep.pt", "w") as z:
        z.writestr("archive/data.pkl", data)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        sio.load_torch(tmp_path / "deep.pt")


def test_amplification_refused():
    # a list of 100000 references to one 10 kB string: 0.3 MB of pickle, 1 GB as text
    big = b"X" + struct.pack("<I", 10000) + b"a" * 10000 + b"q\x00"
    lst = b"](" + b"h\x00" * 100000 + b"e"
    for fn in (("builtins", "str"), ("pathlib", "PosixPath"), ("torch", "device")):
        data = _p2(_g(*fn), b"(", big, b"0", lst, b"tR")
        with pytest.raises(CheckpointError):
            _load(data)
    # error messages show a bounded repr of hostile values
    data = _p2(_g("torch._utils", "_rebuild_from_type_v2"), b"(", big, b"0", lst, b"NNNtR")
    with pytest.raises(CheckpointError) as e:
        _load(data)
    assert len(str(e.value)) < 1000
    assert _load(_p2(_g("builtins", "str"), b"(", _s("ok"), b"tR")) == "ok"


# A fairseq-era config: {"cfg": DictConfig, "args": None} pickled (protocol 2, as torch.save)
# by omegaconf 2.0.6, the version fairseq pins, with set_struct(cfg, True). zlib + base64.
_OMEGACONF_206 = (
    "eNplleljE0UYxkPL1W1BK1awKlalsIVaaKHgSeTQoqVR12sV67LZTDJL98izR7XgSEHBKngjCt433n71v/OdSaZ0"
    "a75kJpn5Pc887xzzHQIl0+4slUpevYEVXhyyhuvFUX2k5nuZbPgN4zA1D7Wa6Bg6g06BlabdRZOckGVuzc1crFoy"
    "teqmzKAJmetHLJlqDzGwmuauEVhr2mtpbsLqTjbXZOjyHKea+0HmR45jSF0Dht1NQ+LqCeZlrVHdFTUrbmZ+HLkB"
    "ehaU7Rk2h3UVexU164HbSLFe4AZ7NXXTLMm9DDcupPZ6JZfGwSxLHM/1OEOv58VBQHSipUaN1d08yFraN3HjHDZY"
    "uFkJkkDLQF/F7qE+C1jIorapWyp51V4jg2i6Cf2KjS2XDuWQyf4mgVtN5c6J3JChf0lMUVxjqXEgmqtQw8BtlM7t"
    "AneY/H9ZXo9wMw26U2DA5F0eOfCjhgQYuIt3V3jPAl/H+zklcDfv5WoZ91jYklf5Rt5pr5QmZim5QWlaJkQyYRxh"
    "K5dF3SZgkjSXRRoS2E4K/Dp1q6Tu0NRhC/fyvgqXy5dsTsscMZVCylgNO7lczC6BUUmUnscEdheJOyVxjyaOW9ir"
    "WNv44OQK8idZ9eboXuxTrPsE7tesBwQeLLL2SdZDmvWwhf2atUAog1BB3HDqcRK6GcoK+IjAAQ08KHCoCCxL4GEN"
    "fNTCYxpIK86JKSsaUtkCTKj0jgg8rtN7QmCyiJuQuKMaN2Whsjy9J00qnPT1lMDT2pcl8EwRpIr7rAY9Z+F5hTjC"
    "B1VBeV5lSYYX9KLdKgucxM0YbAV/UeAlDT8m8HIRbkv4tIa/YsHR8MkxIm5QOyaaderMzfKEOYE7x5IUxxXaFahq"
    "tCdQK6KPSzTT6LqFxqLvzYQ9Zo6Pjg2P7hoeH5oe2DHQ6u4eHqPe9oE9oGWp26bu08F3an4IX2meEJjRmoFAWNT0"
    "pWakNWMLzUXNfoJtOaXqN8Iij74Th4VVVpNwAZBerzzqy/9ConRTgUzr5gKzRd1E6r6qdV+zMKd1p0qd7euilsTN"
    "OM9wUvFOCbyueULgjSLvpOSd1rx5C2c0b6L87xX5udo+L+mM38RZhXxT4C2NPCdwvog8K5Fva+SChXcWo5F3arlc"
    "xrutfS6xmZvO4ILa5hcF3tPb/H2BD4rYCxL7ocZ+ZOHj5dv8E1PtU7UxU1xacs8Ffqqfm6PU1M/NpyR0WeAzLfq5"
    "wJW2aOHVkNMNXG35uCR9fKF9fGnhK95XHB3TvYmvtbWLfNM0vlG5fSvwnc7te4EfCgucLEnwjxr8k4Wf1fzLlFuH"
    "fCpC/JJXXYpNPl6pGzYD1jp+1xT8V4HfNPx3gT+K6V2T8D81/C8Lf7fNDU7N71fV0AVxE3rn/qnkI/8BKfx3ug=="
)
_OMEGACONF_206_PLAIN = {
    "_name": None, "common": {"seed": 1, "fp16": True, "log_format": None},
    "model": {"_name": "hubert", "label_rate": 50,
              "conv_feature_layers": "[(512,10,5)] + [(512,3,2)] * 4",
              "final_dim": "${model.encoder_embed_dim}", "encoder_embed_dim": 768,
              "dropout": 0.1, "skip": "???"},
    "task": {"labels": ["km"], "sample_rate": 16000}}


def test_omegaconf_206_pickle_without_omegaconf():
    import base64
    import zlib
    data = zlib.decompress(base64.b64decode(_OMEGACONF_206))
    got = _unpickler.to_plain(_load(data), None)
    assert got == {"cfg": _OMEGACONF_206_PLAIN, "args": None}
    assert type(got["cfg"]["model"]) is dict
