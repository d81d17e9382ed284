/* attn.c: public entry of scaled_dot_product_attention: validation and path choice.
 *
 * Attention sits in every Transformer of the flow (SSL encoders, Whisper encoder, the
 * LM with its KV cache). The checks here are the only ones: the kernels (ref/attn_ref.c,
 * simd/attn.c) trust their parameters. */
#include <math.h>
#include <string.h>

#include "attn.h"

slm_sdpa_params slm_sdpa_default_params(int64_t B, int64_t Hq, int64_t Hk, int64_t Hv, int64_t L,
                                        int64_t S, int64_t E, int64_t Ev) {
    slm_sdpa_params p;
    memset(&p, 0, sizeof p);
    p.B = B, p.Hq = Hq, p.Hk = Hk, p.Hv = Hv, p.L = L, p.S = S, p.E = E, p.Ev = Ev;
    p.q_sl = E, p.q_sh = L * E, p.q_sb = Hq * L * E;
    p.k_ss = E, p.k_sh = S * E, p.k_sb = Hk * S * E;
    p.v_ss = Ev, p.v_sh = S * Ev, p.v_sb = Hv * S * Ev;
    p.o_sl = Ev, p.o_sh = L * Ev, p.o_sb = Hq * L * Ev;
    p.mask_kind = SLM_ATTN_MASK_NONE;
    p.is_causal = 0;
    /* in double, then rounded once: torch computes 1/sqrt(E) as a Python/C++ double */
    p.scale = E > 0 ? (float)(1.0 / sqrt((double)E)) : 1.0f;
    return p;
}

slm_status slm_sdpa_f32(float *out, const float *q, const float *k, const float *v,
                        const void *mask, const slm_sdpa_params *pp) {
    static const char fn[] = "scaled_dot_product_attention";
    SLM_CHECK(pp != NULL, fn, "params is NULL");
    slm_sdpa_params p = *pp;
    SLM_CHECK(p.B >= 0 && p.Hq >= 0 && p.Hk >= 0 && p.Hv >= 0 && p.L >= 0 && p.S >= 0 && p.E >= 0 &&
                  p.Ev >= 0,
              fn, "negative size (B=%lld, Hq=%lld, Hk=%lld, Hv=%lld, L=%lld, S=%lld, E=%lld, Ev=%lld)",
              (long long)p.B, (long long)p.Hq, (long long)p.Hk, (long long)p.Hv, (long long)p.L,
              (long long)p.S, (long long)p.E, (long long)p.Ev);
    SLM_CHECK(p.mask_kind == SLM_ATTN_MASK_NONE || p.mask_kind == SLM_ATTN_MASK_BOOL ||
                  p.mask_kind == SLM_ATTN_MASK_ADD,
              fn, "unknown mask_kind %d", (int)p.mask_kind);
    SLM_CHECK((p.mask_kind == SLM_ATTN_MASK_NONE) == (mask == NULL), fn,
              "mask is %s but mask_kind is %d", mask ? "given" : "NULL", (int)p.mask_kind);
    SLM_CHECK(!(p.is_causal && mask), fn,
              "attn_mask and is_causal=True cannot be combined; fold the causal mask into attn_mask");
    if (p.Hq > 0) {
        SLM_CHECK(p.Hk >= 1 && p.Hv >= 1 && p.Hq % p.Hk == 0 && p.Hq % p.Hv == 0, fn,
                  "key heads (%lld) and value heads (%lld) must divide query heads (%lld)",
                  (long long)p.Hk, (long long)p.Hv, (long long)p.Hq);
    }
    int64_t n_out, n_k, n_v, n_work;
    SLM_TRY(slm_numel(fn, &n_out, 4, p.B, p.Hq, p.L, p.Ev));
    SLM_TRY(slm_numel(fn, &n_k, 4, p.B, p.Hk, p.S, p.E));
    SLM_TRY(slm_numel(fn, &n_v, 4, p.B, p.Hv, p.S, p.Ev));
    /* the kernels index rows and keys with int64: keep every product in range */
    SLM_TRY(slm_numel(fn, &n_work, 5, p.B, p.Hq, p.L, p.S, p.E + p.Ev + 1));
    if (n_out == 0) return SLM_OK;
    SLM_CHECK(out && q && k && v, fn, "NULL buffer");
    if (p.S == 0) {
        /* no key at all: every row is "fully masked", zeros as in torch */
        for (int64_t b = 0; b < p.B; b++)
            for (int64_t h = 0; h < p.Hq; h++)
                for (int64_t l = 0; l < p.L; l++)
                    memset(out + b * p.o_sb + h * p.o_sh + l * p.o_sl, 0, (size_t)p.Ev * sizeof(float));
        return SLM_OK;
    }
    /* E = 0: every score is an empty sum, exactly 0 (torch never multiplies the scale
     * into it, so an infinite 1/sqrt(0) must not turn it into NaN) */
    if (p.E == 0) p.scale = 0.0f;
    switch (slm_family_path(SLM_FAMILY_ATTN)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: return slm_sdpa_f32_avx512(out, q, k, v, mask, &p);
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: return slm_sdpa_f32_avx2(out, q, k, v, mask, &p);
#endif
    default: return slm_sdpa_f32_ref(out, q, k, v, mask, &p);
    }
}
