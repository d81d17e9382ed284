/* norm_ref.c: scalar reference layer/group/RMS norm, the oracle of the SIMD paths.
 *
 * Two-pass moments in double (mean, then the mean of squared deviations), so the
 * variance of data with a large offset is exact to double rounding; the SIMD paths
 * are checked against this and against torch in float64.
 */
#include <math.h>

#include "../norm_act.h"

/* mean and biased variance of x (n), n >= 1 */
static void moments(const float *x, int64_t n, double *mean, double *var) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    double m = s / (double)n, v = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - m;
        v += d * d;
    }
    *mean = m;
    *var = v / (double)n;
}

void slm_na_layer_norm_row_ref(float *out, const float *x, const float *w, const float *b,
                               int64_t n, float eps) {
    double m, v;
    moments(x, n, &m, &v);
    double rstd = 1.0 / sqrt(v + (double)eps);
    for (int64_t i = 0; i < n; i++) {
        double y = (x[i] - m) * rstd;
        if (w) y *= w[i];
        if (b) y += b[i];
        out[i] = (float)y;
    }
}

void slm_na_group_norm_ref(float *out, const float *x, const float *w, const float *b,
                           int64_t Cg, int64_t L, float eps) {
    double m, v;
    moments(x, Cg * L, &m, &v);
    double rstd = 1.0 / sqrt(v + (double)eps);
    for (int64_t c = 0; c < Cg; c++) {
        double wc = w ? w[c] : 1.0, bc = b ? b[c] : 0.0;
        const float *xc = x + c * L;
        float *oc = out + c * L;
        for (int64_t l = 0; l < L; l++) oc[l] = (float)((xc[l] - m) * rstd * wc + bc);
    }
}

void slm_na_rms_norm_row_ref(float *out, const float *x, const float *w, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double r = 1.0 / sqrt(ss / (double)n + (double)eps);
    for (int64_t i = 0; i < n; i++) out[i] = (float)(w ? x[i] * r * w[i] : x[i] * r);
}
