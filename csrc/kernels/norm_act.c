/* norm_act.c: public entries of the norm and act families: validation, path choice
 * and the split over threads.
 *
 * Every entry checks its sizes first (negative, inconsistent, overflowing products:
 * SLM_ERR_VALUE / SLM_ERR_NOMEM with the function's name), then picks the kernels of
 * slm_family_path(SLM_FAMILY_NORM) or (SLM_FAMILY_ACT), then runs rows, groups or
 * chunks in an OpenMP loop (one thread below SLM_NA_PAR_MIN elements, where starting
 * threads costs more than it saves), polling slm_interrupted() once per work item.
 */
#include <math.h>
#include <string.h>

#include "norm_act.h"

/* below this many elements a call runs on the calling thread */
#define SLM_NA_PAR_MIN (1 << 15)
/* elementwise work item, and column block of a strided softmax */
#define SLM_NA_CHUNK (1 << 14)
#define SLM_NA_COLS 256
#define SLM_NA_MAX_NDIM 64

typedef struct {
    void (*layer_norm_row)(float *, const float *, const float *, const float *, int64_t, float);
    void (*group_norm)(float *, const float *, const float *, const float *, int64_t, int64_t, float);
    void (*rms_norm_row)(float *, const float *, const float *, int64_t, float);
    void (*act)(float *, const float *, int64_t, slm_act, float);
    void (*snake_row)(float *, const float *, int64_t, float, float);
    void (*softmax_row)(float *, const float *, int64_t, const slm_na_mask *);
    void (*softmax_cols)(float *, const float *, int64_t, int64_t, int64_t, const slm_na_mask *);
    void (*rope_table)(float *, float, const float *, int64_t, int);
    void (*rope_row)(float *, const float *, const float *, int64_t, int64_t, int);
} kernels;

#define SLM_NA_TABLE(sfx)                                                                 \
    {slm_na_layer_norm_row_##sfx, slm_na_group_norm_##sfx, slm_na_rms_norm_row_##sfx,      \
     slm_na_act_##sfx,            slm_na_snake_row_##sfx,  slm_na_softmax_row_##sfx,       \
     slm_na_softmax_cols_##sfx,   slm_na_rope_table_##sfx, slm_na_rope_row_##sfx}

static const kernels k_ref_ = SLM_NA_TABLE(ref);
#ifdef SLM_BUILD_AVX2
static const kernels k_avx2_ = SLM_NA_TABLE(avx2);
#endif
#ifdef SLM_BUILD_AVX512
static const kernels k_avx512_ = SLM_NA_TABLE(avx512);
#endif

static const kernels *pick(slm_family f) {
    switch (slm_family_path(f)) {
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: return &k_avx512_;
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: return &k_avx2_;
#endif
    default: return &k_ref_;
    }
}

static slm_status check_eps(const char *fn, float eps) {
    SLM_CHECK(eps >= 0.0f && isfinite(eps), fn, "eps must be finite and >= 0, got %g", (double)eps);
    return SLM_OK;
}

#define CHECK_BUF(fn, p, name)                                                            \
    SLM_CHECK((p) != NULL, fn, "%s is NULL", name)

/* ---- norms ---- */

slm_status slm_layer_norm_f32(float *out, const float *inp, const float *w, const float *b,
                              int64_t rows, int64_t cols, float eps) {
    static const char fn[] = "layer_norm";
    int64_t n;
    SLM_CHECK(rows >= 0 && cols >= 0, fn, "negative size (rows=%lld, cols=%lld)", (long long)rows,
              (long long)cols);
    SLM_TRY(slm_numel(fn, &n, 2, rows, cols));
    SLM_TRY(check_eps(fn, eps));
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    const kernels *k = pick(SLM_FAMILY_NORM);
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (rows > 1 && n >= SLM_NA_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        k->layer_norm_row(out + r * cols, inp + r * cols, w, b, cols, eps);
    }
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_group_norm_f32(float *out, const float *inp, const float *w, const float *b,
                              int64_t N, int64_t C, int64_t L, int64_t G, float eps) {
    static const char fn[] = "group_norm";
    int64_t n;
    SLM_CHECK(N >= 0 && C >= 0 && L >= 0, fn, "negative size (N=%lld, C=%lld, L=%lld)",
              (long long)N, (long long)C, (long long)L);
    SLM_CHECK(G >= 1, fn, "num_groups must be >= 1, got %lld", (long long)G);
    SLM_CHECK(C % G == 0, fn, "num_groups (%lld) must divide the number of channels (%lld)",
              (long long)G, (long long)C);
    SLM_TRY(slm_numel(fn, &n, 3, N, C, L));
    SLM_TRY(check_eps(fn, eps));
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    const kernels *k = pick(SLM_FAMILY_NORM);
    const int64_t Cg = C / G, blocks = N * G;
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (blocks > 1 && n >= SLM_NA_PAR_MIN)
    for (int64_t q = 0; q < blocks; q++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        int64_t c0 = (q % G) * Cg;
        k->group_norm(out + q * Cg * L, inp + q * Cg * L, w ? w + c0 : NULL, b ? b + c0 : NULL, Cg,
                      L, eps);
    }
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_rms_norm_f32(float *out, const float *inp, const float *w, int64_t rows,
                            int64_t cols, float eps) {
    static const char fn[] = "rms_norm";
    int64_t n;
    SLM_CHECK(rows >= 0 && cols >= 0, fn, "negative size (rows=%lld, cols=%lld)", (long long)rows,
              (long long)cols);
    SLM_TRY(slm_numel(fn, &n, 2, rows, cols));
    SLM_TRY(check_eps(fn, eps));
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    const kernels *k = pick(SLM_FAMILY_NORM);
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (rows > 1 && n >= SLM_NA_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        k->rms_norm_row(out + r * cols, inp + r * cols, w, cols, eps);
    }
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

/* ---- elementwise ---- */

slm_status slm_act_f32(float *out, const float *inp, int64_t n, slm_act kind, float param) {
    static const char fn[] = "act";
    SLM_CHECK(n >= 0, fn, "negative size n=%lld", (long long)n);
    SLM_CHECK(kind >= 0 && kind < SLM_ACT_COUNT_, fn, "unknown activation %d", (int)kind);
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    const kernels *k = pick(SLM_FAMILY_ACT);
    const int64_t chunks = (n + SLM_NA_CHUNK - 1) / SLM_NA_CHUNK;
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (n >= SLM_NA_PAR_MIN)
    for (int64_t q = 0; q < chunks; q++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        int64_t i0 = q * SLM_NA_CHUNK, len = n - i0 < SLM_NA_CHUNK ? n - i0 : SLM_NA_CHUNK;
        k->act(out + i0, inp + i0, len, kind, param);
    }
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_snake_f32(float *out, const float *inp, const float *alpha, const float *beta,
                         int64_t N, int64_t C, int64_t L, int logscale, float eps) {
    static const char fn[] = "snake";
    int64_t n;
    SLM_CHECK(N >= 0 && C >= 0 && L >= 0, fn, "negative size (N=%lld, C=%lld, L=%lld)",
              (long long)N, (long long)C, (long long)L);
    SLM_TRY(slm_numel(fn, &n, 3, N, C, L));
    SLM_CHECK(isfinite(eps), fn, "eps must be finite, got %g", (double)eps);
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    CHECK_BUF(fn, alpha, "alpha");
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, 2 * slm_arena_need((size_t)C * sizeof(float)), fn));
    float *a = slm_arena_take(&ar, (size_t)C * sizeof(float));
    float *ib = slm_arena_take(&ar, (size_t)C * sizeof(float));
    /* per channel in float, in the references' order: exp() first with logscale, then
     * 1 / (beta + eps) */
    for (int64_t c = 0; c < C; c++) {
        float ac = logscale ? expf(alpha[c]) : alpha[c];
        float bc = beta ? (logscale ? expf(beta[c]) : beta[c]) : ac;
        a[c] = ac;
        ib[c] = 1.0f / (bc + eps);
    }
    const kernels *k = pick(SLM_FAMILY_ACT);
    const int64_t rows = N * C;
    int stop = 0;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (rows > 1 && n >= SLM_NA_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        if (slm_interrupted()) {
            stop = 1;
            continue;
        }
        int64_t c = r % C;
        k->snake_row(out + r * L, inp + r * L, L, a[c], ib[c]);
    }
    slm_arena_release(&ar);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

/* ---- softmax ---- */

/* the mask after coalescing: outer dims (sizes, strides) in row-major order */
typedef struct {
    slm_mask_kind kind;
    const char *base;
    size_t esize;
    int no;
    int64_t osz[SLM_NA_MAX_NDIM], ost[SLM_NA_MAX_NDIM];
    int64_t sd, si;
    const int64_t *ioff;
} mask_plan;

/* element offset of outer row o */
static int64_t outer_offset(const mask_plan *p, int64_t o) {
    int64_t off = 0;
    for (int k = p->no - 1; k >= 0 && o > 0; k--) {
        off += (o % p->osz[k]) * p->ost[k];
        o /= p->osz[k];
    }
    return off;
}

/* Drop size-1 dims and merge neighbours whose strides chain (stride[k] == stride[k+1] *
 * size[k+1]); returns the count. A dense run, or a run broadcast throughout (strides
 * 0), becomes one dim. */
static int coalesce(const int64_t *sz, const int64_t *st, int n, int64_t *osz, int64_t *ost) {
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (sz[k] == 1) continue;
        if (m > 0 && ost[m - 1] == st[k] * sz[k]) {
            osz[m - 1] *= sz[k];
            ost[m - 1] = st[k];
        } else {
            osz[m] = sz[k];
            ost[m] = st[k];
            m++;
        }
    }
    return m;
}

static slm_status softmax_run(const char *fn, float *out, const float *inp, int64_t outer,
                              int64_t dim, int64_t inner, const mask_plan *mp) {
    const kernels *k = pick(SLM_FAMILY_ACT);
    const int64_t n = outer * dim * inner;
    int stop = 0;
    if (inner == 1) {
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (outer > 1 && n >= SLM_NA_PAR_MIN)
        for (int64_t o = 0; o < outer; o++) {
            if (slm_interrupted()) {
                stop = 1;
                continue;
            }
            slm_na_mask m, *mm = NULL;
            if (mp) {
                m.kind = mp->kind;
                m.data = mp->base + (size_t)outer_offset(mp, o) * mp->esize;
                m.sd = mp->sd;
                m.si = 0;
                m.ioff = NULL;
                mm = &m;
            }
            k->softmax_row(out + o * dim, inp + o * dim, dim, mm);
        }
    } else {
        const int64_t nb = (inner + SLM_NA_COLS - 1) / SLM_NA_COLS, items = outer * nb;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (items > 1 && n >= SLM_NA_PAR_MIN)
        for (int64_t q = 0; q < items; q++) {
            if (slm_interrupted()) {
                stop = 1;
                continue;
            }
            int64_t o = q / nb, j0 = (q % nb) * SLM_NA_COLS;
            int64_t jn = inner - j0 < SLM_NA_COLS ? inner - j0 : SLM_NA_COLS;
            slm_na_mask m, *mm = NULL;
            if (mp) {
                int64_t off = outer_offset(mp, o) + (mp->ioff ? 0 : j0 * mp->si);
                m.kind = mp->kind;
                m.data = mp->base + (size_t)off * mp->esize;
                m.sd = mp->sd;
                m.si = mp->si;
                m.ioff = mp->ioff ? mp->ioff + j0 : NULL;
                mm = &m;
            }
            size_t base = (size_t)(o * dim * inner + j0);
            k->softmax_cols(out + base, inp + base, dim, inner, jn, mm);
        }
    }
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}

slm_status slm_softmax_f32(float *out, const float *inp, int64_t outer, int64_t dim,
                           int64_t inner) {
    static const char fn[] = "softmax";
    int64_t n;
    SLM_CHECK(outer >= 0 && dim >= 0 && inner >= 0, fn,
              "negative size (outer=%lld, dim=%lld, inner=%lld)", (long long)outer, (long long)dim,
              (long long)inner);
    SLM_TRY(slm_numel(fn, &n, 3, outer, dim, inner));
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    return softmax_run(fn, out, inp, outer, dim, inner, NULL);
}

slm_status slm_softmax_masked_f32(float *out, const float *inp, const void *mask,
                                  slm_mask_kind kind, const int64_t *mask_strides, int ndim,
                                  const int64_t *shape, int axis) {
    static const char fn[] = "softmax";
    SLM_CHECK(ndim >= 1 && ndim <= SLM_NA_MAX_NDIM, fn, "ndim must be in [1, %d], got %d",
              SLM_NA_MAX_NDIM, ndim);
    SLM_CHECK(shape != NULL, fn, "shape is NULL");
    SLM_CHECK(axis >= 0 && axis < ndim, fn, "axis %d out of range for %d dimensions", axis, ndim);
    SLM_CHECK(kind == SLM_MASK_NONE || kind == SLM_MASK_BOOL || kind == SLM_MASK_ADD, fn,
              "unknown mask kind %d", (int)kind);
    int64_t n = 1, outer = 1, inner = 1, dim = shape[axis];
    for (int k = 0; k < ndim; k++) {
        SLM_CHECK(shape[k] >= 0, fn, "negative size %lld in dimension %d", (long long)shape[k], k);
        if (!slm_mul_ok(n, shape[k], &n))
            return slm_error(SLM_ERR_NOMEM, fn, "size overflows (dimension %d = %lld)", k,
                             (long long)shape[k]);
        if (k < axis) outer *= shape[k];
        if (k > axis) inner *= shape[k];
    }
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    if (kind == SLM_MASK_NONE) return softmax_run(fn, out, inp, outer, dim, inner, NULL);
    CHECK_BUF(fn, mask, "mask");
    CHECK_BUF(fn, mask_strides, "mask_strides");

    mask_plan p;
    p.kind = kind;
    p.base = (const char *)mask;
    p.esize = kind == SLM_MASK_BOOL ? 1 : sizeof(float);
    p.no = coalesce(shape, mask_strides, axis, p.osz, p.ost);
    p.sd = mask_strides[axis];
    p.si = 0;
    p.ioff = NULL;
    int64_t isz[SLM_NA_MAX_NDIM], ist[SLM_NA_MAX_NDIM];
    int ni = coalesce(shape + axis + 1, mask_strides + axis + 1, ndim - axis - 1, isz, ist);
    slm_arena ar = {0};
    if (ni == 1) {
        p.si = ist[0];
    } else if (ni > 1) {
        /* inner dims that do not chain: a table of offsets, inner <= n entries */
        SLM_TRY(slm_arena_init(&ar, slm_arena_need((size_t)inner * sizeof(int64_t)), fn));
        int64_t *t = slm_arena_take(&ar, (size_t)inner * sizeof(int64_t));
        for (int64_t j = 0; j < inner; j++) {
            int64_t r = j, off = 0;
            for (int q = ni - 1; q >= 0; q--) {
                off += (r % isz[q]) * ist[q];
                r /= isz[q];
            }
            t[j] = off;
        }
        p.ioff = t;
    }
    slm_status st = softmax_run(fn, out, inp, outer, dim, inner, &p);
    slm_arena_release(&ar);
    return st;
}

/* ---- RoPE ---- */

slm_status slm_rope_f32(float *out, const float *inp, const int64_t *pos, int64_t B, int64_t T,
                        int64_t D, int64_t R, float theta, int interleaved) {
    static const char fn[] = "rope";
    int64_t n, ntab;
    SLM_CHECK(B >= 0 && T >= 0 && D >= 0, fn, "negative size (B=%lld, T=%lld, D=%lld)",
              (long long)B, (long long)T, (long long)D);
    SLM_CHECK(R >= 0 && R <= D && R % 2 == 0, fn,
              "rotary_dim must be even and in [0, %lld] (the head size), got %lld", (long long)D,
              (long long)R);
    SLM_CHECK(theta > 0.0f && isfinite(theta), fn, "theta must be finite and > 0, got %g",
              (double)theta);
    SLM_TRY(slm_numel(fn, &n, 3, B, T, D));
    const int64_t tl = slm_na_rope_table_len(R, interleaved);
    SLM_TRY(slm_numel(fn, &ntab, 2, T, tl));
    if (n == 0) return SLM_OK;
    CHECK_BUF(fn, out, "out");
    CHECK_BUF(fn, inp, "inp");
    if (R == 0) {
        if (out != inp) memmove(out, inp, (size_t)n * sizeof(float));
        return SLM_OK;
    }
    if ((uint64_t)ntab > SIZE_MAX / 8)
        return slm_error(SLM_ERR_NOMEM, fn, "cos/sin table of %lld values is too large", (long long)ntab);
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, slm_arena_need((size_t)R * sizeof(float)) +
                                    slm_arena_need((size_t)ntab * sizeof(float)), fn));
    float *inv = slm_arena_take(&ar, (size_t)R * sizeof(float));
    float *tab = slm_arena_take(&ar, (size_t)ntab * sizeof(float));
    /* HF: inv_freq = 1.0 / (base ** (arange(0, dim, 2).float() / dim)), all float32; the
     * power is rounded once from double (torch's pow is within an ulp of it) */
    for (int64_t i = 0; i < R / 2; i++) {
        float e = (float)(2 * i) / (float)R;
        float f = 1.0f / (float)pow((double)theta, (double)e);
        if (interleaved) inv[2 * i] = inv[2 * i + 1] = f;
        else inv[i] = f;
    }
    const kernels *k = pick(SLM_FAMILY_ACT);
    int stop = 0;
#pragma omp parallel num_threads(slm_threads()) if (n >= SLM_NA_PAR_MIN)
    {
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            if (slm_interrupted()) {
                stop = 1;
                continue;
            }
            k->rope_table(tab + t * tl, (float)(pos ? pos[t] : t), inv, R, interleaved);
        }
#pragma omp for schedule(static)
        for (int64_t r = 0; r < B * T; r++) {
            if (slm_interrupted()) {
                stop = 1;
                continue;
            }
            k->rope_row(out + r * D, inp + r * D, tab + (r % T) * tl, D, R, interleaved);
        }
    }
    slm_arena_release(&ar);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
