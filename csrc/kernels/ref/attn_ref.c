/* attn_ref.c: scalar reference of scaled_dot_product_attention, the oracle of the
 * blocked SIMD kernel. One query row at a time: all S scores of the row in a per-thread
 * buffer (memory S per thread, never L*S), exact softmax in double, then the weighted
 * sum of value rows in double.
 *
 * Semantics shared with simd/attn.c: a row whose keys are all masked out (every score
 * -inf) gives zeros, as torch 2.13's CPU kernel does; a NaN score makes its row NaN
 * (torch too, except that its scalar loop tail returns zeros for an all-NaN row when
 * S < 8: a quirk not copied); Inf propagates through exp and the sums. A bool mask is
 * added as 0/-inf, as torch does, so a NaN score stays NaN under it. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../attn.h"

slm_status slm_sdpa_f32_ref(float *out, const float *q, const float *k, const float *v,
                            const void *mask, const slm_sdpa_params *p) {
    static const char fn[] = "scaled_dot_product_attention";
    const int64_t B = p->B, Hq = p->Hq, L = p->L, S = p->S, E = p->E, Ev = p->Ev;
    const int64_t gk = Hq / p->Hk, gv = Hq / p->Hv;
    const int nt = slm_threads();
    int64_t per_thread;
    SLM_TRY(slm_numel(fn, &per_thread, 2, S + Ev, (int64_t)sizeof(double)));
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, slm_arena_need((size_t)per_thread) * (size_t)nt, fn));
    double *bufs[nt];
    for (int t = 0; t < nt; t++) bufs[t] = slm_arena_take(&ar, (size_t)per_thread);
    const int64_t rows = B * Hq * L;
    int stop = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
    for (int64_t row = 0; row < rows; row++) {
        if (stop || slm_interrupted()) {
            stop = 1;
            continue;
        }
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        double *s = bufs[tid], *acc = s + S;
        const int64_t l = row % L, h = (row / L) % Hq, b = row / (L * Hq);
        const float *qr = q + b * p->q_sb + h * p->q_sh + l * p->q_sl;
        const float *kh = k + b * p->k_sb + (h / gk) * p->k_sh;
        const float *vh = v + b * p->v_sb + (h / gv) * p->v_sh;
        float *orow = out + b * p->o_sb + h * p->o_sh + l * p->o_sl;
        const int64_t moff = b * p->m_sb + h * p->m_sh + l * p->m_sl;
        double mx = -INFINITY;
        int has_nan = 0;
        for (int64_t j = 0; j < S; j++) {
            double d = 0.0;
            if (p->is_causal && j > l) {
                s[j] = -INFINITY;
                continue;
            }
            const float *kr = kh + j * p->k_ss;
            for (int64_t e = 0; e < E; e++) d += (double)qr[e] * (double)kr[e];
            d *= (double)p->scale;
            if (p->mask_kind == SLM_ATTN_MASK_BOOL) {
                if (!((const uint8_t *)mask)[moff + j * p->m_ss]) d += -INFINITY;
            } else if (p->mask_kind == SLM_ATTN_MASK_ADD) {
                d += (double)((const float *)mask)[moff + j * p->m_ss];
            }
            s[j] = d;
            if (d > mx) mx = d;
            if (d != d) has_nan = 1;
        }
        if (has_nan) {
            for (int64_t e = 0; e < Ev; e++) orow[e] = NAN;
            continue;
        }
        if (mx == -INFINITY) {
            memset(orow, 0, (size_t)Ev * sizeof(float));
            continue;
        }
        double sum = 0.0;
        for (int64_t e = 0; e < Ev; e++) acc[e] = 0.0;
        /* causal rows stop at their diagonal; masked keys inside it still multiply their
         * (zero) weight into v, so NaN/Inf in v propagates as in torch's GEMM */
        const int64_t jend = p->is_causal ? (l + 1 < S ? l + 1 : S) : S;
        for (int64_t j = 0; j < jend; j++) {
            double w = exp(s[j] - mx);
            sum += w;
            const float *vr = vh + j * p->v_ss;
            for (int64_t e = 0; e < Ev; e++) acc[e] += w * (double)vr[e];
        }
        for (int64_t e = 0; e < Ev; e++) orow[e] = (float)(acc[e] / sum);
    }
    slm_arena_release(&ar);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
