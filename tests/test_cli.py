"""The slm command line: resynth (the README's main job) and tokenize (files and
folders, resumable, failures reported without stopping the run)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import slm
from conftest import SPEECH
from slm.cli import main
from slm.tokenizers import default, read_units


def test_resynth_default_prints_the_numbers(tmp_path, capsys):
    out = tmp_path / "r.wav"
    assert main(["resynth", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    for what in ("units/s", "bit/s", "log-mel distance", "demo_speech_16k.flac"):
        assert what in text
    y = slm.audio.load(out)
    assert y.sample_rate == 16000 and y.num_samples > 16000 * 5


def test_resynth_is_the_default_command(tmp_path):
    r = subprocess.run([sys.executable, "-m", "slm", "-o", str(tmp_path / "x.wav")], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "units/s" in r.stdout and (tmp_path / "x.wav").exists()


def test_tokenize_folder_resumable_with_failures(tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(SPEECH / "flite_kal.wav", src / "a.wav")
    shutil.copy(SPEECH / "flite_slt.wav", src / "sub" / "b.wav")
    (src / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (src / "notes.txt").write_text("not audio")  # not an audio extension: not picked up
    out = tmp_path / "units.jsonl"
    assert main(["tokenize", str(src), "-o", str(out)]) == 1  # one failure -> status 1
    err = capsys.readouterr().err
    assert "skipped" in err and "broken.wav" in err
    units = read_units(out)
    assert sorted(os.path.basename(p) for p in units) == ["a.wav", "b.wav"]
    tok = default()
    a = units[str(src / "a.wav")]
    ref = tok.encode(str(src / "a.wav"))
    assert np.array_equal(a.units, ref.units) and np.array_equal(a.durations, ref.durations)
    assert a.frame_rate == 50.0 and a.vocab_size == 100
    # an interrupted run leaves a partial last line: it is dropped and redone on resume
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(lines[0] + lines[1][:20])
    assert len(read_units(out)) == 1
    (src / "broken.wav").unlink()
    assert main(["tokenize", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 already in" in err
    assert len(read_units(out)) == 2
    for line in out.read_text().splitlines():
        json.loads(line)


def test_tokenize_worker_processes(tmp_path, capsys):
    out = tmp_path / "units.jsonl"
    files = [str(SPEECH / n) for n in ("flite_kal.wav", "flite_slt.wav", "flite_awb.wav")]
    assert main(["tokenize", *files, "-o", str(out), "--jobs", "2"]) == 0
    units = read_units(out)
    assert sorted(units) == sorted(files)
    tok = default()
    for f in files:  # the workers' units equal the single-process ones
        assert np.array_equal(units[f].units, tok.encode(f).units)


def test_tokenize_bad_arguments(tmp_path, capsys):
    assert main(["tokenize", str(tmp_path / "missing"), "-o", str(tmp_path / "o.jsonl")]) == 2
    with pytest.raises(SystemExit, match="unknown tokenizer 'x'"):
        main(["tokenize", str(SPEECH), "-o", str(tmp_path / "o.jsonl"), "--tokenizer", "x"])
    with pytest.raises(SystemExit, match="--jobs"):
        main(["tokenize", str(SPEECH), "-o", str(tmp_path / "o.jsonl"), "--jobs", "0"])
    with pytest.raises(SystemExit, match="go together"):
        main(["tokenize", str(SPEECH), "-o", str(tmp_path / "o.jsonl"), "--encoder", "x"])
