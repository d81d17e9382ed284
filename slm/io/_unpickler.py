"""A restricted unpickler for PyTorch checkpoints: tensors and plain data, nothing else.

Pickle is a program: GLOBAL/STACK_GLOBAL name any importable object and REDUCE calls it,
so ``pickle.load`` on a downloaded checkpoint runs whatever its author chose. This
unpickler never imports anything. ``find_class`` answers from a fixed table (ALLOWED)
of inert stand-ins written here, and raises UnsafePickleError naming every other global
(os.system, builtins.eval, subprocess.Popen, operator.attrgetter, ...), so no callable
from outside this file can reach REDUCE, NEWOBJ, INST/OBJ or BUILD.

What the stand-ins do:
- torch._utils._rebuild_tensor{,_v2,_v3}, _rebuild_parameter{,_with_state},
  _rebuild_from_type_v2 record a TensorRef (storage, offset, size, stride, dtype); the
  storage layout is checked at once, the array is made later by the format reader
  (slm.io.pytorch), because the legacy format stores the data after the pickle.
- torch.<X>Storage / torch.storage.UntypedStorage / torch.<dtype> are dtype markers;
  storages arrive through persistent_load (given by the format reader).
- argparse.Namespace and omegaconf's DictConfig/ListConfig/nodes/metadata become stub
  objects whose __setstate__ keeps the pickled state; to_plain() turns them into plain
  dicts/lists (a DictConfig as OmegaConf.to_container(cfg) gives it: interpolations
  stay unresolved strings, "???" stays "???").
- numpy arrays, dtypes and scalars are rebuilt from their raw bytes, never through
  numpy's own reconstructors (object arrays are refused: they are pickles inside pickles).
- collections.OrderedDict, builtin containers and numbers, typing markers (as strings),
  _codecs.encode (only str -> latin-1 bytes, how protocol 2 spells bytes),
  pathlib paths (as strings), torch.device/Size (as str/tuple).
Callables are wrapped in objects that refuse attribute writes and classes use a
metaclass that refuses them too, so a BUILD opcode cannot rewire them.
"""
import _compat_pickle
import collections
import pickle

import numpy as np

from ._common import CheckpointError, UnsafePickleError, short

# stub_class, as_dtype and int_tuple are the extension points other restricted loaders
# (slm.tokenizers' scikit-learn pickles) build on.
__all__ = ["RestrictedUnpickler", "TensorRef", "StorageRef", "TORCH_DTYPES", "to_plain",
           "stub_class", "as_dtype", "int_tuple"]

# torch dtype name -> (numpy dtype of the stored bits (little-endian), converter kind)
TORCH_DTYPES = {
    "float32": ("<f4", None), "float64": ("<f8", None), "float16": ("<f2", None),
    "bfloat16": ("<u2", "bf16"), "int8": ("i1", None), "uint8": ("u1", None),
    "int16": ("<i2", None), "int32": ("<i4", None), "int64": ("<i8", None),
    "bool": ("?", None), "uint16": ("<u2", None), "uint32": ("<u4", None),
    "uint64": ("<u8", None), "complex64": ("<c8", None), "complex128": ("<c16", None),
    "float8_e4m3fn": ("u1", "e4m3fn"), "float8_e5m2": ("u1", "e5m2"),
}
_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16",
                  "long": "int64", "int": "int32", "short": "int16", "cfloat": "complex64",
                  "cdouble": "complex128"}
_STORAGE_CLASSES = {"FloatStorage": "float32", "DoubleStorage": "float64",
                    "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
                    "CharStorage": "int8", "ByteStorage": "uint8", "ShortStorage": "int16",
                    "IntStorage": "int32", "LongStorage": "int64", "BoolStorage": "bool",
                    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128"}


class _Frozen(type):
    """Metaclass of every stand-in class: a pickle's BUILD cannot set class attributes."""

    def __setattr__(cls, name, value):
        raise UnsafePickleError(f"pickle tried to set attribute {name!r} on {cls.__name__}")

    def __delattr__(cls, name):
        raise UnsafePickleError(f"pickle tried to delete attribute {name!r} of {cls.__name__}")


class _Inert(metaclass=_Frozen):
    """Base of stand-in instances: no attribute writes from outside this file."""
    __slots__ = ()

    def __setattr__(self, name, value):
        raise UnsafePickleError(f"pickle tried to set attribute {name!r} on "
                                f"{type(self).__name__}")

    def __delattr__(self, name):
        raise UnsafePickleError(f"pickle tried to delete attribute {name!r}")

    def _set(self, name, value):
        object.__setattr__(self, name, value)


class _Callable(_Inert):
    """An allowed global that is a function: calls fn, cannot be modified."""
    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self._set("fn", fn)
        self._set("name", name)

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return f"<slm.io stand-in for {self.name}>"


class _Marker(_Inert):
    """An allowed global used only as a value (torch dtypes, storage classes, typing
    names, torch.Tensor): calling it is refused."""
    __slots__ = ("name", "info")

    def __init__(self, name, info=None):
        self._set("name", name)
        self._set("info", info)

    def __call__(self, *args):
        raise UnsafePickleError(f"pickle tried to call {self.name}, which slm.io only "
                                "accepts as a value")

    def __repr__(self):
        return self.name


class _Stub(_Inert):
    """Instance made by NEWOBJ/REDUCE of an allowed class; BUILD's state is kept."""
    __slots__ = ("state",)
    kind = "stub"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(
                state[0], dict)) and isinstance(state[1], dict):  # (dict, slotstate)
            merged = dict(state[0] or {})
            merged.update(state[1])
            state = merged
        if not isinstance(state, dict):
            raise CheckpointError(f"pickled {self.kind} has a state of type "
                                  f"{type(state).__name__}, expected a dict")
        self._set("state", state)


def stub_class(name, kind):
    """An inert class standing for the global ``name``: instances keep their pickled
    state as plain data and run nothing."""
    return _Frozen(name, (_Stub,), {"__slots__": (), "kind": kind})


class TensorRef(_Inert):
    """A tensor read from the pickle: made into an array by the format reader."""
    __slots__ = ("storage", "offset", "size", "stride", "dtype")


class StorageRef(_Inert):
    """A storage named by persistent_load: key, torch dtype name, element count, and
    (legacy storage views) the root key plus an element offset."""
    __slots__ = ("key", "dtype", "numel", "root", "offset")

    def __init__(self, key, dtype, numel, root=None, offset=0):
        for k, v in (("key", key), ("dtype", dtype), ("numel", numel), ("root", root),
                     ("offset", offset)):
            self._set(k, v)


def int_tuple(x, what):
    if isinstance(x, int) and not isinstance(x, bool):
        x = (x,)
    if not isinstance(x, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**62 for v in x):
        raise CheckpointError(f"tensor {what} must be non-negative integers, got {short(x)}")
    return tuple(x)


def _tensor(storage, offset, size, stride, dtype=None):
    if not isinstance(storage, StorageRef):
        raise CheckpointError(f"tensor storage is a {type(storage).__name__}, not a storage")
    if isinstance(dtype, _Marker) and dtype.info and dtype.info[0] == "dtype":
        dtype = dtype.info[1]
    elif dtype is not None:
        raise CheckpointError(f"tensor dtype {short(dtype)} is not a torch dtype slm reads")
    dtype = dtype or storage.dtype
    size, stride = int_tuple(size, "size"), int_tuple(stride, "stride")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise CheckpointError(f"tensor storage offset must be a non-negative int, got {short(offset)}")
    if len(size) != len(stride):
        raise CheckpointError(f"tensor size {size} and stride {stride} differ in length")
    numel = 1
    for s in size:
        numel *= s
    if numel >= 2**62:
        raise CheckpointError(f"tensor size {size} has too many elements")
    # elements of this dtype the storage holds (an untyped storage counts bytes)
    itemsize = np.dtype(TORCH_DTYPES[dtype][0]).itemsize
    have = storage.numel * np.dtype(TORCH_DTYPES[storage.dtype][0]).itemsize // itemsize
    if numel:
        extent = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
        if extent > have:
            raise CheckpointError(f"tensor of size {size}, stride {stride}, offset {offset} "
                                  f"reaches element {extent} of a storage of {have} "
                                  f"{dtype} elements")
    t = TensorRef.__new__(TensorRef)
    for k, v in (("storage", storage), ("offset", offset), ("size", size),
                 ("stride", stride), ("dtype", dtype)):
        t._set(k, v)
    return t


def _rebuild_tensor(storage, offset, size, stride):
    return _tensor(storage, offset, size, stride)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _tensor(storage, offset, size, stride)


def _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    return _tensor(storage, offset, size, stride, dtype)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, TensorRef):
        raise CheckpointError("a Parameter's data is not a tensor")
    return data


def _rebuild_from_type_v2(func, new_type, args, state=None):
    if not (isinstance(func, _Callable) and func.fn in (_rebuild_tensor, _rebuild_tensor_v2,
                                                        _rebuild_tensor_v3,
                                                        _rebuild_parameter)):
        raise UnsafePickleError(f"_rebuild_from_type_v2 with function {short(func)}")
    if not (isinstance(new_type, _Marker) and new_type.name in (
            "torch.Tensor", "torch.nn.parameter.Parameter")):
        raise UnsafePickleError(f"tensor subclass {short(new_type)} is not allowed")
    if not isinstance(args, tuple):
        raise CheckpointError("_rebuild_from_type_v2 args must be a tuple")
    return func(*args)


def _codecs_encode(obj, encoding="utf-8"):
    # protocol 2 has no bytes opcode: bytes b are pickled as encode(b.decode('latin1'), 'latin1')
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise UnsafePickleError(f"_codecs.encode({type(obj).__name__}, {short(encoding)}) "
                                "is not allowed")
    return obj.encode(encoding)


def _bytes(*args):
    if args and not isinstance(args[0], (bytes, bytearray, str, list)):
        raise UnsafePickleError("bytes() of a non-bytes argument is not allowed "
                                "(it can allocate any size)")
    return bytes(*args)


def _bytearray(*args):
    if args and not isinstance(args[0], (bytes, bytearray, str, list)):
        raise UnsafePickleError("bytearray() of a non-bytes argument is not allowed")
    return bytearray(*args)


def _str(*args):
    # str(obj) of a container is its repr, which a small pickle can make enormous
    if not args:
        return ""
    x = args[0]
    if isinstance(x, (bytes, bytearray)):
        return str(x, *args[1:])
    if len(args) == 1 and (x is None or isinstance(x, (str, int, float, complex))):
        return str(x)
    raise UnsafePickleError(f"str() of a {type(x).__name__} is not allowed (its text can be "
                            "far larger than the pickle)")


def _plain_parts(args, what):
    if not all(a is None or isinstance(a, (str, int)) for a in args):
        raise CheckpointError(f"{what} parts must be strings or integers")
    return [str(a) for a in args if a is not None]


def _defaultdict(*args):
    return {}  # the factory is dropped: plain data


def _device(*args):
    return ":".join(_plain_parts(args, "torch.device"))


def _size(*args):
    return tuple(args[0]) if args else ()


def _path(*parts):
    return "/".join(_plain_parts(parts, "path"))


def _reconstructor(cls, base, state=None):
    # protocol 0/1 spelling of object creation (copyreg._reconstructor)
    if not (isinstance(cls, type) and issubclass(cls, _Stub)):
        raise UnsafePickleError(f"copyreg._reconstructor of {short(cls)} is not allowed")
    return cls()


# --- numpy: rebuilt from bytes, never through numpy's reconstructors ---------------------

class _DtypeStub(_Stub):
    __slots__ = ("args",)
    kind = "numpy dtype"

    def resolve(self):
        spec, align, copy = (tuple(self.args) + (False, True))[:3]
        if not isinstance(spec, str):
            raise CheckpointError(f"numpy dtype spec {short(spec)} is not a string")
        d = np.dtype(spec, align=bool(align), copy=True)  # a fresh descriptor to set state on
        if d.hasobject:
            raise UnsafePickleError("numpy object arrays are not allowed (they hold pickles)")
        st = getattr(self, "state", None)
        if st is not None:
            d.__setstate__(tuple(_resolve_dtypes(st["__state"])))
        if d.hasobject:
            raise UnsafePickleError("numpy object arrays are not allowed (they hold pickles)")
        return d

    def __setstate__(self, state):
        if not isinstance(state, tuple):
            raise CheckpointError("numpy dtype state must be a tuple")
        self._set("state", {"__state": state})


def _resolve_dtypes(x):
    if isinstance(x, _DtypeStub):
        return x.resolve()
    if isinstance(x, tuple):
        return tuple(_resolve_dtypes(v) for v in x)
    if isinstance(x, dict):
        return {k: _resolve_dtypes(v) for k, v in x.items()}
    return x


def _np_dtype(*args):
    d = _DtypeStub.__new__(_DtypeStub)
    d._set("args", args)
    return d


def as_dtype(d):
    if isinstance(d, _DtypeStub):
        return d.resolve()
    if isinstance(d, np.dtype) and not d.hasobject:
        return d
    raise CheckpointError(f"expected a numpy dtype, got {short(d)}")


class _ArrayStub(_Stub):
    __slots__ = ("array",)
    kind = "numpy array"

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise CheckpointError("numpy array state must be a 4- or 5-tuple")
        shape, dtype, fortran, raw = state[-4:]
        dtype = as_dtype(dtype)
        shape = int_tuple(shape, "numpy shape")
        if not isinstance(raw, (bytes, bytearray)):
            raise UnsafePickleError("numpy array data is not raw bytes (object arrays are "
                                    "not allowed)")
        self._set("array", _from_bytes(raw, dtype, shape, "F" if fortran else "C"))


def _from_bytes(raw, dtype, shape, order):
    numel = 1
    for s in shape:
        numel *= s
    if numel * dtype.itemsize != len(raw):
        raise CheckpointError(f"numpy array of shape {shape} and dtype {dtype} needs "
                              f"{numel * dtype.itemsize} bytes, the pickle holds {len(raw)}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy(order=order)


def _np_reconstruct(subtype, shape, dtype):
    if not (isinstance(subtype, _Marker) and subtype.name == "numpy.ndarray"):
        raise UnsafePickleError(f"numpy _reconstruct of {short(subtype)} is not allowed")
    return _ArrayStub.__new__(_ArrayStub)


def _np_scalar(dtype, raw=None):
    dtype = as_dtype(dtype)
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != dtype.itemsize:
        raise CheckpointError(f"numpy scalar of {dtype} needs {dtype.itemsize} raw bytes")
    return np.frombuffer(raw, dtype=dtype)[0]


def _np_frombuffer(buf, dtype, shape, order="C"):
    if isinstance(buf, pickle.PickleBuffer):
        buf = bytes(buf.raw())
    if not isinstance(buf, (bytes, bytearray)):
        raise CheckpointError("numpy _frombuffer needs bytes")
    return _from_bytes(buf, as_dtype(dtype), int_tuple(shape, "numpy shape"), order)


# --- the table --------------------------------------------------------------------------

def _build_allowed():
    a = {}

    def fn(name, f):
        a[name] = ("callable", f)

    for m in ("torch._utils", "torch._tensor"):
        fn(f"{m}._rebuild_tensor", _rebuild_tensor)
        fn(f"{m}._rebuild_tensor_v2", _rebuild_tensor_v2)
        fn(f"{m}._rebuild_tensor_v3", _rebuild_tensor_v3)
        fn(f"{m}._rebuild_parameter", _rebuild_parameter)
        fn(f"{m}._rebuild_parameter_with_state", _rebuild_parameter)
        fn(f"{m}._rebuild_from_type_v2", _rebuild_from_type_v2)
    for cls, dt in _STORAGE_CLASSES.items():
        for m in ("torch", "torch.cuda"):
            a[f"{m}.{cls}"] = ("marker", ("storage", dt))
    a["torch.storage.UntypedStorage"] = ("marker", ("storage", "uint8"))
    a["torch.UntypedStorage"] = ("marker", ("storage", "uint8"))
    for dt in list(TORCH_DTYPES) + list(_DTYPE_ALIASES):
        a[f"torch.{dt}"] = ("marker", ("dtype", _DTYPE_ALIASES.get(dt, dt)))
    a["torch.Tensor"] = ("marker", None)
    a["torch.nn.parameter.Parameter"] = ("marker", None)
    fn("torch.Size", _size)
    fn("torch.device", _device)
    a["collections.OrderedDict"] = ("value", collections.OrderedDict)
    fn("collections.defaultdict", _defaultdict)
    # types whose call is linear in its arguments (str is wrapped: str(container) is a repr)
    for t in (dict, list, tuple, set, frozenset, int, float, bool, complex, slice, object):
        a[f"builtins.{t.__name__}"] = ("value", t)
    fn("builtins.str", _str)
    fn("builtins.bytes", _bytes)
    fn("builtins.bytearray", _bytearray)
    fn("_codecs.encode", _codecs_encode)
    fn("copyreg._reconstructor", _reconstructor)
    for n in ("Any", "Dict", "List", "Tuple", "Optional", "Union", "Set", "Sequence",
              "Mapping", "Callable", "Type"):
        a[f"typing.{n}"] = ("marker", ("typing", f"typing.{n}"))
    a["argparse.Namespace"] = ("value", stub_class("Namespace", "namespace"))
    a["omegaconf.dictconfig.DictConfig"] = ("value", stub_class("DictConfig", "dictconfig"))
    a["omegaconf.listconfig.ListConfig"] = ("value", stub_class("ListConfig", "listconfig"))
    for n in ("Metadata", "ContainerMetadata"):
        a[f"omegaconf.base.{n}"] = ("value", stub_class(n, "metadata"))
    for n in ("AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode", "BytesNode",
              "PathNode", "EnumNode", "ValueNode", "InterpolationResultNode", "UnionNode"):
        a[f"omegaconf.nodes.{n}"] = ("value", stub_class(n, "node"))
    for m in ("numpy.core.multiarray", "numpy._core.multiarray"):
        fn(f"{m}._reconstruct", _np_reconstruct)
        fn(f"{m}.scalar", _np_scalar)
    for m in ("numpy.core.numeric", "numpy._core.numeric"):
        fn(f"{m}._frombuffer", _np_frombuffer)
    a["numpy.ndarray"] = ("marker", None)
    fn("numpy.dtype", _np_dtype)
    for n in ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"):
        fn(f"pathlib.{n}", _path)
    return a


ALLOWED = _build_allowed()


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves globals only from ALLOWED (plus extra_globals:
    {"module.name": callable or value} the caller trusts) and hands persistent ids to
    persistent(pid) (None: persistent ids are refused)."""

    def __init__(self, file, where, persistent=None, extra_globals=None):
        super().__init__(file, encoding="utf-8")  # torch.load's choice for Python 2 str
        self._where = where
        self._persistent = persistent
        self._extra = dict(extra_globals or {})
        self._made = {}

    def find_class(self, module, name):
        if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names (protocol <= 2)
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        if full in self._extra:
            return self._extra[full]
        if full not in self._made:
            entry = ALLOWED.get(full)
            if entry is None:
                raise UnsafePickleError(
                    f"{self._where}: refused to load global '{full}': slm.io rebuilds only "
                    "tensors and plain data (see docs/checkpoints.md); pass "
                    f"extra_globals={{'{full}': ...}} if you trust this file")
            kind, obj = entry
            if kind == "callable":
                obj = _Callable(obj, full)
            elif kind == "marker":
                obj = _Marker(full, obj)
            self._made[full] = obj
        return self._made[full]

    def persistent_load(self, pid):
        if self._persistent is None:
            raise UnsafePickleError(f"{self._where}: unexpected persistent id {short(pid)}")
        return self._persistent(pid)


def storage_dtype(marker, where):
    """torch dtype name of a storage class marker from a persistent id."""
    if isinstance(marker, _Marker) and marker.info and marker.info[0] == "storage":
        return marker.info[1]
    if isinstance(marker, str) and marker.endswith("Storage") and marker in _STORAGE_CLASSES:
        return _STORAGE_CLASSES[marker]
    raise CheckpointError(f"{where}: persistent id names storage type {short(marker)}, "
                          "which slm does not read (quantized or unknown)")


def to_plain(obj, tensor):
    """The unpickled object with every stand-in replaced by plain data; tensor(ref) makes
    the array of a TensorRef or StorageRef. Sharing and cycles are preserved."""
    memo = {}

    def conv(x):
        t = type(x)
        if t in (str, int, float, bool, bytes, type(None), complex) or isinstance(x, np.ndarray):
            return x
        i = id(x)
        if i in memo:
            return memo[i]
        if t is TensorRef or t is StorageRef:
            r = memo[i] = tensor(x)
        elif isinstance(x, dict):
            r = memo[i] = t() if t in (dict, collections.OrderedDict) else {}
            for k, v in x.items():
                r[conv(k)] = conv(v)
        elif t is list:
            r = memo[i] = []
            r.extend(conv(v) for v in x)
        elif t is tuple:
            r = memo[i] = tuple(conv(v) for v in x)
        elif t in (set, frozenset):
            r = memo[i] = t(conv(v) for v in x)
        elif isinstance(x, _ArrayStub):
            if not hasattr(x, "array"):
                raise CheckpointError("a numpy array in the pickle has no data")
            r = memo[i] = x.array
        elif isinstance(x, _DtypeStub):
            r = memo[i] = x.resolve()
        elif isinstance(x, _Stub):
            st = getattr(x, "state", None) or {}
            if x.kind in ("dictconfig", "listconfig"):
                r = memo[i] = conv(st.get("_content"))
            elif x.kind == "node":
                r = memo[i] = conv(st.get("_val"))
            else:  # argparse.Namespace, stray omegaconf metadata
                r = memo[i] = conv(st)
        elif isinstance(x, _Marker):
            r = memo[i] = x.name if x.info is None or x.info[0] != "dtype" else f"torch.{x.info[1]}"
        elif isinstance(x, _Callable):
            r = memo[i] = x.name
        elif isinstance(x, _Frozen):  # an allowed class used as a value
            r = memo[i] = x.__name__
        else:  # numpy scalars, slices, OrderedDict subclasses made by extra_globals, ...
            r = memo[i] = x
        return r

    try:
        return conv(obj)
    except RecursionError:
        raise CheckpointError("pickled data is nested too deeply") from None
