/* rvq.c: residual vector quantization (EnCodec/SoundStream, DAC's factorised codes, the
 * halves of Mimi's split quantizer): encode latents to codes and decode codes back.
 *
 * Each stage is composed from public ops, so every kernel path of theirs applies: the
 * optional projections are slm_linear_f32 (GEMM family), the search is
 * slm_nearest_codeword_f32 (vq family: L2 with EnCodec's formula, or cosine for DAC),
 * the lookup is slm_embedding_f32. The residual and the running sum are updated here in
 * the reference order (residual = residual - contribution; sum = sum + contribution,
 * stage by stage), so the float results follow the PyTorch modules step for step. */
#include <stdio.h>
#include <string.h>

#include "slm/rvq.h"

#include "slm/ops_embed.h"
#include "slm/ops_gemm.h"
#include "runtime/runtime.h"

/* stages (n_q) against a latent of D features: sizes, pointers and projection shapes */
static slm_status check_stages(const slm_rvq_stage *st, int64_t n_q, int64_t D, int64_t *dmax, const char *fn) {
    SLM_CHECK(n_q >= 1, fn, "n_q must be >= 1, got %lld", (long long)n_q);
    SLM_CHECK(st != NULL, fn, "NULL stages");
    *dmax = D;
    for (int64_t i = 0; i < n_q; i++) {
        const slm_rvq_stage *s = st + i;
        SLM_CHECK(s->codebook && s->K >= 1 && s->d >= 1, fn, "stage %lld: empty codebook (K=%lld, d=%lld)",
                  (long long)i, (long long)s->K, (long long)s->d);
        SLM_CHECK(s->metric == SLM_VQ_L2 || s->metric == SLM_VQ_COSINE, fn, "stage %lld: unknown metric %d",
                  (long long)i, (int)s->metric);
        SLM_CHECK(s->in_w || (!s->in_b && s->d == D), fn,
                  "stage %lld: without an input projection the codewords need D=%lld features, they have %lld",
                  (long long)i, (long long)D, (long long)s->d);
        SLM_CHECK(s->out_w || (!s->out_b && s->d == D), fn,
                  "stage %lld: without an output projection the codewords need D=%lld features, they have %lld",
                  (long long)i, (long long)D, (long long)s->d);
        int64_t n;
        SLM_TRY(slm_numel(fn, &n, 3, s->K, s->d, (int64_t)sizeof(float)));
        if (s->d > *dmax) *dmax = s->d;
    }
    return SLM_OK;
}

/* contribution (T, D) of stage s for codes (T), using e (T, d) as scratch */
static slm_status contribution(float *c, float *e, const slm_rvq_stage *s, const int64_t *codes, int64_t T,
                               int64_t D) {
    SLM_TRY(slm_embedding_f32(s->out_w ? e : c, s->codebook, codes, T, s->K, s->d));
    if (s->out_w) SLM_TRY(slm_linear_f32(c, e, s->out_w, s->out_b, T, s->d, D));
    return SLM_OK;
}

/* codes (n_q, T), quantized (T, D) or NULL <- x (T, D) */
slm_status slm_rvq_encode_f32(int64_t *codes, float *quantized, const float *x, const slm_rvq_stage *stages,
                              int64_t n_q, int64_t T, int64_t D) {
    static const char fn[] = "rvq_encode";
    SLM_CHECK(T >= 0 && D >= 1, fn, "bad sizes T=%lld D=%lld", (long long)T, (long long)D);
    int64_t dmax, n;
    SLM_TRY(check_stages(stages, n_q, D, &dmax, fn));
    SLM_TRY(slm_numel(fn, &n, 3, T, dmax, (int64_t)sizeof(float)));
    if (quantized) memset(quantized, 0, (size_t)(T * D) * sizeof(float));
    if (T == 0) return SLM_OK;
    SLM_CHECK(codes && x, fn, "NULL buffer");
    slm_arena ar;
    const size_t td = (size_t)(T * D) * sizeof(float), tm = (size_t)(T * dmax) * sizeof(float);
    SLM_TRY(slm_arena_init(&ar, 2 * slm_arena_need(td) + 2 * slm_arena_need(tm), fn));
    float *r = slm_arena_take(&ar, td), *c = slm_arena_take(&ar, td);
    float *z = slm_arena_take(&ar, tm), *e = slm_arena_take(&ar, tm);
    memcpy(r, x, td);
    slm_status st = SLM_OK;
    for (int64_t i = 0; i < n_q && st == SLM_OK; i++) {
        const slm_rvq_stage *s = stages + i;
        int64_t *ci = codes + i * T;
        const float *q = r;
        if (s->in_w) {
            if ((st = slm_linear_f32(z, r, s->in_w, s->in_b, T, D, s->d)) != SLM_OK) break;
            q = z;
        }
        if ((st = slm_nearest_codeword_f32(ci, NULL, q, s->codebook, T, s->K, s->d, s->metric)) != SLM_OK) {
            if (st == SLM_ERR_VALUE) { /* name the stage: a NaN in x reaches the search of stage 0 */
                char msg[512];
                snprintf(msg, sizeof msg, "%s", slm_last_error());
                st = slm_error(SLM_ERR_VALUE, fn, "stage %lld: %s", (long long)i, msg);
            }
            break;
        }
        if ((st = contribution(c, e, s, ci, T, D)) != SLM_OK) break;
        for (int64_t j = 0; j < T * D; j++) r[j] = r[j] - c[j];
        if (quantized)
            for (int64_t j = 0; j < T * D; j++) quantized[j] = quantized[j] + c[j];
    }
    slm_arena_release(&ar);
    return st;
}

/* out (T, D) <- codes (n_q, T) */
slm_status slm_rvq_decode_f32(float *out, const int64_t *codes, const slm_rvq_stage *stages, int64_t n_q,
                              int64_t T, int64_t D) {
    static const char fn[] = "rvq_decode";
    SLM_CHECK(T >= 0 && D >= 1, fn, "bad sizes T=%lld D=%lld", (long long)T, (long long)D);
    int64_t dmax, n;
    SLM_TRY(check_stages(stages, n_q, D, &dmax, fn));
    SLM_TRY(slm_numel(fn, &n, 3, T, dmax, (int64_t)sizeof(float)));
    for (int64_t i = 0; i < n_q; i++)
        for (int64_t t = 0; t < T; t++)
            SLM_CHECK(codes[i * T + t] >= 0 && codes[i * T + t] < stages[i].K, fn,
                      "code %lld of codebook %lld at frame %lld is outside [0, %lld)", (long long)codes[i * T + t],
                      (long long)i, (long long)t, (long long)stages[i].K);
    memset(out, 0, (size_t)(T * D) * sizeof(float));
    if (T == 0) return SLM_OK;
    slm_arena ar;
    const size_t td = (size_t)(T * D) * sizeof(float), tm = (size_t)(T * dmax) * sizeof(float);
    SLM_TRY(slm_arena_init(&ar, slm_arena_need(td) + slm_arena_need(tm), fn));
    float *c = slm_arena_take(&ar, td), *e = slm_arena_take(&ar, tm);
    slm_status st = SLM_OK;
    for (int64_t i = 0; i < n_q; i++) {
        if ((st = contribution(c, e, stages + i, codes + i * T, T, D)) != SLM_OK) break;
        for (int64_t j = 0; j < T * D; j++) out[j] = out[j] + c[j];
    }
    slm_arena_release(&ar);
    return st;
}
