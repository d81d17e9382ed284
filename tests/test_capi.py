"""The C API without Python: build/libslm.so from csrc/ minus the glue, and a C99
program (tests/c/test_capi.c) compiled with -std=c99 -pedantic -Werror against
csrc/include/slm.h (make capi-test)."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_c_api_from_plain_c99():
    if not shutil.which("make") or not shutil.which(os.environ.get("CC", "cc")):
        pytest.skip("needs make and a C compiler")
    r = subprocess.run(["make", "-s", f"-j{os.cpu_count() or 1}", "capi-test"], cwd=ROOT, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    last = r.stdout.strip().splitlines()[-1]
    assert last.endswith(", 0 failed") and int(last.split()[0]) > 20, r.stdout
