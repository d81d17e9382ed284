"""Which kernel path (ref, avx2, avx512, dnnl) each op family uses, and why."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from . import _C

PATHS = ("ref", "avx2", "avx512", "dnnl")
_FAMILY_OPS = {
    "gemm": "linear, matmul",
    "conv": "conv1d, conv_transpose1d",
    "norm": "layer_norm, group_norm, rms_norm",
    "act": "gelu, silu, relu, leaky_relu, elu, tanh, sigmoid, snake, softmax, rope",
    "attn": "scaled_dot_product_attention",
    "rnn": "lstm",
    "vq": "nearest_codeword",
    "embed": "embedding",
    "dsp": "fft, stft, istft, mel front ends, resample, f0, griffin_lim",
}


@dataclass(frozen=True)
class BackendInfo:
    """What :func:`backend_info` reports. ``str(info)`` gives a readable table."""

    cpu: str
    built: dict = field(default_factory=dict)       # path -> compiled into this build
    available: dict = field(default_factory=dict)   # path -> build has it and the CPU runs it
    implements: dict = field(default_factory=dict)  # family -> paths with an implementation
    families: dict = field(default_factory=dict)    # family -> path in use now
    forced: str = "auto"                            # SLM_BACKEND / set_backend, or 'auto'
    num_threads: int = 1
    dnnl_version: str = ""
    sndfile_version: str = ""
    family_ops: ClassVar[dict] = _FAMILY_OPS        # family -> the ops it covers

    def reason(self, family: str) -> str:
        """Why ``family`` uses the path it uses."""
        used = self.families[family]
        impl = self.implements[family]
        missing = [p for p in PATHS if p in impl and not self.available[p]]
        why = []
        if self.forced != "auto":
            why.append(f"forced '{self.forced}'" + ("" if used == self.forced else
                                                   f", which {family} lacks or cannot run"))
        else:
            why.append("fastest available")
        if missing:
            why.append("unavailable here: " + ", ".join(
                f"{p} ({'not built' if not self.built[p] else 'CPU lacks it'})" for p in missing))
        return "; ".join(why)

    def __str__(self) -> str:
        lines = [f"slm {_C.version()[1]}",
                 f"cpu features: {self.cpu or '(none detected)'}",
                 f"threads: {self.num_threads}",
                 "oneDNN: " + (self.dnnl_version or "not in this build (SIMD and reference paths only)"),
                 "libsndfile: " + (self.sndfile_version or "not in this build"),
                 "paths: " + ", ".join(f"{p} {'yes' if self.available[p] else 'no'}" for p in PATHS),
                 f"forced: {self.forced}",
                 f"{'family':<7} {'path':<7} {'implemented':<24} why"]
        for fam, used in self.families.items():
            lines.append(f"{fam:<7} {used:<7} {','.join(self.implements[fam]):<24} {self.reason(fam)}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython / Jupyter
        p.text(str(self))


def backend_info() -> BackendInfo:
    """Report the CPU features seen, the paths built and runnable, and per op family
    the path in use and why. Family members: see ``BackendInfo.family_ops``."""
    raw = _C.backend_raw()
    return BackendInfo(cpu=raw["cpu"], built=raw["built"], available=raw["available"],
                       implements=raw["implements"], families=raw["families"],
                       forced=raw["forced"], num_threads=raw["num_threads"],
                       dnnl_version=raw["dnnl_version"], sndfile_version=raw["sndfile_version"])



def set_backend(name: str) -> None:
    """Force every op family onto one path: 'ref', 'avx2', 'avx512', 'dnnl', or 'auto'
    (fastest per family, the default). Families without the forced path use the best
    SIMD path below it. A path this machine cannot run raises :class:`slm.BackendError`
    and leaves the setting as it was. The environment variable ``SLM_BACKEND`` sets the
    same thing at import."""
    _C.set_backend(name)


def get_backend() -> str:
    """The forced path, or 'auto'."""
    return _C.get_backend()
