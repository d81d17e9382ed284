/* resample.c (simd): the FIR of the polyphase resampler (csrc/dsp/resample.c).
 *
 * Inside the signal, SLM_RS_TILE consecutive input steps k are done at once: their input
 * is deinterleaved into Q rows (one per residue mod Q), after which each output phase
 * is a plain FIR over k: one contiguous vector load and one broadcast tap per FMA, no
 * horizontal sums. Near the ends (and where a tile would be too large) each output is
 * one dot product over its taps: full vectors, then one masked tail, so no load leaves
 * the input or the filter row; taps past either end of the input are skipped. */
#include "simd.h"
#include "../../dsp/resample.h"

static inline float dot(const float *x, const float *h, int64_t n) {
    vf acc0 = vzero(), acc1 = vzero();
    int64_t i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) {
        acc0 = vfmadd(vload(x + i), vload(h + i), acc0);
        acc1 = vfmadd(vload(x + i + VW), vload(h + i + VW), acc1);
    }
    if (i + VW <= n) {
        acc0 = vfmadd(vload(x + i), vload(h + i), acc0);
        i += VW;
    }
    if (i < n) acc1 = vfmadd(vload_n(x + i, (int)(n - i)), vload_n(h + i, (int)(n - i)), acc1);
    return vreduce_add(vadd(acc0, acc1));
}

/* y (o1 - o0,) = outputs o0..o1-1, one dot product each (any position, edges too) */
static void per_output(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0, int64_t o1) {
    int64_t k = o0 / p->P, j = o0 % p->P;
    for (int64_t o = o0; o < o1; o++) {
        const float *h = p->h + j * p->taps;
        int64_t s = k * p->Q + p->first[j], n = p->len[j];
        if (s >= 0 && s + n <= L) {
            y[o - o0] = dot(x + s, h, n);
        } else {
            int64_t a = s < 0 ? -s : 0, b = s + n > L ? L - s : n;
            y[o - o0] = b > a ? dot(x + s + a, h + a, b - a) : 0.0f;
        }
        if (++j == p->P) {
            j = 0;
            k++;
        }
    }
}

/* y (P * SLM_RS_TILE,) = outputs of k = kb .. kb + SLM_RS_TILE - 1 (all phases), whose
 * taps all lie inside x: deinterleave the input into the tile D, then every phase is a
 * FIR over k with vector loads from D (see slm_rs_plan) */
static void tile(float *y, const float *x, const slm_rs_plan *p, int64_t kb, float *D, float *T) {
    const int64_t Q = p->Q, P = p->P, row = p->row;
    const float *xs = x + kb * Q + p->minfirst;
    /* only the entries the taps reach: v + d / Q < row with d < maxend - minfirst */
    int64_t need = (SLM_RS_TILE - 1) * Q + (p->maxend - p->minfirst);
    for (int64_t r = 0; r < Q; r++) {
        float *Dr = D + r * row;
        int64_t v = 0;
        for (int64_t t = r; t < need; t += Q) Dr[v++] = xs[t];
    }
    for (int64_t j = 0; j < P; j++) {
        const float *h = p->h + j * p->taps;
        const int32_t *off = p->off + j * p->taps;
        int64_t n = p->len[j];
        for (int v = 0; v < SLM_RS_TILE; v += VW) {
            vf acc0 = vzero(), acc1 = vzero();
            int64_t i = 0;
            for (; i + 2 <= n; i += 2) {
                acc0 = vfmadd(vload(D + off[i] + v), vset1(h[i]), acc0);
                acc1 = vfmadd(vload(D + off[i + 1] + v), vset1(h[i + 1]), acc1);
            }
            if (i < n) acc0 = vfmadd(vload(D + off[i] + v), vset1(h[i]), acc0);
            vstore(T + j * SLM_RS_TILE + v, vadd(acc0, acc1));
        }
    }
    for (int v = 0; v < SLM_RS_TILE; v++)
        for (int64_t j = 0; j < P; j++) y[v * P + j] = T[j * SLM_RS_TILE + v];
}

/* y (o1 - o0,) = outputs o0..o1-1 of resampling x (L,) with plan p: whole tiles where
 * every tap lies inside x, dot products per output elsewhere */
void SLM_SIMD_FN(slm_rs_block)(float *y, const float *x, int64_t L, const slm_rs_plan *p, int64_t o0,
                               int64_t o1, float *scratch) {
    if (!p->off || !scratch) {
        per_output(y, x, L, p, o0, o1);
        return;
    }
    const int64_t P = p->P, Q = p->Q;
    float *D = scratch, *T = scratch + Q * p->row;
    int64_t o = o0, kb = (o0 + P - 1) / P; /* first whole k at or after o0 */
    while ((kb + SLM_RS_TILE) * P <= o1) {
        int inside = kb * Q + p->minfirst >= 0 && (kb + SLM_RS_TILE - 1) * Q + p->maxend <= L;
        if (inside) {
            if (o < kb * P) per_output(y + (o - o0), x, L, p, o, kb * P);
            tile(y + (kb * P - o0), x, p, kb, D, T);
            o = (kb + SLM_RS_TILE) * P;
        }
        kb += SLM_RS_TILE;
    }
    if (o < o1) per_output(y + (o - o0), x, L, p, o, o1);
}
