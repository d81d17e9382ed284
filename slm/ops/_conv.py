"""1-D convolution and transposed convolution (the conv op family).

Same names, arguments, defaults and layouts as ``torch.nn.functional.conv1d`` and
``conv_transpose1d``, on NumPy arrays: input (N, Cin, L) or unbatched (Cin, L), conv
weight (Cout, Cin/groups, K), transposed-conv weight (Cin, Cout/groups, K). Two
additions to conv1d cover what speech models need without a separate pad op:
``padding_mode`` (as ``nn.Conv1d``'s) and ``causal``.
"""
import operator

from .. import _C

__all__ = ["conv1d", "conv_transpose1d"]

_PADDING_MODES = {"zeros": 0, "reflect": 1, "replicate": 2, "circular": 3}
_I64 = 1 << 63


def _int(fn, name, v):
    """An int argument as torch takes it: an int or a 1-element tuple/list of one."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{fn}: {name} must be an int or a 1-element tuple, got {v!r}")
        v = v[0]
    if isinstance(v, bool) or isinstance(v, str):
        raise TypeError(f"{fn}: {name} must be an int, got {type(v).__name__}")
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be an int, got {type(v).__name__}") from None
    if not -_I64 <= v < _I64:
        raise ValueError(f"{fn}: {name} = {v} is out of range")
    return v


def _kernel_size(weight):
    shape = getattr(weight, "shape", None)
    if shape is None:
        import numpy as np
        shape = np.shape(weight)
    return int(shape[-1]) if len(shape) == 3 else 1  # a bad rank is reported by _C


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           causal=False):
    """1-D convolution, as ``torch.nn.functional.conv1d``.

    input (N, Cin, L) or (Cin, L); weight (Cout, Cin/groups, K); bias (Cout,) or None.
    ``padding`` is an int, ``'valid'`` (0) or ``'same'`` (output length L; stride must
    be 1; an odd total d*(K-1) puts the extra sample on the right, as torch does).
    ``padding_mode`` ('zeros', 'reflect', 'replicate', 'circular') fills the padding as
    ``nn.Conv1d(padding_mode=...)`` does: reflect needs padding < L, circular <= L.
    ``causal=True`` pads dilation*(K-1) samples on the left only (padding must be 0), so
    output t sees inputs up to t; ``padding_mode`` applies to that padding too (EnCodec
    pads causal convs by reflection). Returns float32 (N, Cout, Lout) or (Cout, Lout),
    Lout = (L + pads - dilation*(K-1) - 1) // stride + 1.
    """
    fn = "conv1d"
    stride = _int(fn, "stride", stride)
    dilation = _int(fn, "dilation", dilation)
    groups = _int(fn, "groups", groups)
    if not isinstance(padding_mode, str) or padding_mode not in _PADDING_MODES:
        raise ValueError(f"{fn}: padding_mode must be one of {list(_PADDING_MODES)}, got {padding_mode!r}")
    K = _kernel_size(weight)
    if isinstance(padding, str):
        if padding == "valid":
            left = right = 0
        elif padding == "same":
            if stride != 1:
                raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride})")
            if dilation < 1 or K < 1:
                left = right = 0  # the bad value is reported by _C
            else:
                total = dilation * (K - 1)
                left = total // 2
                right = total - left
        else:
            raise ValueError(f"{fn}: invalid padding string {padding!r}; use 'valid', 'same' or an int")
    else:
        left = right = _int(fn, "padding", padding)
    if causal:
        if left != 0 or right != 0:
            raise ValueError(f"{fn}: causal=True pads dilation*(K-1) on the left itself; padding must be 0, "
                             f"got {padding!r}")
        left = dilation * (K - 1) if dilation >= 1 and K >= 1 else 0
        if left >= _I64:
            raise ValueError(f"{fn}: causal padding dilation*(K-1) = {left} is out of range")
    return _C.conv1d(input, weight, bias, stride, left, right, dilation, groups, _PADDING_MODES[padding_mode])


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    input (N, Cin, L) or (Cin, L); weight (Cin, Cout/groups, K); bias (Cout,) or None.
    Returns float32 (N, Cout, Lout) or (Cout, Lout) with
    Lout = (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1;
    output_padding must be smaller than stride or dilation.
    """
    fn = "conv_transpose1d"
    return _C.conv_transpose1d(input, weight, bias, _int(fn, "stride", stride), _int(fn, "padding", padding),
                               _int(fn, "output_padding", output_padding), _int(fn, "groups", groups),
                               _int(fn, "dilation", dilation))
