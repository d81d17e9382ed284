"""Shared pieces of the checkpoint readers: the error types, low-precision float
conversion (bf16 and the two float8 formats NumPy has no dtype for) and read-only file
mapping.

Every reader in slm.io raises CheckpointError (a ValueError) naming the file for a file
that is malformed, and UnsafePickleError for a pickle that asks for anything outside the
allowlist of slm.io._unpickler. Arrays handed out are views of one mapping of the file
where the dtype allows; the mapping lives as long as any array refers to it.
"""
import mmap
import os
import pickle
import reprlib

import numpy as np

__all__ = ["CheckpointError", "UnsafePickleError", "bf16_to_f32", "f8_to_f32",
           "map_file", "short"]

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 80, 80


def short(x):
    """A bounded repr for error messages: a hostile pickle can make a small object whose
    full repr is terabytes (a list of a million references to one long string)."""
    return _REPR.repr(x)


class CheckpointError(ValueError):
    """A checkpoint file is malformed, truncated or inconsistent (the message names it)."""


class UnsafePickleError(CheckpointError, pickle.UnpicklingError):
    """A pickle asked for a global (function or class) that slm.io does not allow."""


def bf16_to_f32(bits):
    """uint16 bf16 bit patterns (any shape, any strides) -> new float32 array (exact)."""
    bits = np.asarray(bits, dtype=np.uint16)
    if bits.size == 0:
        return np.zeros(bits.shape, np.float32)
    from .. import _C  # the C conversion is multi-threaded and SIMD; numpy is the fallback
    return _C.from_bf16(bits)


def _f8_table(exp_bits, man_bits, fn):
    # All 256 codes of a float8 format as float32. fn ("finite") formats (E4M3FN) have no
    # infinities and a single NaN mantissa (all ones with exponent all ones), as in the
    # OCP 8-bit float spec that torch.float8_e4m3fn follows; E5M2 is IEEE-like.
    bias = (1 << (exp_bits - 1)) - 1
    out = np.empty(256, np.float32)
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        e = (code >> man_bits) & ((1 << exp_bits) - 1)
        m = code & ((1 << man_bits) - 1)
        emax = (1 << exp_bits) - 1
        if fn and e == emax and m == (1 << man_bits) - 1:
            v = float("nan")
        elif not fn and e == emax:
            v = float("nan") if m else sign * float("inf")
        elif e == 0:
            v = sign * m * 2.0 ** (1 - bias - man_bits)
        else:
            v = sign * (1 + m / (1 << man_bits)) * 2.0 ** (e - bias)
        out[code] = v
    return out


_F8_TABLES = {}


def f8_to_f32(bits, fmt):
    """uint8 float8 codes -> new float32 array; fmt 'e4m3fn' or 'e5m2' (exact)."""
    if fmt not in _F8_TABLES:
        _F8_TABLES[fmt] = {"e4m3fn": lambda: _f8_table(4, 3, True),
                           "e5m2": lambda: _f8_table(5, 2, False)}[fmt]()
    return _F8_TABLES[fmt][np.asarray(bits, dtype=np.uint8)]


def map_file(path, mmap_ok):
    """(buffer, size): the whole file read-only mapped (mmap_ok) or read into a new
    writable uint8 array. An empty file gives an empty array (mmap cannot map 0 bytes)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return np.zeros(0, np.uint8), 0
        if mmap_ok:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), size
        buf = np.empty(size, np.uint8)
        n = f.readinto(memoryview(buf))
        if n != size:
            raise CheckpointError(f"{path}: file changed size while reading ({n} of {size} bytes)")
        return buf, size


def view(buf, dtype, offset, count):
    """count elements of dtype at byte offset of buf (mmap or uint8 array), no copy."""
    if isinstance(buf, np.ndarray):
        return buf[offset:offset + count * np.dtype(dtype).itemsize].view(dtype)
    return np.frombuffer(buf, dtype=dtype, count=count, offset=offset)
