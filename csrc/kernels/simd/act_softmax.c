/* act_softmax.c: softmax on AVX2 / AVX-512 (one source, see simd.h), with optional
 * boolean or additive masks.
 *
 * Three passes as torch's CPU kernel: max, then exp(x - max) stored and summed, then a
 * scale by 1/sum; so NaN, +-inf and all -inf rows give what torch gives. A boolean
 * mask turns masked positions into -inf for the first two passes and forces them to
 * exactly 0 in the last, which also makes a row with nothing kept all zeros.
 * Softmax over a non-last axis (inner > 1) runs down columns with vectors across
 * neighbouring columns: strided rows, no transposes.
 */
#include <math.h>

#include "simd.h"
#include "../norm_act.h"

/* cnt (<= VW) mask entries at element offsets base + k * step (step 0: broadcast) or
 * base + ioff[k]: the additive value, or 1.0 / 0.0 for keep / drop; lanes past cnt 0 */
static inline vf mask_vec(const slm_na_mask *m, int64_t base, int64_t step, const int64_t *ioff,
                          int cnt) {
    if (m->kind == SLM_MASK_ADD && !ioff) {
        const float *p = (const float *)m->data + base;
        if (step == 1) return cnt == VW ? vload(p) : vload_n(p, cnt);
        if (step == 0 && cnt == VW) return vset1(p[0]);
    }
    float t[VW];
    for (int k = 0; k < VW; k++) t[k] = 0.0f;
    for (int k = 0; k < cnt; k++) {
        int64_t off = base + (ioff ? ioff[k] : k * step);
        t[k] = m->kind == SLM_MASK_ADD ? ((const float *)m->data)[off]
                                        : (float)(((const uint8_t *)m->data)[off] != 0);
    }
    return vload(t);
}

/* the masked values of cnt inputs at x (contiguous); lanes past cnt are -inf so that
 * they drop out of the max and the sum. *keep: the keep flags (bool masks only) */
static inline vf row_values(const float *x, const slm_na_mask *m, int64_t i, int cnt, vf *keep) {
    vf v;
    if (cnt == VW) {
        v = vload(x + i);
    } else {
        float t[VW];
        for (int k = 0; k < VW; k++) t[k] = k < cnt ? x[i + k] : -INFINITY;
        v = vload(t);
    }
    if (!m) return v;
    vf mv = mask_vec(m, i * m->sd, m->sd, NULL, cnt);
    if (m->kind == SLM_MASK_ADD) return vadd(v, mv);
    *keep = mv;
    return vblend(vcmp_gt(mv, vzero()), vset1(-INFINITY), v);
}

void SLM_SIMD_FN(slm_na_softmax_row)(float *out, const float *x, int64_t n, const slm_na_mask *m) {
    const int is_bool = m && m->kind == SLM_MASK_BOOL;
    vf keep = vzero();
    /* pass 1: max. A NaN may be dropped by max (it returns its second operand), but it
     * still reaches the sum below, and the row comes out NaN as in torch. */
    vf m0 = vset1(-INFINITY), m1 = m0;
    int64_t i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) {
        m0 = vmax(m0, row_values(x, m, i, VW, &keep));
        m1 = vmax(m1, row_values(x, m, i + VW, VW, &keep));
    }
    for (; i < n; i += VW) m0 = vmax(m0, row_values(x, m, i, n - i < VW ? (int)(n - i) : VW, &keep));
    const vf vm = vset1(vreduce_max(vmax(m0, m1)));
    /* pass 2: exp and sum */
    vf s0 = vzero();
    for (i = 0; i < n; i += VW) {
        int cnt = n - i < VW ? (int)(n - i) : VW;
        vf e = vexp(vsub(row_values(x, m, i, cnt, &keep), vm));
        if (cnt == VW) vstore(out + i, e);
        else vstore_n(out + i, e, cnt);
        s0 = vadd(s0, e);
    }
    const vf inv = vset1(1.0f / vreduce_add(s0));
    /* pass 3: scale; masked positions exactly 0 */
    for (i = 0; i < n; i += VW) {
        int cnt = n - i < VW ? (int)(n - i) : VW;
        vf o = vmul(cnt == VW ? vload(out + i) : vload_n(out + i, cnt), inv);
        if (is_bool) o = vblend(vcmp_gt(mask_vec(m, i * m->sd, m->sd, NULL, cnt), vzero()), vzero(), o);
        if (cnt == VW) vstore(out + i, o);
        else vstore_n(out + i, o, cnt);
    }
}

/* the masked values at row d, columns [j, j + cnt) of a slab with row stride inner */
static inline vf col_values(const float *x, const slm_na_mask *m, int64_t d, int64_t inner,
                            int64_t j, int cnt, vf *keep) {
    const float *p = x + d * inner + j;
    vf v = cnt == VW ? vload(p) : vload_n(p, cnt);
    if (!m) return v;
    vf mv = m->ioff ? mask_vec(m, d * m->sd, 0, m->ioff + j, cnt)
                    : mask_vec(m, d * m->sd + j * m->si, m->si, NULL, cnt);
    if (m->kind == SLM_MASK_ADD) return vadd(v, mv);
    *keep = mv;
    return vblend(vcmp_gt(mv, vzero()), vset1(-INFINITY), v);
}

void SLM_SIMD_FN(slm_na_softmax_cols)(float *out, const float *x, int64_t dim, int64_t inner,
                                      int64_t jn, const slm_na_mask *m) {
    const int is_bool = m && m->kind == SLM_MASK_BOOL;
    vf keep = vzero();
    for (int64_t j = 0; j < jn; j += VW) {
        int cnt = jn - j < VW ? (int)(jn - j) : VW;
        vf vm = vset1(-INFINITY);
        for (int64_t d = 0; d < dim; d++) vm = vmax(vm, col_values(x, m, d, inner, j, cnt, &keep));
        vf s = vzero();
        for (int64_t d = 0; d < dim; d++) {
            vf e = vexp(vsub(col_values(x, m, d, inner, j, cnt, &keep), vm));
            float *o = out + d * inner + j;
            if (cnt == VW) vstore(o, e);
            else vstore_n(o, e, cnt);
            s = vadd(s, e);
        }
        vf inv = vdiv(vset1(1.0f), s);
        for (int64_t d = 0; d < dim; d++) {
            float *o = out + d * inner + j;
            vf y = vmul(cnt == VW ? vload(o) : vload_n(o, cnt), inv);
            if (is_bool) {
                vf k = m->ioff ? mask_vec(m, d * m->sd, 0, m->ioff + j, cnt)
                               : mask_vec(m, d * m->sd + j * m->si, m->si, NULL, cnt);
                y = vblend(vcmp_gt(k, vzero()), vzero(), y);
            }
            if (cnt == VW) vstore(o, y);
            else vstore_n(o, y, cnt);
        }
    }
}
