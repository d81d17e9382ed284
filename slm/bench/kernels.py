"""Kernel workloads at the shapes real models use: HuBERT-base, EnCodec 24 kHz,
HiFi-GAN V1, Qwen2-0.5B prefill (512 tokens) and single-token decode."""
from __future__ import annotations

import numpy as np

from .. import ops
from .harness import Workload

L3_BYTES = 32 << 20  # weights of decode GEMVs are rotated over > 4x this, so they come from DRAM


def _rng():
    return np.random.default_rng(0)


def _f(*shape, scale=1.0):
    return (_rng().standard_normal(shape) * scale).astype(np.float32)


def _torch():
    import torch
    return torch


def linear_w(name, M, K, N, bias=True, rotate=False, bf16=False):
    flops = 2.0 * M * K * N
    wbytes = (2 if bf16 else 4) * K * N

    def setup():
        torch = _torch()
        copies = max(1, (4 * L3_BYTES) // (4 * K * N) + 1) if rotate else 1
        x = _f(M, K)
        ws = [_f(N, K, scale=K ** -0.5) for _ in range(copies)]
        b = _f(N) if bias else None
        sw = [ops.bf16(w) for w in ws] if bf16 else ws
        tx, tws = torch.from_numpy(x), [torch.from_numpy(w) for w in ws]
        tb = torch.from_numpy(b) if bias else None
        i = [0]

        def s():
            i[0] = (i[0] + 1) % copies
            ops.linear(x, sw[i[0]], b)

        def t():
            i[0] = (i[0] + 1) % copies
            torch.nn.functional.linear(tx, tws[i[0]], tb)

        return s, {"torch": t}

    tag = " bf16-w" if bf16 else ""
    if rotate:
        return Workload(f"linear{tag} ({name})", f"{M}x{K} @ {N}x{K}^T", setup, flops, wbytes, "memory")
    return Workload(f"linear ({name})", f"{M}x{K} @ {N}x{K}^T", setup, flops)


def conv_w(name, N, Cin, L, Cout, K, stride=1, dilation=1, groups=1, padding=0):
    Lout = (L + 2 * padding - dilation * (K - 1) - 1) // stride + 1
    flops = 2.0 * N * Cout * Lout * (Cin // groups) * K

    def setup():
        torch = _torch()
        x, w, b = _f(N, Cin, L), _f(Cout, Cin // groups, K, scale=(Cin // groups * K) ** -0.5), _f(Cout)
        tx, tw, tb = map(torch.from_numpy, (x, w, b))
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return (lambda: ops.conv1d(x, w, b, **kw)), {"torch": lambda: torch.nn.functional.conv1d(tx, tw, tb, **kw)}

    return Workload(f"conv1d ({name})", f"{Cin}->{Cout} k{K} s{stride} d{dilation} g{groups} L{L}", setup, flops)


def convt_w(name, N, Cin, L, Cout, K, stride, padding=0):
    flops = 2.0 * N * Cin * L * Cout * K

    def setup():
        torch = _torch()
        x, w, b = _f(N, Cin, L), _f(Cin, Cout, K, scale=(Cin * K) ** -0.5), _f(Cout)
        tx, tw, tb = map(torch.from_numpy, (x, w, b))
        kw = dict(stride=stride, padding=padding)
        return (lambda: ops.conv_transpose1d(x, w, b, **kw)), {
            "torch": lambda: torch.nn.functional.conv_transpose1d(tx, tw, tb, **kw)}

    return Workload(f"conv_transpose1d ({name})", f"{Cin}->{Cout} k{K} s{stride} L{L}", setup, flops)


def sdpa_w(name, B, Hq, Hkv, L, S, D, causal):
    flops = 4.0 * B * Hq * L * S * D * (0.5 if causal and L == S else 1.0)

    def setup():
        torch = _torch()
        q, k, v = _f(B, Hq, L, D), _f(B, Hkv, S, D), _f(B, Hkv, S, D)
        tq, tk, tv = map(torch.from_numpy, (q, k, v))
        gqa = Hq != Hkv
        return (lambda: ops.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)), {
            "torch": lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal,
                                                                             enable_gqa=gqa)}

    bound = "cache" if L == 1 else "compute"
    return Workload(f"sdpa ({name})", f"q({B},{Hq},{L},{D}) kv({Hkv},{S})" + (" causal" if causal else ""),
                    setup, flops, 4.0 * B * Hkv * S * D * 2, bound)


def eltwise_w(name, op, shape, **kw):
    n = float(np.prod(shape))

    def setup():
        torch = _torch()
        x = _f(*shape)
        tx = torch.from_numpy(x)
        tf = getattr(torch.nn.functional, op)
        return (lambda: getattr(ops, op)(x, **kw)), {"torch": lambda: tf(tx, **kw)}

    return Workload(f"{op} ({name})", "x".join(map(str, shape)), setup, 0.0, 8.0 * n,
                    "memory" if 4.0 * n > L3_BYTES else "cache")


def norm_w(name, op, shape):
    n = float(np.prod(shape))

    def setup():
        torch = _torch()
        x = _f(*shape)
        tx = torch.from_numpy(x)
        if op == "group_norm":
            C = shape[1]
            w, b = _f(C), _f(C)
            tw, tb = torch.from_numpy(w), torch.from_numpy(b)
            return (lambda: ops.group_norm(x, C, w, b)), {
                "torch": lambda: torch.nn.functional.group_norm(tx, C, tw, tb)}
        C = shape[-1]
        w, b = _f(C), _f(C)
        tw, tb = torch.from_numpy(w), torch.from_numpy(b)
        if op == "layer_norm":
            return (lambda: ops.layer_norm(x, (C,), w, b)), {
                "torch": lambda: torch.nn.functional.layer_norm(tx, (C,), tw, tb)}
        return (lambda: ops.rms_norm(x, (C,), w, 1e-6)), {
            "torch": lambda: torch.nn.functional.rms_norm(tx, (C,), tw, 1e-6)}

    return Workload(f"{op} ({name})", "x".join(map(str, shape)), setup, 0.0, 8.0 * n,
                    "memory" if 4.0 * n > L3_BYTES else "cache")


def lstm_w(name, T, N, I, H, layers):
    flops = 2.0 * T * N * 4 * H * (I + H) * layers

    def setup():
        torch = _torch()
        m = torch.nn.LSTM(I, H, layers)
        x = _f(T, N, I)
        params = [p.detach().numpy().copy() for p in m._flat_weights]
        tx = torch.from_numpy(x)

        def t():
            with torch.no_grad():
                m(tx)
        return (lambda: ops.lstm(x, params, num_layers=layers)), {"torch": t}

    return Workload(f"lstm ({name})", f"T{T} N{N} {I}->{H} x{layers}", setup, flops)


def vq_w(name, T, D, K):
    flops = 2.0 * T * D * K

    def setup():
        torch = _torch()
        x, cb = _f(T, D), _f(K, D)
        tx, tc = torch.from_numpy(x), torch.from_numpy(cb)

        def t():  # EnCodec's EuclideanCodebook.quantize
            dist = -(tx.pow(2).sum(1, keepdim=True) - 2 * tx @ tc.t() + tc.pow(2).sum(1, keepdim=True).t())
            return dist.max(dim=-1).indices
        return (lambda: ops.nearest_codeword(x, cb)), {"torch": t}

    return Workload(f"nearest_codeword ({name})", f"{T}x{D} vs {K} codes", setup, flops)


def workloads(quick: bool = False):
    """The kernel workloads; quick=True keeps one per family for the README's main job."""
    T_hub = 499  # HuBERT frames for 10 s at 16 kHz
    w = [
        # Qwen2-0.5B: d=896, 14 q heads / 2 kv heads of 64, FFN 4864
        linear_w("Qwen2-0.5B prefill FFN up", 512, 896, 4864),
        linear_w("Qwen2-0.5B decode FFN up", 1, 896, 4864, bias=False, rotate=True),
        linear_w("Qwen2-0.5B decode FFN down", 1, 4864, 896, bias=False, rotate=True),
        linear_w("Qwen2-0.5B decode FFN up", 1, 896, 4864, bias=False, rotate=True, bf16=True),
        sdpa_w("Qwen2-0.5B prefill", 1, 14, 2, 512, 512, 64, True),
        sdpa_w("Qwen2-0.5B decode", 1, 14, 2, 1, 512, 64, False),
        linear_w("HuBERT-base FFN", T_hub, 768, 3072),
        sdpa_w("HuBERT-base", 1, 12, 12, T_hub, T_hub, 64, False),
        conv_w("HuBERT-base conv0", 1, 1, 160000, 512, 10, stride=5),
        conv_w("HuBERT-base conv1", 1, 512, 31999, 512, 3, stride=2),
        conv_w("HuBERT-base pos_conv", 1, 768, T_hub, 768, 128, groups=16, padding=64),
        conv_w("EnCodec 24k resblock", 1, 32, 240000, 16, 3, padding=1),
        conv_w("EnCodec 24k down x8", 1, 256, 1500, 512, 16, stride=8),
        convt_w("EnCodec 24k up x8", 1, 512, 75, 256, 16, 8),
        lstm_w("EnCodec 24k", 750, 1, 512, 512, 2),
        vq_w("EnCodec 24k RVQ stage", 750, 128, 1024),
        convt_w("HiFi-GAN V1 up1", 1, 512, 862, 256, 16, 8, padding=4),
        conv_w("HiFi-GAN V1 resblock k3", 1, 256, 6896, 256, 3, padding=1),
        conv_w("HiFi-GAN V1 resblock k11 d5", 1, 128, 55168, 128, 11, dilation=5, padding=25),
        norm_w("HuBERT-base", "layer_norm", (T_hub, 768)),
        norm_w("Qwen2-0.5B prefill", "rms_norm", (512, 896)),
        norm_w("HuBERT-base conv0", "group_norm", (1, 512, 31999)),
        eltwise_w("HuBERT-base FFN", "gelu", (T_hub, 3072)),
        eltwise_w("Qwen2-0.5B FFN", "silu", (512, 4864)),
        eltwise_w("HiFi-GAN V1", "leaky_relu", (1, 256, 6896), negative_slope=0.1),
    ]
    if quick:
        keep = {"linear (Qwen2-0.5B prefill FFN up)", "linear (Qwen2-0.5B decode FFN up)",
                "conv1d (HiFi-GAN V1 resblock k3)", "sdpa (HuBERT-base)", "layer_norm (HuBERT-base)",
                "gelu (HuBERT-base FFN)"}
        w = [x for x in w if x.name in keep]
    return w
