/* window.c: analysis windows for the STFT and the front ends (torch.*_window semantics).
 *
 * Computed in double and rounded once. "periodic" windows are the first L points of the
 * symmetric window of length L + 1 (torch, scipy fftbins=True); symmetric ones span
 * L - 1 intervals. No SIMD version: a window is computed once per call, O(L).
 */
#include <math.h>

#include "../runtime/runtime.h"
#include "slm/dsp.h"

/* modified Bessel function of the first kind, order 0 (power series, converges for all x) */
static double bessel_i0(double x) {
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 500; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

slm_status slm_window_f32(float *out, int64_t L, slm_window_kind kind, int periodic, double beta) {
    static const char fn[] = "slm_window_f32";
    SLM_CHECK(L >= 0, fn, "window length must be >= 0, got %lld", (long long)L);
    SLM_CHECK(kind >= SLM_WINDOW_RECTANGULAR && kind <= SLM_WINDOW_POVEY, fn, "unknown window kind %d", (int)kind);
    SLM_CHECK(isfinite(beta), fn, "kaiser beta must be finite, got %g", beta);
    if (L == 0) return SLM_OK;
    SLM_CHECK(out != NULL, fn, "out is NULL");
    if (L == 1) {
        out[0] = 1.f;
        return SLM_OK;
    }
    const double N = periodic ? (double)L : (double)(L - 1);
    for (int64_t k = 0; k < L; k++) {
        double a = 2.0 * M_PI * (double)k / N, w;
        switch (kind) {
        case SLM_WINDOW_HANN: w = 0.5 - 0.5 * cos(a); break;
        case SLM_WINDOW_HAMMING: w = 0.54 - 0.46 * cos(a); break;
        case SLM_WINDOW_BLACKMAN:
            w = 0.42 - 0.5 * cos(a) + 0.08 * cos(2.0 * a);
            if (fabs(w) < 1e-14) w = 0.0; /* the ends are exactly 0 (torch/scipy), not -1e-17 */
            break;
        case SLM_WINDOW_POVEY: w = pow(0.5 - 0.5 * cos(a), 0.85); break;
        case SLM_WINDOW_KAISER: {
            double r = 2.0 * (double)k / N - 1.0;
            double s = 1.0 - r * r;
            w = bessel_i0(beta * sqrt(s > 0 ? s : 0)) / bessel_i0(beta);
            break;
        }
        default: w = 1.0; break;
        }
        out[k] = (float)w;
    }
    return SLM_OK;
}
