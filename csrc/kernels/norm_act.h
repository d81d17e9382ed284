/* norm_act.h: per-path kernels of the norm and act families (internal).
 *
 * Each kernel works on one row, group or chunk, single-threaded, and trusts its sizes;
 * the public entries in norm_act.c validate, split the work over threads, check for
 * interruption and pick the path. Every kernel exists as _ref (scalar C, double
 * accumulation: the oracle), _avx2 and _avx512 (one source in simd/, see simd.h).
 *
 * Shape legend: n row length, C channels, L length, D head size, R rotary dims,
 * T positions.
 */
#ifndef SLM_KERNELS_NORM_ACT_H
#define SLM_KERNELS_NORM_ACT_H

#include "../runtime/runtime.h"

/* where one softmax row's mask lives; data points at the row's (d = 0, j = 0) entry */
typedef struct {
    slm_mask_kind kind; /* SLM_MASK_BOOL (uint8_t) or SLM_MASK_ADD (float) */
    const void *data;
    int64_t sd;          /* element stride along the softmax axis */
    int64_t si;          /* element stride along the inner index j (when ioff is NULL) */
    const int64_t *ioff; /* offset of inner index j, for inner dims that do not coalesce */
} slm_na_mask;

/* RoPE cos/sin table of one position: half layout: cos[R/2], sin[R/2];
 * interleaved: cos duplicated per pair [R], then (-sin, +sin) per pair [R] */
static inline int64_t slm_na_rope_table_len(int64_t R, int interleaved) {
    return interleaved ? 2 * R : R;
}

#define SLM_NA_DECLARE(sfx)                                                                \
    /* out (n) = layer_norm(x (n)) * w + b (w, b may be NULL) */                           \
    void slm_na_layer_norm_row_##sfx(float *out, const float *x, const float *w,         \
                                     const float *b, int64_t n, float eps);               \
    /* out (Cg, L) = group-normalised x (Cg, L), per channel * w (Cg) + b (Cg) */          \
    void slm_na_group_norm_##sfx(float *out, const float *x, const float *w, const float *b, \
                                 int64_t Cg, int64_t L, float eps);                       \
    /* out (n) = x (n) / sqrt(mean(x^2) + eps) * w */                                      \
    void slm_na_rms_norm_row_##sfx(float *out, const float *x, const float *w, int64_t n, \
                                   float eps);                                            \
    /* out (n) = act(x (n)) */                                                             \
    void slm_na_act_##sfx(float *out, const float *x, int64_t n, slm_act kind, float param); \
    /* out (n) = x + inv_b * sin(a * x)^2 */                                               \
    void slm_na_snake_row_##sfx(float *out, const float *x, int64_t n, float a, float inv_b); \
    /* out (n) = softmax(x (n)) with an optional mask (NULL: none) */                      \
    void slm_na_softmax_row_##sfx(float *out, const float *x, int64_t n, const slm_na_mask *m); \
    /* columns [0, jn) of a (dim, inner) slab (x, out point at column 0), softmax along   \
     * dim; the mask's j offsets are relative to column 0 */                               \
    void slm_na_softmax_cols_##sfx(float *out, const float *x, int64_t dim, int64_t inner, \
                                   int64_t jn, const slm_na_mask *m);                     \
    /* tab (slm_na_rope_table_len) of one position, angles fl(p * inv): inv (R/2) for  \
     * the half layout, inv (R) with each frequency twice for the interleaved one */       \
    void slm_na_rope_table_##sfx(float *tab, float p, const float *inv, int64_t R,        \
                                 int interleaved);                                        \
    /* out (D) = RoPE of x (D) with one position's table */                                \
    void slm_na_rope_row_##sfx(float *out, const float *x, const float *tab, int64_t D,   \
                               int64_t R, int interleaved);

SLM_NA_DECLARE(ref)
SLM_NA_DECLARE(avx2)
SLM_NA_DECLARE(avx512)

#endif
