"""Normalisations and activations: layer/group/RMS norm, the elementwise activations,
Snake, softmax (with masks) and rotary position embedding.

Names, arguments and defaults follow ``torch.nn.functional``; inputs are float arrays
(float16/float64 are cast to float32), outputs new float32 arrays. Norms run on the
``norm`` family's kernel path, everything else on the ``act`` family's (see
:func:`slm.backend_info`). NaN and Inf propagate as in torch.
"""
from .. import _C

__all__ = ["layer_norm", "group_norm", "rms_norm", "gelu", "silu", "relu", "leaky_relu", "elu",
           "tanh", "sigmoid", "snake", "softmax", "rope"]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the trailing ``normalized_shape`` dims of ``input``.

    ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance, as
    ``torch.nn.functional.layer_norm``. ``weight`` and ``bias`` (optional) have shape
    ``normalized_shape``. Moments are computed accurately (shifted two-pass), so data
    with a large offset keeps its variance."""
    return _C.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation of ``input`` (N, C, *): the C channels form ``num_groups``
    groups (which must divide C), each normalised over its channels and the trailing
    dims, then scaled and shifted per channel by ``weight`` (C,) and ``bias`` (C,).
    As ``torch.nn.functional.group_norm``."""
    return _C.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """RMS normalisation over the trailing ``normalized_shape`` dims:
    ``x / sqrt(mean(x^2) + eps) * weight``. ``eps=None`` uses float32's machine epsilon
    (``torch.finfo(torch.float32).eps``), as ``torch.nn.functional.rms_norm``.
    Note: LLaMA-style modules pass their own eps (1e-5 or 1e-6)."""
    return _C.rms_norm(input, normalized_shape, weight, eps)


def gelu(input, approximate="none"):
    """GELU: ``x/2 (1 + erf(x/sqrt 2))``, or with ``approximate='tanh'`` the tanh form
    ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``. gelu(-inf) is NaN, as in torch."""
    return _C.gelu(input, approximate)


def silu(input):
    """SiLU / swish: ``x * sigmoid(x)``, computed as torch does (``x / (1 + exp(-x))``,
    so silu(-inf) is NaN)."""
    return _C.silu(input)


def relu(input):
    """``max(x, 0)``; NaN stays NaN and -0.0 stays -0.0, as in torch."""
    return _C.relu(input)


def leaky_relu(input, negative_slope=0.01):
    """``x`` where ``x > 0``, else ``negative_slope * x``."""
    return _C.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)`` (computed as expm1)."""
    return _C.elu(input, alpha)


def tanh(input):
    """Hyperbolic tangent, elementwise."""
    return _C.tanh(input)


def sigmoid(input):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise."""
    return _C.sigmoid(input)


def snake(input, alpha, beta=None, logscale=False, eps=1e-9):
    """Snake / SnakeBeta activation of the BigVGAN and DAC vocoders (not in torch).

    ``out = x + 1 / (beta + eps) * sin(alpha * x)^2`` per channel, with ``beta = alpha``
    when ``beta`` is None (Snake). ``input`` is (N, C, L) or (C, L) (also (N, C, *), as
    DAC's snake); ``alpha`` and ``beta`` are (C,) (BigVGAN's parameters) or (1, C, 1)
    (DAC's ``Snake1d.alpha``). ``logscale=True`` exp()s them first (BigVGAN's
    ``alpha_logscale``). The epsilon sits where BigVGAN's ``no_div_by_zero`` and DAC's
    ``(alpha + 1e-9).reciprocal()`` put it. As in those float32 modules, ``alpha * x``
    is rounded to float32 before the sine, which matters for large ``|alpha * x|``."""
    return _C.snake(input, alpha, beta, logscale, eps)


def softmax(input, dim=-1, mask=None):
    """Softmax of ``input`` along ``dim`` (any dim, no transposes), as
    ``torch.softmax``, with an optional ``mask`` broadcastable to ``input``'s shape:

    * boolean mask, True = keep: the softmax runs over the kept positions only and a
      masked position's output is exactly 0 (whatever its input, NaN included).
      **A row with no kept position gives all zeros** (as attention kernels that skip
      empty rows do), not NaN. Equivalent torch:
      ``torch.where(mask, torch.softmax(x.masked_fill(~mask, -inf), dim), 0)``.
    * float mask: added to the input first, exactly ``torch.softmax(x + mask, dim)``;
      a row that is -inf everywhere after the addition is NaN, as in torch.

    Without a mask, a row containing NaN, or +inf, or only -inf is NaN, as in torch."""
    return _C.softmax(input, dim, mask)


def rope(input, positions=None, theta=10000.0, interleaved=False, rotary_dim=None):
    """Rotary position embedding of ``input`` (..., T, D) at integer ``positions`` (T,)
    (default ``arange(T)``).

    Pair i of the first ``rotary_dim`` dims (default D, must be even) is rotated by
    ``position * theta**(-2i / rotary_dim)``; the remaining dims pass through (GPT-NeoX
    partial rotary). ``interleaved=False`` pairs (i, i + rotary_dim/2) (Hugging Face
    LLaMA / Qwen2 ``rotate_half``); ``interleaved=True`` pairs (2i, 2i+1) (original
    LLaMA, GPT-J, Mimi's original checkpoints).

    Angles follow Hugging Face's float32 recipe: ``inv_freq`` is float32, the position
    is converted to float32 and ``position * inv_freq`` is rounded to float32 before
    cos/sin (which are accurate to an ulp). That rounding is part of what the models
    were trained with (at position 32k it moves angles by up to ~2e-3 rad from exact
    math), so the output matches HF's to float precision rather than an exact-math
    RoPE."""
    return _C.rope(input, positions, theta, interleaved, rotary_dim)
