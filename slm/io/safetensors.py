"""safetensors read and write, without the safetensors package.

Format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
length N, N bytes of JSON ({name: {"dtype", "shape", "data_offsets": [begin, end]}} plus an
optional "__metadata__" {str: str}), then one byte buffer; offsets are relative to the
buffer, and the tensors must tile it exactly (no gap, no overlap), as the reference reader
demands. All data is little-endian and C-contiguous.

Reading maps the file once, read-only, and hands out views of it (zero-copy) for every
dtype NumPy has: F64/F32/F16, I8..I64, U8..U64, BOOL, C64. BF16 and the float8 formats
have no NumPy dtype: with upcast=True (default) they become new float32 arrays (exact),
with upcast=False zero-copy uint16 (BF16) / uint8 (F8_*) views of the bit patterns.
The header is validated fully before any tensor is touched.
"""
import json
import os

import numpy as np

from ._common import CheckpointError, bf16_to_f32, f8_to_f32, map_file, short, view

__all__ = ["load_safetensors", "safe_open", "save_safetensors", "SafeOpen"]

MAX_HEADER = 100_000_000  # the reference reader's limit (HeaderTooLarge)

# safetensors dtype -> (numpy dtype of the stored bits, converter to float32 or None)
_DTYPES = {
    "BOOL": (np.dtype(np.bool_), None),
    "U8": (np.dtype("u1"), None), "I8": (np.dtype("i1"), None),
    "U16": (np.dtype("<u2"), None), "I16": (np.dtype("<i2"), None),
    "U32": (np.dtype("<u4"), None), "I32": (np.dtype("<i4"), None),
    "U64": (np.dtype("<u8"), None), "I64": (np.dtype("<i8"), None),
    "F16": (np.dtype("<f2"), None), "F32": (np.dtype("<f4"), None),
    "F64": (np.dtype("<f8"), None), "C64": (np.dtype("<c8"), None),
    "BF16": (np.dtype("<u2"), bf16_to_f32),
    "F8_E4M3": (np.dtype("u1"), lambda b: f8_to_f32(b, "e4m3fn")),
    "F8_E5M2": (np.dtype("u1"), lambda b: f8_to_f32(b, "e5m2")),
}
# numpy dtype -> safetensors dtype, for writing
_FROM_NUMPY = {np.dtype(np.bool_): "BOOL", np.dtype("u1"): "U8", np.dtype("i1"): "I8",
               np.dtype("u2"): "U16", np.dtype("i2"): "I16", np.dtype("u4"): "U32",
               np.dtype("i4"): "I32", np.dtype("u8"): "U64", np.dtype("i8"): "I64",
               np.dtype("f2"): "F16", np.dtype("f4"): "F32", np.dtype("f8"): "F64",
               np.dtype("c8"): "C64"}


def _no_duplicates(path):
    def hook(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                raise CheckpointError(f"{path}: safetensors header has the key {k!r} twice")
            out[k] = v
        return out
    return hook


def read_header(path):
    """(entries {name: (dtype str, shape tuple, begin, end)}, metadata dict or None,
    data start offset, file size) of a safetensors file, fully validated."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 8:
                raise CheckpointError(f"{path}: not a safetensors file ({size} bytes, "
                                      "shorter than the 8-byte header length)")
            n = int.from_bytes(f.read(8), "little")
            if n > size - 8:
                raise CheckpointError(f"{path}: safetensors header length {n} points past the "
                                      f"end of the file ({size} bytes)")
            if n > MAX_HEADER:
                raise CheckpointError(f"{path}: safetensors header length {n} exceeds the "
                                      f"format's limit of {MAX_HEADER} bytes")
            raw = f.read(n)
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a safetensors file") from None
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates(path))
    except CheckpointError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: safetensors header is not valid JSON "
                              f"({type(e).__name__}: {e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: safetensors header is a JSON {type(header).__name__}, "
                              "not an object")
    meta = header.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items())):
        raise CheckpointError(f"{path}: safetensors __metadata__ must map strings to strings")
    start, buflen = 8 + n, size - 8 - n
    entries = {}
    for name, e in header.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(e, dict) or set(e) - {"dtype", "shape", "data_offsets"} or len(e) != 3:
            raise CheckpointError(f"{where}: entry must have exactly dtype, shape and "
                                  f"data_offsets, got {short(e)}")
        dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in _DTYPES:
            raise CheckpointError(f"{where}: unknown or unsupported dtype {short(dt)} (slm reads "
                                  f"{', '.join(sorted(_DTYPES))})")
        if not isinstance(shape, list) or not all(
                type(d) is int and 0 <= d < 2**62 for d in shape):
            raise CheckpointError(f"{where}: shape must be a list of non-negative integers, "
                                  f"got {short(shape)}")
        if not (isinstance(offs, list) and len(offs) == 2 and all(type(o) is int for o in offs)
                and 0 <= offs[0] <= offs[1]):
            raise CheckpointError(f"{where}: data_offsets must be [begin, end] with "
                                  f"0 <= begin <= end, got {short(offs)}")
        if offs[1] > buflen:
            raise CheckpointError(f"{where}: data_offsets {offs} point past the end of the data "
                                  f"({buflen} bytes; file truncated?)")
        numel = 1
        for d in shape:
            numel *= d
        nbytes = numel * _DTYPES[dt][0].itemsize
        if nbytes != offs[1] - offs[0]:
            raise CheckpointError(f"{where}: shape {shape} of {dt} needs {nbytes} bytes but "
                                  f"data_offsets {offs} hold {offs[1] - offs[0]}")
        entries[name] = (dt, tuple(shape), offs[0], offs[1])
    # The tensors must tile the buffer exactly, as the reference reader checks.
    pos = 0
    for name, (_, _, b, e) in sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if b != pos:
            what = "overlaps the previous tensor" if b < pos else f"leaves a gap at byte {pos}"
            raise CheckpointError(f"{path}: tensor {name!r} at data_offsets [{b}, {e}] {what}")
        pos = e
    if pos != buflen:
        raise CheckpointError(f"{path}: tensors cover {pos} bytes but the data holds {buflen} "
                              "(trailing bytes)")
    return entries, meta, start, size


class SafeOpen:
    """Lazy reader: the header is parsed and validated at open; tensors are views of one
    read-only mapping made on first use. Like ``safetensors.safe_open(path, "np")``:
    keys(), metadata(), get_tensor(name); also ``in``, len(), [name], a context manager.
    Arrays stay valid after close() (they keep the mapping alive)."""

    def __init__(self, path, mmap=True, upcast=True):
        self.path = os.fspath(path)
        self._entries, self._meta, self._start, self._size = read_header(self.path)
        self._mmap, self._upcast, self._buf = mmap, upcast, None

    def keys(self):
        """Tensor names in file order (by data offset)."""
        return sorted(self._entries, key=lambda k: self._entries[k][2])

    def metadata(self):
        """The __metadata__ dict (str -> str) or None."""
        return None if self._meta is None else dict(self._meta)

    def dtype(self, name):
        """The stored safetensors dtype string of a tensor ('F32', 'BF16', ...)."""
        return self._entry(name)[0]

    def shape(self, name):
        return self._entry(name)[1]

    def _entry(self, name):
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"{self.path}: no tensor named {name!r}") from None

    def get_tensor(self, name):
        """The tensor as a NumPy array: a read-only view of the file (mmap=True) or of
        the in-memory copy; BF16/F8 as new float32 arrays when upcast else raw bits."""
        dt, shape, b, e = self._entry(name)
        if self._buf is None:
            buf, size = map_file(self.path, self._mmap)
            if size != self._size:
                raise CheckpointError(f"{self.path}: file changed size since it was opened")
            self._buf = buf
        store, conv = _DTYPES[dt]
        a = view(self._buf, store, self._start + b, (e - b) // store.itemsize).reshape(shape)
        if conv is not None and self._upcast:
            a = conv(a)
        return a

    __getitem__ = get_tensor

    def __contains__(self, name):
        return name in self._entries

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return iter(self.keys())

    def close(self):
        self._buf = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def safe_open(path, mmap=True, upcast=True):
    """Open a safetensors file lazily (see SafeOpen); usable as a context manager."""
    return SafeOpen(path, mmap=mmap, upcast=upcast)


def load_safetensors(path, mmap=True, upcast=True):
    """Read a .safetensors file -> {name: np.ndarray} in file order.

    mmap=True maps the file read-only and returns read-only views (no copy, pages are
    read on first touch); mmap=False reads the file into memory and returns writable
    views of that copy. upcast=True turns BF16 and F8_E4M3/F8_E5M2 into float32 (exact,
    a copy); upcast=False returns their bit patterns as uint16/uint8 views (convert with
    slm.ops.from_bf16). Malformed files raise CheckpointError naming the file.
    """
    with SafeOpen(path, mmap=mmap, upcast=upcast) as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def save_safetensors(path, tensors, metadata=None, dtypes=None):
    """Write {name: array} as a safetensors file that the safetensors package reads back
    identically. metadata: optional {str: str}. dtypes: optional {name: "BF16" |
    "F8_E4M3" | "F8_E5M2"} to store a tensor in a format NumPy has no dtype for: give
    the bit patterns (uint16 / uint8), or float32 for BF16 (rounded to nearest even, as
    torch's .to(torch.bfloat16)). Tensors are laid out by decreasing item size so every
    one is aligned; the file is written to a temporary name and renamed into place.
    """
    path = os.fspath(path)
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors: tensors must be a dict of arrays, got "
                        f"{type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("save_safetensors: metadata must be a dict of str -> str")
    dtypes = dict(dtypes or {})
    unknown = set(dtypes) - set(tensors)
    if unknown:
        raise ValueError(f"save_safetensors: dtypes names tensors that are not given: "
                         f"{sorted(unknown)}")
    items = []
    for name, a in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"save_safetensors: invalid tensor name {name!r}")
        a = np.asarray(a)
        want = dtypes.get(name)
        if want is None:
            st = _FROM_NUMPY.get(a.dtype.newbyteorder("=") if a.dtype.byteorder in "<>"
                                 else a.dtype)
            if st is None:
                raise TypeError(f"save_safetensors: tensor {name!r} has dtype {a.dtype}, "
                                "which safetensors cannot store")
            a = a.astype(_DTYPES[st][0], copy=False)
        elif want == "BF16":
            if a.dtype.kind == "f":
                from .. import _C
                a = _C.to_bf16(np.ascontiguousarray(a, dtype=np.float32))
            elif a.dtype != np.uint16:
                raise TypeError(f"save_safetensors: BF16 tensor {name!r} must be float or "
                                f"uint16 bit patterns, got {a.dtype}")
            st, a = "BF16", a.astype("<u2", copy=False)
        elif want in ("F8_E4M3", "F8_E5M2"):
            if a.dtype != np.uint8:
                raise TypeError(f"save_safetensors: {want} tensor {name!r} must be uint8 bit "
                                f"patterns, got {a.dtype}")
            st = want
        else:
            raise ValueError(f"save_safetensors: dtypes[{name!r}] = {want!r}; choose from "
                             "BF16, F8_E4M3, F8_E5M2")
        if not a.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d arrays 1-d)
            a = a.copy(order="C")
        items.append((name, st, a))
    items.sort(key=lambda t: (-t[2].dtype.itemsize, t[0]))
    header, pos = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, st, a in items:
        header[name] = {"dtype": st, "shape": list(a.shape), "data_offsets": [pos, pos + a.nbytes]}
        pos += a.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-(8 + len(raw)) % 8)  # data starts 8-byte aligned, as the reference pads
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(len(raw).to_bytes(8, "little"))
            f.write(raw)
            for _, _, a in items:
                if a.nbytes:
                    f.write(memoryview(a.reshape(-1)).cast("B"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
