"""The committed speech fixtures are what tests/data/make_fixtures.sh makes from the
Debian packages: the script runs into a temporary folder and every file must come out
byte for byte the same (the synthesisers are deterministic)."""
import os
import shutil
import subprocess

import pytest

from conftest import DATA, SPEECH

NEEDED = {"text2wave": "festival festvox-us-slt-hts", "flite": "flite"}


def test_make_fixtures_reproduces_committed_files(tmp_path):
    for tool, pkg in NEEDED.items():
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} missing: apt-get install -y {pkg}")
    for f in ("/usr/share/codec2/raw/speech_orig_16k.wav", "/usr/share/sounds/alsa/Front_Center.wav"):
        if not os.path.exists(f):
            pytest.skip(f"{f} missing: apt-get install -y codec2-examples alsa-utils")
    out = tmp_path / "speech"
    subprocess.run(["sh", str(DATA / "make_fixtures.sh"), str(out)], check=True, capture_output=True, timeout=120)
    made = sorted(p.name for p in out.iterdir())
    committed = sorted(p.name for p in SPEECH.iterdir())
    assert made == committed
    for name in made:
        assert (out / name).read_bytes() == (SPEECH / name).read_bytes(), f"{name} differs from the committed fixture"


def test_every_fixture_has_a_transcript_or_is_unscripted():
    lines = (SPEECH / "transcripts.tsv").read_text().splitlines()
    assert lines[0] == "file\ttext"
    texts = dict(line.split("\t") for line in lines[1:])
    for name in texts:
        assert (SPEECH / name).is_file(), name
    # every synthetic file has its text; codec2's recordings have none in the package
    for p in SPEECH.glob("*.wav"):
        if p.name.startswith(("festival_", "flite_", "alsa_")):
            assert texts.get(p.name), f"{p.name} has no transcript"
