"""Build of slm's C extension ``slm._C``.

Everything under csrc/ is compiled into one extension module. Files in
csrc/kernels/simd/ are compiled twice, once for AVX2+FMA and once for AVX-512, with
different macros (see csrc/kernels/simd/simd.h); the rest is compiled for the baseline
x86-64 ISA, so one build runs on any x86-64 CPU and picks its path at run time.

Optional libraries, found by a compile-and-link probe:
  oneDNN      (Debian: libdnnl-dev)      SLM_DNNL=0 builds without it
  libsndfile  (Debian: libsndfile1-dev)  SLM_SNDFILE=0 builds without it
Set SLM_DNNL_ROOT / SLM_SNDFILE_ROOT to a prefix (include/, lib/) to use another copy.
SLM_SANITIZE=address,undefined builds with those sanitizers (see Makefile: make asan).
"""
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "csrc"

BASE_FLAGS = ["-std=gnu11", "-O3", "-fopenmp", "-fno-math-errno", "-Wall", "-Wextra",
              "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-cast-function-type",
              "-fvisibility=hidden"]
SIMD_FLAGS = {
    "avx2": ["-mavx2", "-mfma", "-mf16c", "-DSLM_SIMD_AVX2"],
    "avx512": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl",
               "-DSLM_SIMD_AVX512"],
}


def log(msg):
    print(f"[slm build] {msg}", file=sys.stderr, flush=True)


def rel(p):
    return str(Path(p).relative_to(ROOT))


def probe(code, libs, include_dirs=(), library_dirs=(), extra=()):
    """True if `code` compiles and links against `libs` with the system C compiler."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "probe.c"
        src.write_text(code)
        cmd = cc.split() + [str(src), "-o", str(Path(d) / "probe")] + list(extra)
        cmd += [f"-I{i}" for i in include_dirs] + [f"-L{l}" for l in library_dirs]
        cmd += [f"-l{l}" for l in libs]
        try:
            return subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            return False


def find_lib(name, env_flag, env_root, header, lib, code):
    if os.environ.get(env_flag, "1") == "0":
        log(f"{name}: disabled by {env_flag}=0")
        return None
    root = os.environ.get(env_root)
    inc = [os.path.join(root, "include")] if root else []
    libdirs = [os.path.join(root, "lib"), os.path.join(root, "lib64")] if root else []
    if probe(code, [lib], inc, libdirs):
        return {"include_dirs": inc, "library_dirs": libdirs, "libraries": [lib],
                "runtime_library_dirs": libdirs}
    log(f"{name}: NOT FOUND ({header} / -l{lib}); building without it")
    return None


def sources():
    simd, plain = [], []
    for p in sorted(CSRC.rglob("*.c")):
        (simd if p.parent == CSRC / "kernels" / "simd" else plain).append(rel(p))
    return plain, simd


class BuildExt(build_ext):
    def build_extensions(self):
        # compile the sources of one extension in parallel (2+ cores)
        jobs = int(os.environ.get("SLM_BUILD_JOBS", os.cpu_count() or 1))
        orig_compile = self.compiler.compile

        def par_compile(srcs, **kw):
            if len(srcs) <= 1 or jobs <= 1:
                return orig_compile(srcs, **kw)
            with ThreadPoolExecutor(jobs) as ex:
                parts = list(ex.map(lambda s: orig_compile([s], **kw), srcs))
            return [o for part in parts for o in part]

        self.compiler.compile = par_compile
        for ext in self.extensions:
            self._add_simd_objects(ext)
        super().build_extensions()

    def _add_simd_objects(self, ext):
        simd_srcs = ext._slm_simd_sources
        if not simd_srcs:
            return
        for isa, flags in SIMD_FLAGS.items():
            out = os.path.join(self.build_temp, "simd_" + isa)
            objs = self.compiler.compile(
                simd_srcs, output_dir=out, include_dirs=ext.include_dirs,
                macros=ext.define_macros, extra_postargs=ext.extra_compile_args + flags,
                debug=self.debug)
            ext.extra_objects.extend(objs)


def make_extension():
    machine = platform.machine().lower()
    x86 = machine in ("x86_64", "amd64", "i686", "x86")
    plain, simd = sources()
    macros = []
    import numpy
    include_dirs = [str(CSRC / "include"), str(CSRC), numpy.get_include()]
    library_dirs, libraries, rpath = [], [], []
    compile_args = list(BASE_FLAGS)
    link_args = ["-fopenmp"]

    if x86 and os.environ.get("SLM_SIMD", "1") != "0":
        macros += [("SLM_BUILD_AVX2", "1"), ("SLM_BUILD_AVX512", "1")]
    else:
        simd = []
        log("SIMD paths: not built (not x86-64 or SLM_SIMD=0); reference path only")

    dnnl = find_lib("oneDNN", "SLM_DNNL", "SLM_DNNL_ROOT", "oneapi/dnnl/dnnl.h", "dnnl",
                    "#include <oneapi/dnnl/dnnl.h>\nint main(void){return dnnl_version()->major < 2;}\n")
    snd = find_lib("libsndfile", "SLM_SNDFILE", "SLM_SNDFILE_ROOT", "sndfile.h", "sndfile",
                   "#include <sndfile.h>\nint main(void){return sf_version_string()==0;}\n")
    for lib, macro in ((dnnl, "SLM_HAVE_DNNL"), (snd, "SLM_HAVE_SNDFILE")):
        if lib:
            macros.append((macro, "1"))
            include_dirs += lib["include_dirs"]
            library_dirs += lib["library_dirs"]
            libraries += lib["libraries"]
            rpath += lib["runtime_library_dirs"]
    log("oneDNN: " + ("found, dnnl path built" if dnnl else "missing: SIMD and reference paths only"))
    log("libsndfile: " + ("found" if snd else "missing: audio file I/O unavailable"))

    san = os.environ.get("SLM_SANITIZE")
    if san:
        compile_args = [a for a in compile_args if a != "-O3"] + [
            "-O1", "-g", "-fno-omit-frame-pointer", f"-fsanitize={san}", "-fno-sanitize-recover=all"]
        link_args += [f"-fsanitize={san}"]
        log(f"sanitizers: {san}")

    ext = Extension("slm._C", sources=plain, include_dirs=include_dirs, define_macros=macros,
                    library_dirs=library_dirs, libraries=libraries, runtime_library_dirs=rpath,
                    extra_compile_args=compile_args, extra_link_args=link_args,
                    depends=[rel(p) for p in CSRC.rglob("*.h")] + simd)
    ext._slm_simd_sources = simd
    return ext


setup(ext_modules=[make_extension()], cmdclass={"build_ext": BuildExt})
