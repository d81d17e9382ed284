"""embedding against torch.nn.functional.embedding on every path."""
import numpy as np
import pytest

import slm
from conftest import assert_close, noncontig


@pytest.mark.parametrize("shape,V,D", [((1,), 1, 1), ((7,), 50, 13), ((3, 5), 1000, 64), ((2, 3, 4), 17, 1)])
def test_embedding_matches_torch(path, torch, rng, shape, V, D):
    w = rng.standard_normal((V, D)).astype(np.float32)
    idx = rng.integers(0, V, size=shape)
    ref = torch.nn.functional.embedding(torch.from_numpy(idx), torch.from_numpy(w)).numpy()
    out = slm.ops.embedding(idx, w)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert_close(out, ref)
    # non-contiguous weight and indices, int32 indices
    assert_close(slm.ops.embedding(idx.astype(np.int32), noncontig(w)), ref)


def test_embedding_bad_input(rng):
    w = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="out of range"):
        slm.ops.embedding(np.array([0, 4]), w)
    with pytest.raises(ValueError, match="out of range"):
        slm.ops.embedding(np.array([-1]), w)
    with pytest.raises(TypeError, match="integer"):
        slm.ops.embedding(np.array([0.0]), w)
    with pytest.raises(TypeError, match="floating-point"):
        slm.ops.embedding(np.array([0]), w.astype(np.int32))
    with pytest.raises(ValueError, match="2-D"):
        slm.ops.embedding(np.array([0]), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="above 2"):
        slm.ops.embedding(np.array([2**63], dtype=np.uint64), w)
    # empty index array is fine: empty output
    assert slm.ops.embedding(np.zeros((0,), np.int64), w).shape == (0, 3)
    # the function still works after the errors
    assert_close(slm.ops.embedding(np.array([1]), w + 1), np.ones((1, 3)))
