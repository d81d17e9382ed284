"""A tour of slm's kernels: a HiFi-GAN-style residual block and a Transformer
attention block on NumPy arrays, on every kernel path this machine runs.

    python examples/kernels_tour.py
"""
import time

import numpy as np

import slm
from slm import ops

rng = np.random.default_rng(0)


def resblock(x, convs, slope=0.1):
    """HiFi-GAN ResBlock1: for each dilation, x += conv(lrelu(conv_d(lrelu(x))))."""
    for (w1, b1, d), (w2, b2) in convs:
        k = w1.shape[-1]
        y = ops.leaky_relu(x, slope)
        y = ops.conv1d(y, w1, b1, dilation=d, padding=d * (k - 1) // 2)
        y = ops.leaky_relu(y, slope)
        y = ops.conv1d(y, w2, b2, padding=(k - 1) // 2)
        x = x + y
    return x


def attention_block(h, p, n_heads):
    """Pre-norm self-attention of a LLaMA-style block (no KV cache)."""
    T, d = h.shape
    x = ops.rms_norm(h, (d,), p["norm"], 1e-6)
    q, k, v = (ops.linear(x, p[n]).reshape(T, n_heads, -1).transpose(1, 0, 2) for n in "qkv")
    q, k = ops.rope(q), ops.rope(k)
    a = ops.scaled_dot_product_attention(q, k, v, is_causal=True)
    return h + ops.linear(a.transpose(1, 0, 2).reshape(T, d), p["o"])


def main():
    print(slm.backend_info(), "\n")
    C, L = 128, 8000
    convs = [((rng.standard_normal((C, C, 3), dtype=np.float32) * 0.05, np.zeros(C, np.float32), d),
              (rng.standard_normal((C, C, 3), dtype=np.float32) * 0.05, np.zeros(C, np.float32)))
             for d in (1, 3, 5)]
    x = rng.standard_normal((1, C, L), dtype=np.float32)
    d, H, T = 256, 4, 300
    p = {n: rng.standard_normal((d, d), dtype=np.float32) * d ** -0.5 for n in "qkvo"}
    p["norm"] = np.ones(d, np.float32)
    h = rng.standard_normal((T, d), dtype=np.float32)

    results = {}
    for path in ("ref", "avx2", "avx512", "dnnl", "auto"):
        try:
            slm.set_backend(path)
        except slm.BackendError as e:
            print(f"{path:>6}: skipped ({e})")
            continue
        t0 = time.perf_counter()
        y = resblock(x, convs)
        z = attention_block(h, p, H)
        dt = time.perf_counter() - t0
        results[path] = (y, z)
        ref = results["ref"]
        err = max(float(np.sum((a - b) ** 2) / np.sum(b ** 2)) for a, b in zip((y, z), ref))
        print(f"{path:>6}: {dt * 1e3:8.1f} ms   normalised MSE vs ref {err:.1e}")
    slm.set_backend("auto")


if __name__ == "__main__":
    main()
