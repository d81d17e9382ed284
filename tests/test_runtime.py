"""The runtime: version, backend report and forcing, thread setting, import-time errors."""
import os
import subprocess
import sys

import numpy as np
import pytest

import slm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_py(code, **env):
    e = dict(os.environ)
    e.update(env)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=120)


def test_version_and_header_agree():
    num, text = slm._C.version()
    assert slm.__version__ == text
    major, minor, patch = (int(x) for x in text.split("."))
    assert num == major * 10000 + minor * 100 + patch == slm._C.VERSION
    header = open(os.path.join(ROOT, "csrc", "include", "slm.h")).read()
    assert f'#define SLM_VERSION_STRING "{text}"' in header


def test_backend_info_is_consistent():
    info = slm.backend_info()
    assert info.available["ref"] and info.built["ref"]
    for p, ok in info.available.items():
        assert not ok or info.built[p], f"{p} available but not built"
    assert set(info.families) == {"gemm", "conv", "norm", "act", "attn", "rnn", "vq", "embed", "dsp"}
    for fam, used in info.families.items():
        assert info.available[used], f"{fam} uses {used}, which cannot run here"
        assert used in info.implements[fam]
    report = str(info)
    for fam in info.families:
        assert fam in report
    if "avx2" in info.cpu.split() and "os_ymm" in info.cpu.split() and info.built["avx2"]:
        assert info.available["avx2"]
    if "avx512f" not in info.cpu.split():
        assert not info.available["avx512"]


def test_set_backend_forces_and_restores():
    try:
        slm.set_backend("ref")
        assert slm.get_backend() == "ref"
        assert set(slm.backend_info().families.values()) == {"ref"}
    finally:
        slm.set_backend("auto")
    assert slm.get_backend() == "auto"


def test_set_backend_errors_leave_setting_unchanged():
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        slm.set_backend("cuda")
    with pytest.raises(TypeError):
        slm.set_backend(3)
    for p in ("ref", "avx2", "avx512", "dnnl"):
        if not slm.backend_info().available[p]:
            with pytest.raises(slm.BackendError, match=p):
                slm.set_backend(p)
    assert slm.get_backend() == "auto"


@pytest.mark.parametrize("bad", ["bogus", "AVX2"])
def test_env_backend_unknown_is_an_import_error(bad):
    r = run_py("import slm", SLM_BACKEND=bad)
    assert r.returncode != 0
    assert "BackendError" in r.stderr and "is not a backend" in r.stderr


def test_env_backend_unrunnable_is_an_import_error():
    missing = [p for p in ("avx512", "avx2", "dnnl") if not slm.backend_info().available[p]]
    if not missing:
        pytest.skip("every path runs on this machine")
    r = run_py("import slm", SLM_BACKEND=missing[0])
    assert r.returncode != 0 and "cannot run here" in r.stderr


def test_env_backend_ref_forces_every_family():
    r = run_py("import slm; print(sorted(set(slm.backend_info().families.values())))", SLM_BACKEND="ref")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['ref']"


def test_build_without_dnnl_reports_it():
    # the report must say so when oneDNN is missing; here we can only check the wording
    # of the present case and that dnnl availability follows the build flag
    info = slm.backend_info()
    assert info.available["dnnl"] == info.built["dnnl"]
    if not info.built["dnnl"]:
        assert "not in this build" in str(info)
    else:
        assert info.dnnl_version


def test_threads_setting():
    n0 = slm.get_num_threads()
    try:
        slm.set_num_threads(1)
        assert slm.get_num_threads() == 1
        assert slm.backend_info().num_threads == 1
        for bad in (0, -1, 10**9):
            with pytest.raises(ValueError):
                slm.set_num_threads(bad)
        for bad in ("2", 2.0, True, None):
            with pytest.raises(TypeError):
                slm.set_num_threads(bad)
        assert slm.get_num_threads() == 1
    finally:
        slm.set_num_threads(n0)


def test_env_num_threads():
    r = run_py("import slm; print(slm.get_num_threads())", SLM_NUM_THREADS="3")
    assert r.returncode == 0 and r.stdout.strip() == "3"


def test_bf16_roundtrip(torch):
    x = np.random.default_rng(0).standard_normal(1001).astype(np.float32) * 100
    x[:4] = [np.inf, -np.inf, 0.0, -0.0]
    x[4] = np.nan
    bits = slm.ops.to_bf16(x)
    assert bits.dtype == np.uint16
    ref = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    same = bits == ref
    same[4] = np.isnan(slm.ops.from_bf16(bits[4:5]))[0]  # NaN payloads may differ
    assert same.all()
    back = slm.ops.from_bf16(bits)
    np.testing.assert_array_equal(back[5:], torch.from_numpy(x[5:]).to(torch.bfloat16).float().numpy())
    with pytest.raises(TypeError, match="uint16"):
        slm.ops.from_bf16(np.zeros(3, np.int16))
    with pytest.raises(TypeError, match="floating-point"):
        slm.ops.to_bf16(np.zeros(3, np.int32))
