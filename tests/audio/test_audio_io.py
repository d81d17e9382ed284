"""slm.audio file I/O against soundfile (the same libsndfile through another binding)
and the standard library's wave module; corrupt files written on the spot."""
import io
import os
import pathlib
import struct
import tracemalloc

import numpy as np
import pytest

import slm
from conftest import SPEECH, assert_close, load_speech

sf = pytest.importorskip("soundfile")

FIXTURES = sorted(p.name for p in SPEECH.glob("*.wav"))


def _signal(rng, channels, n=4000):
    """tones (which Vorbis codes well) plus a little noise, per channel, in (-0.6, 0.6)"""
    t = np.arange(n) / 16000
    f = rng.uniform(100, 3000, (channels, 3, 1))
    x = 0.15 * np.sin(2 * np.pi * f * t).sum(axis=1) + 0.01 * rng.standard_normal((channels, n))
    x = x.astype(np.float32)
    return x[0] if channels == 1 else x


def _sf_read(p, mono=True):
    y, sr = sf.read(str(p), dtype="float32", always_2d=True)
    y = y.T
    return (y.mean(axis=0) if mono else y), sr


@pytest.mark.parametrize("name", FIXTURES)
def test_fixtures_equal_wave_module_and_soundfile(name):
    a = slm.audio.load(SPEECH / name)
    ref, sr = _sf_read(SPEECH / name)
    assert a.sample_rate == sr and a.samples.dtype == np.float32
    assert np.array_equal(a.samples, ref)
    if name != "codec2_cross_8k_ulaw.wav":  # wave cannot read mu-law
        w, wsr = load_speech(name)
        assert wsr == sr and np.array_equal(a.samples, w)
    inf = slm.audio.info(SPEECH / name)
    si = sf.info(str(SPEECH / name))
    assert (inf.sample_rate, inf.channels, inf.frames, inf.format, inf.subtype) == (
        si.samplerate, si.channels, si.frames, si.format, si.subtype)
    assert inf.duration == pytest.approx(si.frames / si.samplerate)


def test_mulaw_fixture_is_mulaw():
    assert slm.audio.info(SPEECH / "codec2_cross_8k_ulaw.wav").subtype == "ULAW"


CASES = [("wav", None, "PCM_16"), ("wav", "PCM_24", "PCM_24"), ("wav", "PCM_32", "PCM_32"),
         ("wav", "FLOAT", "FLOAT"), ("wav", "DOUBLE", "DOUBLE"), ("wav", "PCM_U8", "PCM_U8"),
         ("wav", "ULAW", "ULAW"), ("wav", "ALAW", "ALAW"), ("flac", None, "PCM_16"), ("flac", "PCM_24", "PCM_24"),
         ("flac", "PCM_S8", "PCM_S8"), ("ogg", None, "VORBIS"), ("aiff", None, "PCM_16"), ("caf", "FLOAT", "FLOAT"),
         ("w64", "PCM_24", "PCM_24"), ("rf64", None, "PCM_16"), ("au", "PCM_32", "PCM_32")]
# worst-case error of the encoding relative to the signal (NMSE)
LOSS = {"PCM_16": 1e-7, "PCM_24": 1e-11, "PCM_32": 1e-15, "FLOAT": 0, "DOUBLE": 0, "PCM_U8": 1e-3, "PCM_S8": 1e-3,
        "ULAW": 1e-3, "ALAW": 1e-3, "VORBIS": 0.05}


@pytest.mark.parametrize("ext,subtype,expect", CASES)
@pytest.mark.parametrize("channels", [1, 3])
def test_round_trip_every_format(tmp_path, rng, ext, subtype, expect, channels):
    x = _signal(rng, channels)
    p = tmp_path / f"a.{ext}"
    slm.audio.save(p, x, sr=16000, subtype=subtype)
    inf = slm.audio.info(p)
    assert (inf.sample_rate, inf.channels, inf.frames, inf.subtype) == (16000, channels, x.shape[-1], expect)
    a = slm.audio.load(p, mono=False)
    ref, sr = _sf_read(p, mono=False)
    assert sr == 16000 and a.samples.shape == (channels, x.shape[-1])
    if expect == "VORBIS":  # libvorbis' float rounding depends on the read block size
        assert_close(a.samples, ref, bound=1e-12)
    else:
        assert np.array_equal(a.samples, ref)  # same decoder, same scaling as soundfile
    assert_close(a.samples, x.reshape(channels, -1), bound=LOSS[expect], what=f"{ext}/{expect}")
    m = slm.audio.load(p)  # mono mix-down: the mean over channels
    assert m.samples.shape == (x.shape[-1],)
    assert_close(m.samples, ref.mean(axis=0, dtype=np.float64), bound=1e-14)


def test_soundfile_written_files_read_equal(tmp_path, rng):
    x = rng.uniform(-0.9, 0.9, (6000, 6)).astype(np.float32)
    for ext, sub in [("wav", "PCM_16"), ("flac", "PCM_24"), ("ogg", "VORBIS"), ("wav", "FLOAT")]:
        p = tmp_path / f"s_{sub}.{ext}"
        sf.write(str(p), x, 22050, subtype=sub)
        ref = sf.read(str(p), dtype="float32")[0].T
        a = slm.audio.load(str(p), mono=False)
        assert a.sample_rate == 22050
        assert_close(a.samples, ref, bound=1e-12 if sub == "VORBIS" else 0)


def test_pcm_clips_instead_of_wrapping(tmp_path):
    x = np.array([0.5, 1.5, -3.0, 0.0], np.float32)
    p = tmp_path / "clip.wav"
    slm.audio.save(p, x, 8000)
    y = slm.audio.load(p).samples
    assert y[1] > 0.99 and y[2] == -1.0 and abs(y[0] - 0.5) < 1e-4


def test_offset_duration_match_librosa(librosa):
    p = SPEECH / "codec2_speech_16k.wav"
    full = slm.audio.load(p).samples
    a = slm.audio.load(p, offset=0.5, duration=0.25)
    assert np.array_equal(a.samples, full[8000:12000])
    ref, _ = librosa.load(str(p), sr=None, offset=0.5, duration=0.25)
    assert np.array_equal(a.samples, ref)
    # to the end, and a duration past the end is cut there
    assert np.array_equal(slm.audio.load(p, offset=10.0).samples, full[160000:])
    assert np.array_equal(slm.audio.load(p, offset=10.0, duration=100).samples, full[160000:])


def test_load_with_sr_resamples(torch, torchaudio):
    p = SPEECH / "flite_kal.wav"
    a = slm.audio.load(p, sr=16000)
    x = slm.audio.load(p).samples
    ref = torchaudio.functional.resample(torch.from_numpy(x), 8000, 16000).numpy()
    assert a.sample_rate == 16000
    assert_close(a.samples, ref)
    assert slm.audio.load(p, sr=8000).samples.shape == x.shape


def test_sources_path_pathlike_bytes_filelike(tmp_path):
    p = SPEECH / "flite_slt.wav"
    ref = slm.audio.load(str(p)).samples
    data = p.read_bytes()
    assert np.array_equal(slm.audio.load(pathlib.Path(p)).samples, ref)
    assert np.array_equal(slm.audio.load(data).samples, ref)
    assert np.array_equal(slm.audio.load(bytearray(data), offset=0.1).samples, ref[1600:])
    assert np.array_equal(slm.audio.load(io.BytesIO(data)).samples, ref)
    with open(p, "rb") as f:
        assert np.array_equal(slm.audio.load(f).samples, ref)
    assert slm.audio.info(data).frames == len(ref)
    # writing to a file object and to bytes
    buf = io.BytesIO()
    slm.audio.save(buf, ref, sr=16000, format="flac")
    assert np.array_equal(slm.audio.load(buf.getvalue()).samples, ref)
    assert np.array_equal(slm.audio.load(slm.audio.encode(ref, 16000)).samples, ref)
    with pytest.raises(TypeError, match="binary"):
        slm.audio.load(io.StringIO("RIFF"))
    with pytest.raises(TypeError):
        slm.audio.load(12345)


@pytest.mark.parametrize("mono", [True, False])
def test_stream_blocks_concatenate_to_load(tmp_path, rng, mono):
    x = _signal(rng, 2, n=10007)
    p = tmp_path / "s.flac"
    slm.audio.save(p, x, sr=16000)
    whole = slm.audio.load(p, mono=mono).samples
    with slm.audio.stream(p, 1000, mono=mono) as s:
        assert s.sample_rate == 16000 and s.channels == 2
        blocks = list(s)
    assert [b.shape[-1] for b in blocks] == [1000] * 10 + [7]
    assert all(b.dtype == np.float32 for b in blocks)
    assert np.array_equal(np.concatenate(blocks, axis=-1), whole)
    part = list(slm.audio.stream(p, 333, mono=mono, offset=0.1, duration=0.2))
    assert np.array_equal(np.concatenate(part, axis=-1), whole[..., 1600:4800])
    big = list(slm.audio.stream(p, 10**12, mono=mono))  # a block larger than the file: one block
    assert len(big) == 1 and np.array_equal(big[0], whole)


def test_stream_closes_on_early_break(tmp_path):
    s = slm.audio.stream(SPEECH / "codec2_speech_16k.wav", 160)
    for _ in s:
        break
    assert s._h is None
    with slm.audio.stream(SPEECH / "codec2_speech_16k.wav", 160) as s2:
        next(iter(s2))
    assert s2._h is None
    assert list(s2) == []  # a closed stream yields nothing


def test_stream_long_file_never_in_memory(tmp_path):
    # 10 minutes at 8 kHz: 4.8M samples, 19 MB as float32; streaming holds one block
    p = tmp_path / "long.wav"
    sr, minutes = 8000, 10
    tone = (np.sin(np.arange(sr * 60) * 0.05) * 0.3).astype(np.float32)
    with sf.SoundFile(str(p), "w", sr, 1, "PCM_16") as f:
        for _ in range(minutes):
            f.write(tone)
    tracemalloc.start()
    n = 0
    try:
        for b in slm.audio.stream(p, 16000):
            n += b.shape[-1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == sr * 60 * minutes
    assert peak < 2 << 20, f"peak {peak} bytes while streaming"


# ---- errors ----

def _wav_bytes(n=1600, sr=16000):
    return slm.audio.encode(np.zeros(n, np.float32) + 0.1, sr)


def test_missing_unreadable_and_non_audio(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        slm.audio.load(tmp_path / "nope.wav")
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        slm.audio.info(str(tmp_path / "nope.wav"))
    with pytest.raises(IsADirectoryError):
        slm.audio.load(tmp_path)
    (tmp_path / "noise.wav").write_bytes(rng.bytes(5000))
    with pytest.raises(OSError, match="noise.wav"):
        slm.audio.load(tmp_path / "noise.wav")
    (tmp_path / "text.wav").write_text("this is not audio\n" * 100)
    with pytest.raises(OSError, match="text.wav"):
        slm.audio.load(tmp_path / "text.wav")
    (tmp_path / "empty.flac").write_bytes(b"")
    with pytest.raises(OSError, match="empty.flac"):
        slm.audio.load(tmp_path / "empty.flac")
    with pytest.raises(OSError, match="<bytes>"):
        slm.audio.load(b"RIFF\x00\x00")
    if os.geteuid() != 0:  # root reads anything
        q = tmp_path / "locked.wav"
        q.write_bytes(_wav_bytes())
        q.chmod(0)
        with pytest.raises(OSError, match="locked.wav"):
            slm.audio.load(q)
    assert len(slm.audio.load(_wav_bytes())) == 1600  # still works


def test_truncated_files(tmp_path, rng):
    x = _signal(rng, 2, n=16000)
    for ext in ("wav", "flac", "ogg"):
        p = tmp_path / f"full.{ext}"
        slm.audio.save(p, x, 16000)
        data = p.read_bytes()
        for cut in (len(data) // 2, 30):
            q = tmp_path / f"cut{cut}.{ext}"
            q.write_bytes(data[:cut])
            with pytest.raises(OSError, match=f"cut{cut}.{ext}"):
                slm.audio.load(q)
            with pytest.raises(OSError, match=f"cut{cut}.{ext}"):
                list(slm.audio.stream(q, 4096))
    # the whole files still load
    assert slm.audio.load(tmp_path / "full.flac").samples.shape == (16000,)


def test_header_with_huge_sizes(tmp_path):
    data = bytearray(_wav_bytes(4000))
    i = data.index(b"data")
    # a streaming writer's placeholder size (never patched): the file is whole
    data[i + 4:i + 8] = struct.pack("<I", 0xFFFFFFF0)
    (tmp_path / "stream.wav").write_bytes(bytes(data))
    assert slm.audio.load(tmp_path / "stream.wav").samples.shape == (4000,)
    # RIFF size and a data size far past the end of the file
    data[4:8] = struct.pack("<I", 0x7FFFFFF0)
    data[i + 4:i + 8] = struct.pack("<I", 0x7FFFFFF0)
    (tmp_path / "huge.wav").write_bytes(bytes(data))
    with pytest.raises(OSError, match="huge.wav.*truncated"):
        slm.audio.load(tmp_path / "huge.wav")
    # a header claiming 65535 channels
    data = bytearray(_wav_bytes(4000))
    j = data.index(b"fmt ")
    data[j + 10:j + 12] = struct.pack("<H", 65535)
    (tmp_path / "chan.wav").write_bytes(bytes(data))
    with pytest.raises(OSError, match="chan.wav"):
        slm.audio.load(tmp_path / "chan.wav")
    # FLAC STREAMINFO claiming 2^36 - 1 frames: only what is there is decoded
    slm.audio.save(tmp_path / "f.flac", np.zeros(4000, np.float32) + 0.25, 16000)
    fl = bytearray((tmp_path / "f.flac").read_bytes())
    # STREAMINFO starts at byte 8; total samples: low 4 bits of byte 8+13, bytes 8+14..8+17
    fl[8 + 13] |= 0x0F
    fl[8 + 14:8 + 18] = b"\xff\xff\xff\xff"
    (tmp_path / "lie.flac").write_bytes(bytes(fl))
    try:
        a = slm.audio.load(tmp_path / "lie.flac")
        assert a.samples.shape == (4000,)
    except (OSError, MemoryError) as e:  # refused with a message naming the file is fine too
        assert "lie.flac" in str(e)


def test_zero_length_and_bad_arguments(tmp_path):
    p = tmp_path / "zero.wav"
    with sf.SoundFile(str(p), "w", 16000, 1, "PCM_16"):
        pass
    with pytest.raises(OSError, match="zero.wav.*no audio"):
        slm.audio.load(p)
    q = SPEECH / "flite_slt.wav"  # 2.34 s
    with pytest.raises(ValueError, match="flite_slt.wav.*past the end"):
        slm.audio.load(q, offset=3.0)
    with pytest.raises(ValueError, match="flite_slt.wav.*past the end"):
        slm.audio.stream(q, 100, offset=2.34)
    with pytest.raises(ValueError, match="offset"):
        slm.audio.load(q, offset=-1)
    with pytest.raises(ValueError, match="offset"):
        slm.audio.load(q, offset=float("nan"))
    with pytest.raises(ValueError, match="duration"):
        slm.audio.load(q, duration=0)
    for sr in (0, -8000, float("nan"), 1e40):
        with pytest.raises(ValueError, match="sr"):
            slm.audio.load(q, sr=sr)
    for block in (0, -5):
        with pytest.raises(ValueError, match="flite_slt.wav.*block"):
            slm.audio.stream(q, block)
    for block in (1.5, None, True):
        with pytest.raises(TypeError, match="block"):
            slm.audio.stream(q, block)
    assert slm.audio.load(q).sample_rate == 16000  # still works


def test_save_errors(tmp_path, rng):
    x = _signal(rng, 1)
    with pytest.raises(ValueError, match=r"a\.xyz.*extension"):
        slm.audio.save(tmp_path / "a.xyz", x, 16000)
    with pytest.raises(ValueError, match="noext"):
        slm.audio.save(tmp_path / "noext", x, 16000)
    with pytest.raises(ValueError, match="unknown format"):
        slm.audio.save(tmp_path / "a.wav", x, 16000, format="WAVX")
    with pytest.raises(ValueError, match="unknown subtype"):
        slm.audio.save(tmp_path / "a.wav", x, 16000, subtype="PCM_7")
    with pytest.raises(ValueError, match="FLAC.*FLOAT"):
        slm.audio.save(tmp_path / "a.flac", x, 16000, subtype="FLOAT")
    with pytest.raises(ValueError, match="OGG.*PCM_16"):
        slm.audio.save(tmp_path / "a.ogg", x, 16000, subtype="PCM_16")
    with pytest.raises(ValueError, match="required"):
        slm.audio.save(tmp_path / "a.wav", x)
    for sr in (0, -1, float("nan"), 16000.5):
        with pytest.raises(ValueError, match="sr"):
            slm.audio.save(tmp_path / "a.wav", x, sr)
    bad = x.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="a.wav.*sample 3.*finite"):
        slm.audio.save(tmp_path / "a.wav", bad, 16000)
    assert not (tmp_path / "a.wav").exists()
    with pytest.raises(ValueError, match="zero-length"):
        slm.audio.save(tmp_path / "a.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(TypeError, match="float"):
        slm.audio.save(tmp_path / "a.wav", (x * 1000).astype(np.int16), 16000)
    with pytest.raises(ValueError, match="transpose"):
        slm.audio.save(tmp_path / "a.wav", np.zeros((4000, 2), np.float32), 16000)
    with pytest.raises(ValueError, match="shape"):
        slm.audio.save(tmp_path / "a.wav", np.zeros((2, 2, 2), np.float32), 16000)
    with pytest.raises(OSError, match="no_such_dir"):
        slm.audio.save(tmp_path / "no_such_dir" / "a.wav", x, 16000)
    with pytest.raises(ValueError, match="differs"):
        slm.audio.save(tmp_path / "a.wav", slm.audio.Audio(x, 8000), sr=16000)
    slm.audio.save(tmp_path / "a.wav", x, 16000)  # still works
    assert slm.audio.info(tmp_path / "a.wav").frames == x.shape[-1]


def test_formats_listed():
    fm = slm.audio.available_formats()
    assert {"WAV", "FLAC", "OGG", "AIFF"} <= set(fm)
    assert {"PCM_16", "PCM_24", "PCM_32", "FLOAT", "ULAW"} <= set(slm.audio.available_subtypes("WAV"))
    assert "VORBIS" in slm.audio.available_subtypes("OGG")


@pytest.mark.parametrize("ext,sr,fmt,subtype", [("mp3", 16000, "MP3", "MPEG_LAYER_III"), ("opus", 48000, "OGG", "OPUS")])
def test_lossy_codecs_of_this_libsndfile(tmp_path, rng, ext, sr, fmt, subtype):
    if fmt not in slm.audio.available_formats() or subtype not in slm.audio.available_subtypes(fmt):
        pytest.skip(f"this libsndfile cannot write {fmt}/{subtype}")
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)
    p = tmp_path / f"a.{ext}"
    slm.audio.save(p, x, sr)
    inf = slm.audio.info(p)
    assert (inf.format, inf.subtype, inf.sample_rate) == (fmt, subtype, sr)
    ref, _ = _sf_read(p)
    assert_close(slm.audio.load(p).samples, ref, bound=1e-12)


def test_concurrent_loads_agree(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    p = SPEECH / "codec2_speech_16k.wav"
    ref = slm.audio.load(p, sr=24000).samples
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: slm.audio.load(p, sr=24000).samples, range(8)))
    assert all(np.array_equal(o, ref) for o in outs)


def test_closed_handle_is_an_error_not_a_crash():
    from slm import _C
    h = _C.audio_open(str(SPEECH / "flite_slt.wav"))
    _C.audio_close(h)
    with pytest.raises(ValueError, match="closed"):
        _C.audio_read(h, 10, True)
    _C.audio_close(h)  # closing twice is harmless
