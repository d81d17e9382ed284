/* norm.c: layer, group and RMS norm on AVX2 / AVX-512 (one source, see simd.h).
 *
 * Moments use the corrected two-pass scheme (Chan, Golub & LeVeque): a float first
 * pass gives a shift m0 close to the mean, the second pass sums d = x - m0 and d^2,
 * and mean = m0 + sum(d)/n, var = sum(d^2)/n - (sum(d)/n)^2 are formed in double.
 * The sums of the small d are accurate in float, so data far from zero (offset 1e3,
 * spread 1) keeps its variance. The mean is kept as a float pair (hi + lo) and
 * subtracted in two steps, x - hi being exact near the mean, so the centred values
 * carry no rounding of the mean either.
 */
#include <math.h>

#include "simd.h"
#include "../norm_act.h"

typedef struct {
    float hi, lo, rstd;
} moments_t;

static moments_t moments(const float *x, int64_t n, float eps) {
    vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
    int64_t i = 0;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        a0 = vadd(a0, vload(x + i));
        a1 = vadd(a1, vload(x + i + VW));
        a2 = vadd(a2, vload(x + i + 2 * VW));
        a3 = vadd(a3, vload(x + i + 3 * VW));
    }
    for (; i + VW <= n; i += VW) a0 = vadd(a0, vload(x + i));
    float s0 = vreduce_add(vadd(vadd(a0, a1), vadd(a2, a3)));
    for (; i < n; i++) s0 += x[i];
    float m0 = s0 / (float)n;
    vf vm = vset1(m0);
    vf d0 = vzero(), d1 = vzero(), q0 = vzero(), q1 = vzero();
    for (i = 0; i + 2 * VW <= n; i += 2 * VW) {
        vf e0 = vsub(vload(x + i), vm), e1 = vsub(vload(x + i + VW), vm);
        d0 = vadd(d0, e0);
        d1 = vadd(d1, e1);
        q0 = vfmadd(e0, e0, q0);
        q1 = vfmadd(e1, e1, q1);
    }
    for (; i + VW <= n; i += VW) {
        vf e0 = vsub(vload(x + i), vm);
        d0 = vadd(d0, e0);
        q0 = vfmadd(e0, e0, q0);
    }
    double sd = vreduce_add(vadd(d0, d1)), sq = vreduce_add(vadd(q0, q1));
    for (; i < n; i++) {
        double e = x[i] - m0;
        sd += e;
        sq += e * e;
    }
    double dm = sd / (double)n;
    double mean = (double)m0 + dm, var = sq / (double)n - dm * dm;
    if (var < 0) var = 0; /* rounding only; NaN passes */
    moments_t r;
    r.hi = (float)mean;
    r.lo = (float)(mean - (double)r.hi);
    r.rstd = (float)(1.0 / sqrt(var + (double)eps));
    return r;
}

/* out (n) = ((x - hi) - lo) * scale * w + b, w and b optional (per element) */
static void normalise(float *out, const float *x, int64_t n, moments_t m, float scale,
                      const float *w, const float *b) {
    vf vh = vset1(m.hi), vl = vset1(m.lo), vs = vset1(scale);
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        vf y = vmul(vsub(vsub(vload(x + i), vh), vl), vs);
        if (w) y = vmul(y, vload(w + i));
        if (b) y = vadd(y, vload(b + i));
        vstore(out + i, y);
    }
    if (i < n) {
        int r = (int)(n - i);
        vf y = vmul(vsub(vsub(vload_n(x + i, r), vh), vl), vs);
        if (w) y = vmul(y, vload_n(w + i, r));
        if (b) y = vadd(y, vload_n(b + i, r));
        vstore_n(out + i, y, r);
    }
}

void SLM_SIMD_FN(slm_na_layer_norm_row)(float *out, const float *x, const float *w, const float *b,
                                        int64_t n, float eps) {
    moments_t m = moments(x, n, eps);
    normalise(out, x, n, m, m.rstd, w, b);
}

void SLM_SIMD_FN(slm_na_group_norm)(float *out, const float *x, const float *w, const float *b,
                                    int64_t Cg, int64_t L, float eps) {
    moments_t m = moments(x, Cg * L, eps);
    for (int64_t c = 0; c < Cg; c++) {
        /* per channel: ((x - mean) * rstd * w[c]) + b[c], as one scale and a shift */
        float sc = w ? m.rstd * w[c] : m.rstd, bc = b ? b[c] : 0.0f;
        vf vh = vset1(m.hi), vl = vset1(m.lo), vs = vset1(sc), vb = vset1(bc);
        const float *xc = x + c * L;
        float *oc = out + c * L;
        int64_t i = 0;
        for (; i + VW <= L; i += VW)
            vstore(oc + i, vfmadd(vsub(vsub(vload(xc + i), vh), vl), vs, vb));
        if (i < L) {
            int r = (int)(L - i);
            vstore_n(oc + i, vfmadd(vsub(vsub(vload_n(xc + i, r), vh), vl), vs, vb), r);
        }
    }
}

void SLM_SIMD_FN(slm_na_rms_norm_row)(float *out, const float *x, const float *w, int64_t n,
                                      float eps) {
    vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
    int64_t i = 0;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        vf x0 = vload(x + i), x1 = vload(x + i + VW), x2 = vload(x + i + 2 * VW),
           x3 = vload(x + i + 3 * VW);
        a0 = vfmadd(x0, x0, a0);
        a1 = vfmadd(x1, x1, a1);
        a2 = vfmadd(x2, x2, a2);
        a3 = vfmadd(x3, x3, a3);
    }
    for (; i + VW <= n; i += VW) {
        vf x0 = vload(x + i);
        a0 = vfmadd(x0, x0, a0);
    }
    double ss = vreduce_add(vadd(vadd(a0, a1), vadd(a2, a3)));
    for (; i < n; i++) ss += (double)x[i] * x[i];
    moments_t m = {0.0f, 0.0f, (float)(1.0 / sqrt(ss / (double)n + (double)eps))};
    normalise(out, x, n, m, m.rstd, w, NULL);
}
