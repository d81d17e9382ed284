"""Recurrent and quantiser kernels: ``lstm`` (torch.nn.LSTM) and ``nearest_codeword``
(the search step of EnCodec/SoundStream/DAC residual vector quantisers)."""
import numpy as np

from .. import _C

__all__ = ["lstm", "nearest_codeword"]


def lstm(input, params, hx=None, num_layers=1, bidirectional=False, batch_first=False, bias=True,
         proj_size=0):
    """A multi-layer LSTM with ``torch.nn.LSTM``'s semantics, on NumPy arrays.

    input: (T, N, I), or (N, T, I) with ``batch_first``, or unbatched (T, I).
    params: the weights as a list in ``nn.LSTM._flat_weights`` order, i.e. for each layer
    and each direction (forward, then reverse): ``w_ih`` (4H, I_l), ``w_hh`` (4H, H),
    ``b_ih`` (4H), ``b_hh`` (4H), with I_l = I for layer 0 and D*H above (D = 2 if
    bidirectional); with ``bias=False`` only the two weights. Gates in torch's order
    i, f, g, o. hx: ``(h0, c0)``, each (num_layers*D, N, H) ((num_layers*D, H) for an
    unbatched input), or None for zeros.

    Returns ``(output, (h_n, c_n))`` like torch: output (T, N, D*H) (batch-first or
    unbatched like the input), h_n and c_n (num_layers*D, N, H). float32.

    ``proj_size`` (LSTM with projections) is not supported: ValueError if nonzero. There
    is no dropout (inference only). T must be >= 1, as in torch.
    """
    fn = "lstm"
    if proj_size:
        raise ValueError(f"{fn}: proj_size={proj_size!r} is not supported (only proj_size=0)")
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{fn}: params must be a list or tuple of arrays, got {type(params).__name__}")
    x = np.asarray(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"{fn}: input must be 3-D (T, N, I) / (N, T, I), or 2-D (T, I) unbatched, "
                         f"got shape {x.shape}")
    unbatched = x.ndim == 2
    h0 = c0 = None
    if hx is not None:
        if not isinstance(hx, (list, tuple)) or len(hx) != 2:
            raise TypeError(f"{fn}: hx must be a tuple (h0, c0) or None")
        h0, c0 = np.asarray(hx[0]), np.asarray(hx[1])
        want = 2 if unbatched else 3
        if h0.ndim != want or c0.ndim != want:
            raise ValueError(f"{fn}: for a {x.ndim}-D input, h0 and c0 must be {want}-D, got shapes "
                             f"{h0.shape} and {c0.shape}")
    if unbatched:
        # torch reads a 2-D input as (T, I) whatever batch_first says
        x = x[:, None, :]
        batch_first = False
        if h0 is not None:
            h0, c0 = h0[:, None, :], c0[:, None, :]
    out, h_n, c_n = _C.lstm(x, list(params), h0, c0, int(num_layers), bool(bidirectional), bool(bias),
                            bool(batch_first))
    if unbatched:
        return out[:, 0, :], (h_n[:, 0, :], c_n[:, 0, :])
    return out, (h_n, c_n)


def nearest_codeword(x, codebook, metric="l2", return_distances=False):
    """Index of the codeword of ``codebook`` (K, D) nearest to each row of ``x`` (..., D).

    metric 'l2': squared Euclidean distance computed as EnCodec/SoundStream's quantiser
    does (``-(|x|^2 - 2 x @ c.T + |c|^2)`` and its argmax); 'cosine': the argmax of the
    dot product of L2-normalised vectors (DAC; norms floored at 1e-12 as F.normalize).
    Ties give the lowest index (as torch's argmax). Returns int64 indices of shape
    x.shape[:-1]; with ``return_distances`` also the chosen distance as float32: the
    squared distance for 'l2' (as the formula computes it, so it can be slightly
    negative by rounding) or the cosine distance 1 - cos for 'cosine'.

    NaN/Inf in x or the codebook raise ValueError naming the row (rows of x counted
    in x.reshape(-1, D)): a silently wrong index would be worse. So does a row so large
    that its squared norm would overflow float32.
    """
    return _C.nearest_codeword(x, codebook, metric, bool(return_distances))
