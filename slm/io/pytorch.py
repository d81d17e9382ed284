"""PyTorch checkpoints (torch.save) read without PyTorch.

Two formats:
- zip (torch.save's default since 1.6): a zip archive with one top folder holding
  data.pkl (the pickled object; tensors are persistent ids
  ('storage', StorageClass, key, location, numel)), data/<key> (each storage's raw
  bytes, stored uncompressed at a 64-byte-aligned offset), byteorder, version.
- legacy (_use_new_zipfile_serialization=False): five things back to back in one file:
  pickles of the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001 and a
  sys_info dict, the object pickle (persistent ids ('storage', StorageClass, key,
  location, numel, view_metadata)), a pickle of the sorted storage keys, then for each
  key an int64 element count followed by the raw bytes.

The pickle goes through slm.io._unpickler.RestrictedUnpickler (tensors and plain data,
nothing else). Storages are views of one read-only mapping of the file (zero-copy); a
tensor is a reshape of its storage when contiguous, an as_strided view of it otherwise,
so tensors that share a storage in torch share memory here too (a view and its base, a
tensor and its transpose). bf16/float8 storages are converted to float32 once per
storage when upcast=True (the default), so views of them still share the converted copy.
"""
import io
import os
import struct
import zipfile
import zlib

import numpy as np

from ._common import CheckpointError, bf16_to_f32, f8_to_f32, map_file, short, view
from ._unpickler import (TORCH_DTYPES, RestrictedUnpickler, StorageRef, TensorRef,
                         storage_dtype, to_plain)

__all__ = ["load_torch", "is_torch_zip", "is_torch_legacy"]

# what zipfile raises on a damaged archive (bad names, CRC, inflate errors, encryption)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
               struct.error, NotImplementedError, RuntimeError, zlib.error)

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
_LEGACY_MAGIC = MAGIC_NUMBER.to_bytes(10, "little")


def is_torch_zip(path):
    """True for a zip archive. A file that starts with a local file header is one; the
    end-of-archive scan of zipfile.is_zipfile is asked only otherwise, and never for a
    file that looks like safetensors (random tensor bytes can contain the signature)."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:4] == b"PK\x03\x04":
        return True
    if head[8:9] == b"{":
        return False
    return zipfile.is_zipfile(path)


def is_torch_legacy(path):
    """True when the file starts with a pickle of the legacy magic number (any protocol)."""
    with open(path, "rb") as f:
        head = f.read(64)
    if _LEGACY_MAGIC in head:  # protocols 2-5 store the number's bytes as they are
        return True
    try:  # protocols 0 and 1 spell it as text
        return RestrictedUnpickler(io.BytesIO(head), path).load() == MAGIC_NUMBER
    except Exception:
        return False


class _Storages:
    """Raw storage bytes of one file -> typed, native, optionally upcast 1-D arrays,
    cached per (key, dtype) so tensors sharing a storage share its array."""

    def __init__(self, path, big_endian, upcast):
        self.path, self.big, self.upcast = path, big_endian, upcast
        self.where = {}  # key -> (buffer: file mapping or own copy, byte offset, nbytes)
        self.cache = {}

    def array(self, key, dtype, byte_start=0):
        """1-D array of dtype from byte_start of storage key to its end."""
        ck = (key, dtype, byte_start)
        if ck in self.cache:
            return self.cache[ck]
        if key not in self.where:
            raise CheckpointError(f"{self.path}: storage {key!r} has no data record")
        buf, off, nbytes = self.where[key]
        store, conv = TORCH_DTYPES[dtype]
        store = np.dtype(store)
        if self.big:
            store = store.newbyteorder(">")
        a = view(buf, store, off + byte_start, (nbytes - byte_start) // store.itemsize)
        if self.big and store.itemsize > 1:
            a = a.astype(store.newbyteorder("<"))  # a copy in native order
        if conv is not None and self.upcast:
            a = bf16_to_f32(a) if conv == "bf16" else f8_to_f32(a, conv)
        self.cache[ck] = a
        return a

    def tensor(self, ref):
        if isinstance(ref, StorageRef):  # a bare storage in the pickle: its bytes, 1-D
            root = ref.root or ref.key
            start = ref.offset * np.dtype(TORCH_DTYPES[ref.dtype][0]).itemsize
            return self.array(root, ref.dtype, start)[:ref.numel]
        s = ref.storage
        start = s.offset * np.dtype(TORCH_DTYPES[s.dtype][0]).itemsize
        base = self.array(s.root or s.key, ref.dtype, start)
        size, stride, off = ref.size, ref.stride, ref.offset
        numel = int(np.prod(size, dtype=np.int64)) if size else 1
        if numel == 0:
            return np.zeros(size, base.dtype)
        contiguous, expect = True, 1
        for n, st in zip(reversed(size), reversed(stride)):
            if n != 1 and st != expect:
                contiguous = False
            expect *= n
        if contiguous:
            return base[off:off + numel].reshape(size)
        return np.lib.stride_tricks.as_strided(
            base[off:], shape=size, strides=tuple(st * base.itemsize for st in stride),
            writeable=base.flags.writeable)


def _pid_fields(pid, n, where):
    if not isinstance(pid, tuple) or len(pid) != n:
        raise CheckpointError(f"{where}: malformed persistent id {short(pid)}")
    kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
    if kind != "storage":
        raise CheckpointError(f"{where}: persistent id of kind {short(kind)} is not supported "
                              "(whole nn.Module pickles cannot be read without their code)")
    key = pid[2].decode("ascii") if isinstance(pid[2], bytes) else pid[2]
    numel = pid[4]
    if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
        raise CheckpointError(f"{where}: malformed persistent id {short(pid)}")
    return storage_dtype(pid[1], where), key, numel


def _nbytes(dtype, numel):
    return numel * np.dtype(TORCH_DTYPES[dtype][0]).itemsize


def _run_pickle(unpickler, path):
    try:
        return unpickler.load()
    except CheckpointError as e:  # UnsafePickleError too; name the file if not yet
        if path in str(e):
            raise
        raise type(e)(f"{path}: {e}") from None
    except RecursionError:
        raise CheckpointError(f"{path}: pickle is nested too deeply") from None
    except MemoryError:
        raise CheckpointError(f"{path}: pickle asks for more memory than there is "
                              "(corrupt or hostile file)") from None
    except Exception as e:  # EOFError, UnpicklingError, TypeError from a bad REDUCE, ...
        raise CheckpointError(f"{path}: corrupt pickle ({type(e).__name__}: {e})") from None


def _read_member(zf, info, path, limit):
    """Bytes of a zip member, refusing sizes that cannot be real (zip bombs)."""
    if info.file_size > limit:
        raise CheckpointError(f"{path}: zip member {info.filename} claims {info.file_size} "
                              f"bytes, more than the {limit} allowed")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise CheckpointError(f"{path}: stored zip member {info.filename} has "
                                  "inconsistent sizes")
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        if info.file_size > 1100 * info.compress_size + 4096:  # deflate expands <= 1032x
            raise CheckpointError(f"{path}: zip member {info.filename} claims "
                                  f"{info.file_size} bytes from {info.compress_size} "
                                  "compressed (a zip bomb?)")
    else:
        raise CheckpointError(f"{path}: zip member {info.filename} uses compression method "
                              f"{info.compress_type}, which torch never writes")
    try:
        return zf.read(info)
    except _ZIP_ERRORS as e:
        raise CheckpointError(f"{path}: zip member {info.filename} is corrupt ({e})") from None


def _load_zip(path, mmap, upcast, extra_globals):
    size = os.path.getsize(path)
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as e:
        raise CheckpointError(f"{path}: not a readable zip archive ({e})") from None
    with zf:
        infos = {i.filename: i for i in zf.infolist()}
        pkls = sorted(n for n in infos if n == "data.pkl" or
                      (n.endswith("/data.pkl") and n.count("/") == 1))
        if not pkls:
            if any(n.endswith("constants.pkl") for n in infos):
                raise CheckpointError(f"{path}: a TorchScript archive (torch.jit.save), not "
                                      "a torch.save checkpoint")
            raise CheckpointError(f"{path}: zip archive without data.pkl: not a torch.save "
                                  "checkpoint")
        prefix = pkls[0][:-len("data.pkl")]
        order = b"little"
        if prefix + "byteorder" in infos:
            order = _read_member(zf, infos[prefix + "byteorder"], path, 16).strip()
            if order not in (b"little", b"big"):
                raise CheckpointError(f"{path}: unknown byteorder {short(order)}")
        data_pkl = _read_member(zf, infos[prefix + "data.pkl"], path, 4 * size + (1 << 20))
        # mmap: one read-only mapping of the whole file; else each storage is read
        # (decompressed if need be) into its own writable buffer
        buf = map_file(path, True)[0] if mmap else None
        stor = _Storages(path, order == b"big", upcast)
        refs = {}
        members = {}

        def persistent(pid):
            dtype, key, numel = _pid_fields(pid, 5, path)
            if key in refs:
                return refs[key]
            name = f"{prefix}data/{key}"
            info = infos.get(name)
            if info is None:
                raise CheckpointError(f"{path}: storage {key!r} has no record {name}")
            need = _nbytes(dtype, numel)
            if need > info.file_size:
                raise CheckpointError(f"{path}: storage {key!r} claims {numel} {dtype} "
                                      f"elements ({need} bytes) but its record holds "
                                      f"{info.file_size} bytes")
            members[key] = info
            refs[key] = StorageRef(key, dtype, numel)
            return refs[key]

        up = RestrictedUnpickler(io.BytesIO(data_pkl), path, persistent, extra_globals)
        obj = _run_pickle(up, path)
        # where each storage's bytes are: stored members are views of the mapping (mmap)
        # or read straight into their own buffer; compressed ones are inflated
        with open(path, "rb") as f:
            for key, info in members.items():
                if info.compress_type != zipfile.ZIP_STORED:
                    data = _read_member(zf, info, path, size * 1100 + 4096)
                    stor.where[key] = (np.frombuffer(bytearray(data), np.uint8), 0, len(data))
                    continue
                f.seek(info.header_offset)
                hdr = f.read(30)
                if len(hdr) < 30 or hdr[:4] != b"PK\x03\x04":
                    raise CheckpointError(f"{path}: bad local header for {info.filename}")
                n, m = struct.unpack("<HH", hdr[26:30])
                start = info.header_offset + 30 + n + m
                if start + info.file_size > size or info.compress_size != info.file_size:
                    raise CheckpointError(f"{path}: record {info.filename} runs past the end "
                                          "of the file (truncated?)")
                if buf is not None:
                    stor.where[key] = (buf, start, info.file_size)
                else:
                    own = np.empty(info.file_size, np.uint8)
                    f.seek(start)
                    if f.readinto(memoryview(own)) != info.file_size:
                        raise CheckpointError(f"{path}: record {info.filename} is truncated")
                    stor.where[key] = (own, 0, info.file_size)
    return _plain(obj, stor, path)


def _load_legacy(path, mmap, upcast, extra_globals):
    size = os.path.getsize(path)
    refs = {}

    def persistent(pid):
        dtype, key, numel = _pid_fields(pid, 6, path)
        if key not in refs:
            refs[key] = StorageRef(key, dtype, numel)
        root = refs[key]
        view_md = pid[5]
        if view_md is None:
            return root
        if not (isinstance(view_md, tuple) and len(view_md) == 3):
            raise CheckpointError(f"{path}: malformed storage view {short(view_md)}")
        vkey, voff, vsize = view_md
        if not (isinstance(voff, int) and isinstance(vsize, int) and 0 <= voff
                and 0 <= vsize and voff + vsize <= root.numel):
            raise CheckpointError(f"{path}: storage view {short(view_md)} outside its storage")
        if vkey not in refs:
            refs[vkey] = StorageRef(vkey, dtype, vsize, root=key, offset=voff)
        return refs[vkey]

    with open(path, "rb") as f:
        def plain_load(what):
            return _run_pickle(RestrictedUnpickler(f, path, None, None), path)
        if plain_load("magic") != MAGIC_NUMBER:
            raise CheckpointError(f"{path}: wrong magic number: not a legacy torch.save file")
        version = plain_load("protocol version")
        if version != PROTOCOL_VERSION:
            raise CheckpointError(f"{path}: legacy protocol version {short(version)}, "
                                  f"expected {PROTOCOL_VERSION}")
        sys_info = plain_load("sys_info")
        # torch writes legacy storage data little-endian even on big-endian machines
        # (writeFileRaw swaps), so sys_info's little_endian only tells how very old
        # versions wrote the element count in front of each storage
        little = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
        obj = _run_pickle(RestrictedUnpickler(f, path, persistent, extra_globals), path)
        keys = plain_load("storage keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise CheckpointError(f"{path}: storage key list is malformed")
        pos = f.tell()
    buf, _ = map_file(path, mmap)
    stor = _Storages(path, False, upcast)
    for key in keys:
        if key not in refs or refs[key].root is not None:
            raise CheckpointError(f"{path}: data record for unknown storage {short(key)}")
        ref = refs[key]
        if pos + 8 > size:
            raise CheckpointError(f"{path}: truncated before the data of storage {key!r}")
        head = bytes(buf[pos:pos + 8])
        count = int.from_bytes(head, "little", signed=True)
        if count != ref.numel and not little:
            count = int.from_bytes(head, "big", signed=True)
        if count != ref.numel:
            raise CheckpointError(f"{path}: storage {key!r} holds {count} elements, the "
                                  f"pickle says {ref.numel}")
        nbytes = _nbytes(ref.dtype, count)
        if pos + 8 + nbytes > size:
            raise CheckpointError(f"{path}: storage {key!r} ({nbytes} bytes) runs past the "
                                  f"end of the file ({size} bytes; truncated?)")
        stor.where[key] = (buf, pos + 8, nbytes)
        pos += 8 + nbytes
    missing = [k for k, r in refs.items() if r.root is None and k not in stor.where]
    if missing:
        raise CheckpointError(f"{path}: storages {missing[:5]} have no data")
    return _plain(obj, stor, path)


def _plain(obj, stor, path):
    try:
        return to_plain(obj, stor.tensor)
    except CheckpointError as e:
        if path in str(e):
            raise
        raise type(e)(f"{path}: {e}") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        # numpy refusing a dtype or layout the pickle described
        raise CheckpointError(f"{path}: malformed data in the pickle "
                              f"({type(e).__name__}: {e})") from None


def load_torch(path, map_location=None, mmap=True, upcast=True, extra_globals=None):
    """Read a torch.save file (zip or legacy format) without PyTorch -> the saved object
    with every tensor as an np.ndarray and config objects as plain dicts/lists.

    map_location is accepted for torch.load compatibility and ignored (everything is on
    the CPU). mmap=True: tensors are read-only views of a read-only mapping of the file
    (zero-copy; stored zip members and legacy files); mmap=False: the data is read into
    memory and the arrays are writable. Views that share a storage in torch share memory
    here. upcast=True converts bfloat16/float8 tensors to float32 (exact); False keeps
    their bits as uint16/uint8. Only tensors and plain data are rebuilt (see
    docs/checkpoints.md); any other global raises UnsafePickleError naming it, unless
    extra_globals {"module.name": replacement} says what to use for it.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: is a directory (use slm.io.load_hf_folder)")
    if is_torch_zip(path):
        return _load_zip(path, mmap, upcast, extra_globals)
    if is_torch_legacy(path):
        return _load_legacy(path, mmap, upcast, extra_globals)
    import tarfile
    if tarfile.is_tarfile(path):
        raise CheckpointError(f"{path}: the tar checkpoint format of PyTorch < 0.1.10 is not "
                              "supported")
    raise CheckpointError(f"{path}: not a PyTorch checkpoint (neither a zip archive with "
                          "data.pkl nor the legacy pickle magic number)")
