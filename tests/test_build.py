"""The build without oneDNN: it must succeed, say so, and keep the SIMD and reference
paths working. Builds a second copy of the extension into a temporary folder."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHECK = r"""
import numpy as np, slm
info = slm.backend_info()
assert not info.built["dnnl"] and not info.available["dnnl"], info
assert "oneDNN: not in this build" in str(info), str(info)
assert "dnnl" not in set(info.families.values())
try:
    slm.set_backend("dnnl")
    raise SystemExit("dnnl accepted")
except slm.BackendError as e:
    assert "not in this build" in str(e), e
w = np.arange(12, dtype=np.float32).reshape(3, 4)
assert slm.ops.embedding(np.array([2]), w).tolist() == [[8, 9, 10, 11]]
x = np.ones((1, 2, 5), np.float32)
y = slm.ops.conv1d(x, np.ones((3, 2, 3), np.float32), padding=1)
assert y.shape == (1, 3, 5) and float(y[0, 0, 2]) == 6.0
print("ok", info.families)
"""


def test_build_without_onednn(tmp_path):
    if os.environ.get("SLM_SKIP_BUILD_TEST") == "1":
        pytest.skip("SLM_SKIP_BUILD_TEST=1")
    env = dict(os.environ, SLM_DNNL="0")
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(tmp_path / "lib"),
                        "--build-temp", str(tmp_path / "obj")], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "oneDNN: disabled by SLM_DNNL=0" in r.stderr
    assert "missing: SIMD and reference paths only" in r.stderr
    pkg = tmp_path / "lib" / "slm"
    for item in os.listdir(os.path.join(ROOT, "slm")):
        src = os.path.join(ROOT, "slm", item)
        if item.endswith(".py"):
            shutil.copy(src, pkg / item)
        elif os.path.isdir(src) and item != "__pycache__":
            shutil.copytree(src, pkg / item, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    r = subprocess.run([sys.executable, "-c", CHECK], cwd=str(tmp_path), capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(tmp_path / "lib")), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok")
