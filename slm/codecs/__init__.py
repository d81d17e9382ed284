"""Neural audio codecs and their quantizers (issue 5). So far: residual vector quantization
as EnCodec/SoundStream, DAC (factorised, cosine) and Mimi (split semantic/acoustic) do it,
loaded from the reference packages' and transformers' state dicts; SEANet conv stacks run
as C programs; EnCodec (24 kHz family) and DAC from their packages' checkpoints and
transformers folders. See docs/codecs.md."""
from .rvq import RVQ, SplitRVQ, Stage, fold_weight_norm  # noqa: F401
from .seanet import ConvStack, SEANetConfig  # noqa: F401
from .encodec import EnCodec  # noqa: F401
from .dac import DAC  # noqa: F401

__all__ = ["RVQ", "SplitRVQ", "Stage", "fold_weight_norm", "ConvStack", "SEANetConfig", "EnCodec", "DAC"]
