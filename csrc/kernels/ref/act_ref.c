/* act_ref.c: scalar reference activations, Snake, softmax and RoPE: the oracle of the
 * SIMD paths. Computes in double from the float inputs, except where the float32
 * references round an intermediate on purpose (Snake's alpha * x, RoPE's angle): those
 * are rounded to float here too, since that rounding is part of the definition the
 * models were trained with.
 */
#include <math.h>
#include <string.h>

#include "../norm_act.h"

void slm_na_act_ref(float *out, const float *x, int64_t n, slm_act kind, float param) {
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], y;
        switch (kind) {
        case SLM_ACT_RELU: y = v < 0 ? 0.0 : v; break; /* NaN and -0.0 pass, as torch */
        case SLM_ACT_LEAKY_RELU: y = v > 0 ? v : v * param; break;
        case SLM_ACT_ELU: y = v <= 0 ? param * expm1(v) : v; break;
        /* both GELUs in forms without the 1 + erf / 1 + tanh cancellation */
        case SLM_ACT_GELU: y = 0.5 * v * erfc(-v * M_SQRT1_2); break;
        case SLM_ACT_GELU_TANH: {
            const double k = sqrt(2.0 / M_PI);
            y = v / (1.0 + exp(-2.0 * k * (v + 0.044715 * v * v * v)));
            break;
        }
        case SLM_ACT_SILU: y = v / (1.0 + exp(-v)); break; /* -inf -> NaN, as torch */
        case SLM_ACT_TANH: y = tanh(v); break;
        case SLM_ACT_SIGMOID: y = 1.0 / (1.0 + exp(-v)); break;
        default: y = v; break;
        }
        out[i] = (float)y;
    }
}

void slm_na_snake_row_ref(float *out, const float *x, int64_t n, float a, float inv_b) {
    for (int64_t i = 0; i < n; i++) {
        float ax = a * x[i];
        double s = sin((double)ax);
        out[i] = (float)(x[i] + (double)inv_b * s * s);
    }
}

/* ---- softmax ---- */
/* the value at (d, j) after masking; *keep = 0 for a masked-out position */
static inline double masked_value(const float *x, int64_t xi, const slm_na_mask *m, int64_t d,
                                  int64_t j, int *keep) {
    *keep = 1;
    if (!m) return x[xi];
    int64_t off = d * m->sd + (m->ioff ? m->ioff[j] : j * m->si);
    if (m->kind == SLM_MASK_BOOL) {
        *keep = ((const uint8_t *)m->data)[off] != 0;
        return x[xi];
    }
    return (double)x[xi] + (double)((const float *)m->data)[off];
}

/* one softmax line of n values at stride st (column j of its slab) */
static void softmax_line(float *out, const float *x, int64_t n, int64_t st, const slm_na_mask *m,
                         int64_t j) {
    double mx = -INFINITY;
    int any = 0, keep;
    for (int64_t d = 0; d < n; d++) {
        double v = masked_value(x, d * st, m, d, j, &keep);
        if (!keep) continue;
        any = 1;
        if (isnan(v) || isnan(mx)) mx = NAN;
        else if (v > mx) mx = v;
    }
    if (!any) { /* nothing kept: zeros (documented policy) */
        for (int64_t d = 0; d < n; d++) out[d * st] = 0.0f;
        return;
    }
    double s = 0.0;
    for (int64_t d = 0; d < n; d++) {
        double v = masked_value(x, d * st, m, d, j, &keep);
        if (keep) s += exp(v - mx);
    }
    for (int64_t d = 0; d < n; d++) {
        double v = masked_value(x, d * st, m, d, j, &keep);
        out[d * st] = keep ? (float)(exp(v - mx) / s) : 0.0f;
    }
}

void slm_na_softmax_row_ref(float *out, const float *x, int64_t n, const slm_na_mask *m) {
    softmax_line(out, x, n, 1, m, 0);
}

void slm_na_softmax_cols_ref(float *out, const float *x, int64_t dim, int64_t inner, int64_t jn,
                             const slm_na_mask *m) {
    for (int64_t j = 0; j < jn; j++) softmax_line(out + j, x + j, dim, inner, m, j);
}

/* ---- RoPE ---- */
void slm_na_rope_table_ref(float *tab, float p, const float *inv, int64_t R, int interleaved) {
    int64_t h = R / 2;
    for (int64_t i = 0; i < h; i++) {
        float ang = p * inv[interleaved ? 2 * i : i]; /* rounded to float, as HF's float32 matmul */
        float c = (float)cos((double)ang), s = (float)sin((double)ang);
        if (interleaved) {
            tab[2 * i] = tab[2 * i + 1] = c;
            tab[R + 2 * i] = -s;
            tab[R + 2 * i + 1] = s;
        } else {
            tab[i] = c;
            tab[h + i] = s;
        }
    }
}

void slm_na_rope_row_ref(float *out, const float *x, const float *tab, int64_t D, int64_t R,
                         int interleaved) {
    int64_t h = R / 2;
    for (int64_t i = 0; i < h; i++) {
        int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + h;
        double c = interleaved ? tab[2 * i] : tab[i], s = interleaved ? tab[R + 2 * i + 1] : tab[h + i];
        double x1 = x[i1], x2 = x[i2];
        out[i1] = (float)(x1 * c - x2 * s);
        out[i2] = (float)(x2 * c + x1 * s);
    }
    if (out != x && D > R) memcpy(out + R, x + R, (size_t)(D - R) * sizeof(float));
}
