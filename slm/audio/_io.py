"""Audio files through libsndfile: info, load, save, stream (C: csrc/audio/sndfile_io.c).

A source is a path (str or os.PathLike), encoded audio in memory (bytes, bytearray,
memoryview) or a binary file-like object (anything with .read(), read whole). Decoding
happens in C with the GIL released; errors about the file are OSError (FileNotFoundError
for a missing path) and errors about arguments ValueError/TypeError, all naming the file.
"""
from __future__ import annotations

import errno
import math
import numbers
import os
from dataclasses import dataclass

import numpy as np

from .. import _C

__all__ = ["AudioInfo", "info", "load", "save", "stream", "AudioStream", "encode", "available_formats",
           "available_subtypes"]

# extension -> major format (libsndfile/soundfile names)
_EXT = {"wav": "WAV", "wave": "WAV", "flac": "FLAC", "ogg": "OGG", "oga": "OGG", "opus": "OGG", "aiff": "AIFF",
        "aif": "AIFF", "aifc": "AIFF", "au": "AU", "snd": "AU", "caf": "CAF", "w64": "W64", "rf64": "RF64",
        "mat": "MAT5", "mat4": "MAT4", "mat5": "MAT5", "htk": "HTK", "sd2": "SD2", "voc": "VOC", "xi": "XI",
        "nist": "NIST", "sph": "NIST", "ircam": "IRCAM", "sf": "IRCAM", "avr": "AVR", "paf": "PAF", "pvf": "PVF",
        "svx": "SVX", "iff": "SVX", "sds": "SDS", "wve": "WVE", "mpc": "MPC2K", "mp3": "MP3", "wavex": "WAVEX"}
# default subtype per major format; others take the first of _PREFERRED that libsndfile accepts
_DEFAULT_SUBTYPE = {"WAV": "PCM_16", "WAVEX": "PCM_16", "FLAC": "PCM_16", "AIFF": "PCM_16", "OGG": "VORBIS",
                    "MP3": "MPEG_LAYER_III", "CAF": "PCM_16", "W64": "PCM_16", "RF64": "PCM_16"}
_PREFERRED = ("PCM_16", "PCM_24", "FLOAT", "PCM_S8", "PCM_U8", "DOUBLE", "ULAW", "ALAW", "DWVW_16", "DPCM_16",
              "GSM610", "VORBIS", "OPUS")

_MAJORS = _C.audio_format_table(True)
_SUBTYPES = _C.audio_format_table(False)
_TYPEMASK, _SUBMASK = 0x0FFF0000, 0x0000FFFF


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds: ``frames`` samples per channel at ``sample_rate`` Hz."""
    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str   # major format: "WAV", "FLAC", "OGG", ...
    subtype: str  # sample encoding: "PCM_16", "FLOAT", "VORBIS", "ULAW", ...

    @property
    def duration(self) -> float:
        """seconds"""
        return self.frames / self.sample_rate


def available_formats():
    """Major formats this build's libsndfile can write (with some subtype), sorted."""
    return sorted(m for m in _MAJORS if _default_subtype(m, 1, 44100) is not None or
                  _default_subtype(m, 1, 48000) is not None)


def available_subtypes(format):
    """Subtypes libsndfile can write in ``format`` ("WAV", ...) for mono 44.1 kHz/48 kHz."""
    code = _major_code(format, "<format>")
    return sorted(s for s, c in _SUBTYPES.items()
                  if _C.audio_format_ok(code | c, 1, 44100) or _C.audio_format_ok(code | c, 1, 48000))


def _name(src):
    if isinstance(src, (str, os.PathLike)):
        return os.fsdecode(src)
    return getattr(src, "name", None) if isinstance(getattr(src, "name", None), str) else "<bytes>"


_UNKNOWN = 1 << 62  # libsndfile reports SF_COUNT_MAX frames when it cannot tell the length
_READ_BLOCK = 1 << 18  # frames per read when the header's length is not trusted


def _source_bytes(src):
    if isinstance(src, (str, os.PathLike)):
        try:
            return os.path.getsize(src)
        except OSError:
            return 0
    if isinstance(src, (bytes, bytearray, memoryview)):
        return len(src)
    return 0


def _read(h, n, mono, channels, src_bytes):
    """(samples, frames read) of the next n frames. A header's length is only trusted
    when it is plausible for the file's size (a FLAC STREAMINFO may claim 2^36 frames):
    otherwise blocks are read until the data ends, so the data decides the size."""
    decoded = n * channels * 4
    if n < _UNKNOWN and (decoded <= (256 << 20) or decoded <= 64 * src_bytes):
        return _C.audio_read(h, n, mono)
    parts, got = [], 0
    while got < n:
        want = min(_READ_BLOCK, n - got)
        x, k = _C.audio_read(h, want, mono)
        if k:
            parts.append(x[..., :k])
        got += k
        if k < want:  # end of the data
            break
    if not parts:
        return np.zeros((0,) if mono else (channels, 0), np.float32), 0
    return np.ascontiguousarray(np.concatenate(parts, axis=-1)), got


def _open(src):
    """(handle, name) for a path, bytes or file-like object."""
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        name = os.fsdecode(path)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", name)
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "Is a directory, not an audio file", name)
        return _C.audio_open(path), name
    if isinstance(src, (bytes, bytearray, memoryview)):
        return _C.audio_open_bytes(bytes(src), "<bytes>"), "<bytes>"
    if hasattr(src, "read"):
        name = _name(src)
        data = src.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{name}: file object must be opened in binary mode (read() gave {type(data).__name__})")
        return _C.audio_open_bytes(bytes(data), name), name
    raise TypeError(f"expected a path (str or os.PathLike), bytes or a binary file object, got {type(src).__name__}")


def _handle_info(h, name):
    frames, sr, ch, fmt, seekable, major, subtype, truncated = _C.audio_file_info(h)
    if truncated:
        raise OSError(f"'{name}' is truncated: its header promises more audio data than the file holds "
                      f"({frames} frames are present)")
    return AudioInfo(name, sr, ch, frames, major, subtype)


def info(path) -> AudioInfo:
    """Sample rate, channels, frames, duration, format and subtype of an audio file
    (read from its header; nothing is decoded)."""
    h, name = _open(path)
    try:
        return _handle_info(h, name)
    finally:
        _C.audio_close(h)


def _seconds(v, what, name, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name}: {what} must be a number of seconds, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name}: {what} must be finite, got {v}")
    return v


def _span(inf, offset, duration):
    """(first frame, frame count) of offset/duration seconds, rounded as librosa.load does."""
    name = inf.path
    offset = _seconds(offset, "offset", name)
    duration = _seconds(duration, "duration", name, allow_none=True)
    if offset < 0:
        raise ValueError(f"{name}: offset must be >= 0 seconds, got {offset}")
    if inf.frames == 0:
        raise OSError(f"'{name}' holds no audio (0 frames)")
    start = int(round(offset * inf.sample_rate))
    if start >= inf.frames and inf.frames < _UNKNOWN:
        raise ValueError(f"{name}: offset {offset} s is past the end of the audio ({inf.duration:.6g} s)")
    n = inf.frames - start
    if duration is not None:
        if duration <= 0:
            raise ValueError(f"{name}: duration must be > 0 seconds, got {duration}")
        n = min(n, max(1, int(round(duration * inf.sample_rate))))
    return start, n


def load(path, sr=None, mono=True, offset=0.0, duration=None):
    """Decode an audio file into an :class:`~slm.audio.Audio` (float32 in [-1, 1]).

    path      str, os.PathLike, bytes (encoded audio) or a binary file object
    sr        resample to this rate in Hz (torchaudio's kernel, see :func:`resample`);
              None keeps the file's rate (note: librosa.load defaults to 22050)
    mono      True: average the channels into (samples,); False: (channels, samples)
    offset    start this many seconds in (seeks in C, nothing before it is decoded)
    duration  read at most this many seconds (None: to the end)

    Integer formats are scaled as libsndfile (and soundfile) do: PCM_16 by 1/32768.
    Missing, unreadable, truncated, non-audio or empty files raise OSError naming the
    file; offset past the end or bad arguments raise ValueError."""
    from ._audio import Audio
    from ._resample import _rate

    target = None if sr is None else _rate(sr, "sr")
    h, name = _open(path)
    try:
        inf = _handle_info(h, name)
        start, n = _span(inf, offset, duration)
        if start:
            _C.audio_seek(h, start)
        x, got = _read(h, n, bool(mono), inf.channels, _source_bytes(path))
    finally:
        _C.audio_close(h)
    if got == 0:
        raise OSError(f"'{name}': no audio frames could be decoded")
    if got < n:
        x = np.ascontiguousarray(x[..., :got])
    a = Audio(x, inf.sample_rate)
    if target is not None and target != inf.sample_rate:
        a = a.resample(target)
    return a


class AudioStream:
    """Blocks of ``block`` frames read one at a time from an open file (see :func:`stream`).

    Iterate to get float32 arrays, (block,) when mono else (channels, block); the last
    block may be shorter. Use it in a ``with`` block or iterate it to the end: the file
    is closed on exit, on ``close()``, and when the iterator is dropped early."""

    def __init__(self, path, block, mono=True, offset=0.0, duration=None):
        if isinstance(block, bool) or not isinstance(block, numbers.Integral):
            raise TypeError(f"{_name(path)}: block must be a positive int (frames), got {block!r}")
        if block <= 0:
            raise ValueError(f"{_name(path)}: block must be a positive number of frames, got {block}")
        self.block = int(block)
        self.mono = bool(mono)
        self._h, self.name = _open(path)
        try:
            self.info = _handle_info(self._h, self.name)
            self._start, self._left = _span(self.info, offset, duration)
            if self._start:
                _C.audio_seek(self._h, self._start)
        except BaseException:
            self.close()
            raise

    @property
    def sample_rate(self) -> int:
        return self.info.sample_rate

    @property
    def channels(self) -> int:
        return self.info.channels

    def __iter__(self):
        first = True
        try:
            while self._h is not None and self._left > 0:
                n = min(self.block, self._left)
                x, got = _C.audio_read(self._h, n, self.mono)
                if got == 0:
                    if first:
                        raise OSError(f"'{self.name}': no audio frames could be decoded")
                    break
                first = False
                self._left -= got
                if got < n:
                    self._left = 0
                    x = np.ascontiguousarray(x[..., :got])
                yield x
        finally:
            self.close()

    def close(self):
        h, self._h = getattr(self, "_h", None), None
        if h is not None:
            _C.audio_close(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def stream(path, block, mono=True, offset=0.0, duration=None) -> AudioStream:
    """Read an audio file ``block`` frames at a time, without holding it in memory.

    ``with slm.audio.stream("long.flac", 16000) as s: for x in s: ...`` yields float32
    blocks at the file's rate (``s.sample_rate``): (block,) mono-mixed, or
    (channels, block) with mono=False; offset/duration in seconds as in :func:`load`.
    Only one block is decoded at a time, in C, from the open handle."""
    return AudioStream(path, block, mono=mono, offset=offset, duration=duration)


def _major_code(fmt, name):
    key = str(fmt).upper()
    if key not in _MAJORS:
        raise ValueError(f"{name}: unknown format {fmt!r}; choose from {sorted(_MAJORS)}")
    return _MAJORS[key]


def _default_subtype(major, channels, sr):
    code = _MAJORS[major]
    first = _DEFAULT_SUBTYPE.get(major)
    for s in ((first,) if first else ()) + _PREFERRED:
        if _C.audio_format_ok(code | _SUBTYPES[s], channels, sr):
            return s
    return None


def _format_code(name, fmt, subtype, channels, sr):
    if fmt is None:
        ext = os.path.splitext(name)[1].lower().lstrip(".")
        if ext not in _EXT:
            raise ValueError(f"{name}: cannot tell the format from the extension {('.' + ext) if ext else '(none)'}; "
                             f"pass format= (one of {sorted(_MAJORS)}) or use one of {sorted(_EXT)}")
        fmt = _EXT[ext]
        if ext == "opus" and subtype is None:
            subtype = "OPUS"
    major = str(fmt).upper()
    code = _major_code(major, name)
    if subtype is None:
        subtype = _default_subtype(major, channels, sr)
        if subtype is None:
            raise ValueError(f"{name}: libsndfile cannot write {major} with {channels} channels at {sr} Hz")
    key = str(subtype).upper()
    if key not in _SUBTYPES:
        raise ValueError(f"{name}: unknown subtype {subtype!r}; choose from {sorted(_SUBTYPES)}")
    full = code | _SUBTYPES[key]
    if not _C.audio_format_ok(full, channels, sr):
        raise ValueError(f"{name}: libsndfile cannot write {major} with subtype {key}, {channels} channels at "
                         f"{sr} Hz; subtypes it can write in {major}: {available_subtypes(major)}")
    return full


def _planar(audio, sr, name):
    from ._audio import Audio
    from ._resample import _rate

    if isinstance(audio, Audio):
        if sr is not None and _rate(sr, "sr") != audio.sample_rate:
            raise ValueError(f"{name}: sr={sr} differs from the Audio's {audio.sample_rate} Hz; "
                             "call .resample(sr) first")
        x, sr = audio.samples, audio.sample_rate
    else:
        if sr is None:
            raise ValueError(f"{name}: sr (sample rate in Hz) is required to save an array")
        sr = _rate(sr, "sr")
        x = np.asarray(audio)
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: audio must be float samples in [-1, 1] (float32/float64), got {x.dtype}")
    if x.ndim == 1:
        x = x[None, :]
    elif x.ndim != 2:
        raise ValueError(f"{name}: audio must be (samples,) or (channels, samples), got shape {x.shape}")
    if x.shape[0] > 1024:
        raise ValueError(f"{name}: {x.shape[0]} channels (audio is (channels, samples); "
                         f"transpose a (samples, channels) array)")
    if x.shape[1] == 0:
        raise ValueError(f"{name}: zero-length audio (no samples to write)")
    return x, sr


def save(path, audio, sr=None, format=None, subtype=None):
    """Write ``audio`` to ``path`` through libsndfile.

    audio    an :class:`Audio`, or a float array (samples,) or (channels, samples) with
             ``sr`` in Hz
    format   "WAV", "FLAC", "OGG", ... (case-insensitive); None: from the extension
    subtype  None: PCM_16 for WAV/FLAC/AIFF/CAF, VORBIS for OGG, else the first that the
             format takes; also "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", ...

    PCM subtypes clip to [-1, 1) rather than wrap. ``path`` may also be a binary file
    object (then ``format`` is required). NaN/Inf samples, empty audio, and formats
    libsndfile cannot write raise ValueError; a failed write leaves no file behind."""
    if hasattr(path, "write") and not isinstance(path, (str, os.PathLike)):
        name = _name(path)
        if format is None:
            raise ValueError(f"{name}: format= is required when writing to a file object")
        path.write(encode(audio, sr=sr, format=format, subtype=subtype))
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expected a path (str or os.PathLike) or a binary file object, got {type(path).__name__}")
    name = os.fsdecode(os.fspath(path))
    x, sr = _planar(audio, sr, name)
    code = _format_code(name, format, subtype, x.shape[0], sr)
    _C.audio_write(os.fspath(path), x, sr, code)


def encode(audio, sr=None, format="WAV", subtype=None) -> bytes:
    """The bytes :func:`save` would write (format required; default WAV)."""
    x, sr = _planar(audio, sr, "<bytes>")
    code = _format_code("<bytes>", format, subtype, x.shape[0], sr)
    return _C.audio_encode(x, sr, code)
