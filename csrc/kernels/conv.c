/* conv.c: public entries of the conv family: conv1d and conv_transpose1d.
 *
 * Here every size and parameter is checked with torch's rules (so a user of the C API
 * gets the same errors as a PyTorch user would), non-zero padding modes (reflect,
 * replicate, circular) are applied by padding the input explicitly into scratch, empty
 * sizes are answered without calling a kernel, and the call goes to the path that
 * slm_family_path(SLM_FAMILY_CONV) names. Kernels (conv.h) see zero padding only.
 */
#include <string.h>

#include "conv.h"

slm_conv1d_params slm_conv1d_default_params(void) {
    slm_conv1d_params p;
    memset(&p, 0, sizeof p);
    p.stride = 1;
    p.pad_left = 0;
    p.pad_right = 0;
    p.dilation = 1;
    p.groups = 1;
    p.padding_mode = SLM_PAD_ZEROS;
    return p;
}

/* a + b and a * b for sizes already known to be >= 0; false on overflow */
static int add_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_add_overflow(a, b, r); }

static slm_status conv1d_out_len(const char *fn, int64_t *Lout, int64_t L, int64_t K,
                                 const slm_conv1d_params *p) {
    SLM_CHECK(Lout != NULL, fn, "Lout is NULL");
    SLM_CHECK(L >= 1, fn, "input length L must be >= 1, got %lld", (long long)L);
    SLM_CHECK(K >= 1, fn, "kernel size K must be >= 1, got %lld", (long long)K);
    SLM_CHECK(p->stride >= 1, fn, "stride must be >= 1, got %lld", (long long)p->stride);
    SLM_CHECK(p->dilation >= 1, fn, "dilation must be >= 1, got %lld", (long long)p->dilation);
    SLM_CHECK(p->groups >= 1, fn, "groups must be >= 1, got %lld", (long long)p->groups);
    SLM_CHECK(p->pad_left >= 0 && p->pad_right >= 0, fn, "padding must be >= 0, got (%lld, %lld)",
              (long long)p->pad_left, (long long)p->pad_right);
    switch (p->padding_mode) {
    case SLM_PAD_ZEROS:
    case SLM_PAD_REPLICATE: break;
    case SLM_PAD_REFLECT:
        /* torch: "Padding size should be less than the corresponding input dimension" */
        SLM_CHECK(p->pad_left < L && p->pad_right < L, fn,
                  "reflect padding (%lld, %lld) must be smaller than the input length %lld",
                  (long long)p->pad_left, (long long)p->pad_right, (long long)L);
        break;
    case SLM_PAD_CIRCULAR:
        /* torch: "Padding value causes wrapping around more than once" */
        SLM_CHECK(p->pad_left <= L && p->pad_right <= L, fn,
                  "circular padding (%lld, %lld) must not exceed the input length %lld",
                  (long long)p->pad_left, (long long)p->pad_right, (long long)L);
        break;
    default:
        return slm_error(SLM_ERR_VALUE, fn,
                         "padding_mode %d is not one of zeros (0), reflect (1), replicate (2), circular (3)",
                         (int)p->padding_mode);
    }
    int64_t ext, Lp;
    if (!slm_mul_ok(p->dilation, K - 1, &ext) || !add_ok(ext, 1, &ext))
        return slm_error(SLM_ERR_VALUE, fn, "dilation*(K-1)+1 overflows (dilation=%lld, K=%lld)",
                         (long long)p->dilation, (long long)K);
    if (!add_ok(L, p->pad_left, &Lp) || !add_ok(Lp, p->pad_right, &Lp))
        return slm_error(SLM_ERR_NOMEM, fn, "padded length overflows (L=%lld, padding %lld + %lld)",
                         (long long)L, (long long)p->pad_left, (long long)p->pad_right);
    SLM_CHECK(Lp >= ext, fn,
              "kernel extent dilation*(K-1)+1 = %lld exceeds the padded input length %lld "
              "(L=%lld, padding %lld + %lld): the output would be empty",
              (long long)ext, (long long)Lp, (long long)L, (long long)p->pad_left, (long long)p->pad_right);
    *Lout = (Lp - ext) / p->stride + 1;
    return SLM_OK;
}

slm_status slm_conv1d_out_len(int64_t *Lout, int64_t L, int64_t K, slm_conv1d_params params) {
    return conv1d_out_len("conv1d", Lout, L, K, &params);
}

static slm_status convt1d_out_len(const char *fn, int64_t *Lout, int64_t L, int64_t K, int64_t s,
                                  int64_t pad, int64_t opad, int64_t d) {
    SLM_CHECK(Lout != NULL, fn, "Lout is NULL");
    SLM_CHECK(L >= 1, fn, "input length L must be >= 1, got %lld", (long long)L);
    SLM_CHECK(K >= 1, fn, "kernel size K must be >= 1, got %lld", (long long)K);
    SLM_CHECK(s >= 1, fn, "stride must be >= 1, got %lld", (long long)s);
    SLM_CHECK(d >= 1, fn, "dilation must be >= 1, got %lld", (long long)d);
    SLM_CHECK(pad >= 0, fn, "padding must be >= 0, got %lld", (long long)pad);
    SLM_CHECK(opad >= 0, fn, "output_padding must be >= 0, got %lld", (long long)opad);
    SLM_CHECK(opad < s || opad < d, fn,
              "output_padding (%lld) must be smaller than either stride (%lld) or dilation (%lld)",
              (long long)opad, (long long)s, (long long)d);
    /* (L-1)*s + d*(K-1) + opad + 1 - 2*pad, every step checked */
    int64_t a, b, full, p2;
    if (!slm_mul_ok(L - 1, s, &a) || !slm_mul_ok(K - 1, d, &b) || !add_ok(a, b, &full) ||
        !add_ok(full, opad, &full) || !add_ok(full, 1, &full))
        return slm_error(SLM_ERR_NOMEM, fn, "output length overflows (L=%lld, K=%lld, stride=%lld, dilation=%lld)",
                         (long long)L, (long long)K, (long long)s, (long long)d);
    if (!slm_mul_ok(pad, 2, &p2) || full - p2 < 1)
        return slm_error(SLM_ERR_VALUE, fn,
                         "output length (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1 "
                         "= %lld is < 1 (L=%lld, K=%lld, stride=%lld, padding=%lld, output_padding=%lld, "
                         "dilation=%lld)",
                         slm_mul_ok(pad, 2, &p2) ? (long long)(full - p2) : -1LL, (long long)L,
                         (long long)K, (long long)s, (long long)pad, (long long)opad, (long long)d);
    *Lout = full - p2;
    return SLM_OK;
}

slm_status slm_conv_transpose1d_out_len(int64_t *Lout, int64_t L, int64_t K, int64_t stride,
                                        int64_t padding, int64_t output_padding, int64_t dilation) {
    return convt1d_out_len("conv_transpose1d", Lout, L, K, stride, padding, output_padding, dilation);
}

/* out (R, Lp) = in (R, L) padded by pl / pr with mode m (never zeros here). The
 * validation guarantees one wrap at most (reflect pad < L, circular pad <= L). */
static void pad_rows(float *out, const float *in, int64_t R, int64_t L, int64_t pl, int64_t pr,
                     slm_padding_mode m) {
    int64_t Lp = L + pl + pr;
#pragma omp parallel for num_threads(slm_threads()) schedule(static) if (R * Lp > (1 << 16))
    for (int64_t r = 0; r < R; r++) {
        const float *x = in + r * L;
        float *y = out + r * Lp;
        memcpy(y + pl, x, (size_t)L * sizeof(float));
        for (int64_t i = 0; i < pl; i++) {
            int64_t j = i - pl; /* < 0 */
            int64_t src = m == SLM_PAD_REFLECT ? -j : m == SLM_PAD_REPLICATE ? 0 : j + L;
            y[i] = x[src];
        }
        for (int64_t i = 0; i < pr; i++) {
            int64_t j = L + i; /* >= L */
            int64_t src = m == SLM_PAD_REFLECT ? 2 * (L - 1) - j : m == SLM_PAD_REPLICATE ? L - 1 : j - L;
            y[pl + L + i] = x[src];
        }
    }
}

/* The path for this call: the family's path, except that oneDNN takes its sizes as
 * 32-bit values internally and refuses larger ones (a stride of 2^31, say): such calls
 * go to the best SIMD path instead. */
#define DNNL_MAX ((int64_t)1 << 30)
static slm_path pick_path(const int64_t *vals, int n) {
    slm_path p = slm_family_path(SLM_FAMILY_CONV);
    if (p != SLM_PATH_DNNL) return p;
    for (int i = 0; i < n; i++)
        if (vals[i] > DNNL_MAX || vals[i] < -DNNL_MAX) {
            if (slm_path_available(SLM_PATH_AVX512)) return SLM_PATH_AVX512;
            if (slm_path_available(SLM_PATH_AVX2)) return SLM_PATH_AVX2;
            return SLM_PATH_REF;
        }
    return p;
}

/* out (N, C, Lout) = bias (C) broadcast (or zeros): the value of an empty sum, when there
 * is no input channel (torch returns an array with no channels instead) */
static void fill_bias(float *out, const float *b, int64_t N, int64_t C, int64_t Lout) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            float v = b ? b[c] : 0.0f;
            float *y = out + (n * C + c) * Lout;
            for (int64_t t = 0; t < Lout; t++) y[t] = v;
        }
}

slm_status slm_conv1d_f32(float *out, const float *inp, const float *w, const float *b, int64_t N,
                          int64_t Cin, int64_t L, int64_t Cout, int64_t K, slm_conv1d_params params) {
    static const char fn[] = "conv1d";
    const slm_conv1d_params *p = &params;
    SLM_CHECK(N >= 0 && Cin >= 0 && Cout >= 0, fn, "negative size (N=%lld, Cin=%lld, Cout=%lld)",
              (long long)N, (long long)Cin, (long long)Cout);
    int64_t Lout = 0;
    SLM_TRY(conv1d_out_len(fn, &Lout, L, K, p));
    const int64_t G = p->groups;
    SLM_CHECK(Cin % G == 0, fn, "groups (%lld) must divide the input channels Cin (%lld)", (long long)G,
              (long long)Cin);
    SLM_CHECK(Cout % G == 0, fn, "groups (%lld) must divide the output channels Cout (%lld)", (long long)G,
              (long long)Cout);
    int64_t n_in, n_w, n_out;
    SLM_TRY(slm_numel(fn, &n_in, 3, N, Cin, L));
    SLM_TRY(slm_numel(fn, &n_w, 3, Cout, Cin / G, K));
    SLM_TRY(slm_numel(fn, &n_out, 3, N, Cout, Lout));
    SLM_CHECK(out || n_out == 0, fn, "out is NULL");
    SLM_CHECK(inp || n_in == 0, fn, "inp is NULL");
    SLM_CHECK(w || n_w == 0, fn, "w is NULL");
    if (n_out == 0) return SLM_OK;
    if (Cin == 0) {
        fill_bias(out, b, N, Cout, Lout);
        return SLM_OK;
    }

    slm_conv1d_geom g = {N, Cin, L, Cout, K, Lout, p->stride, p->pad_left, p->pad_right, p->dilation, G};
    slm_arena arena = {0};
    const float *x = inp;
    if (p->padding_mode != SLM_PAD_ZEROS && (p->pad_left > 0 || p->pad_right > 0)) {
        int64_t Lp = L + p->pad_left + p->pad_right, n_pad;
        SLM_TRY(slm_numel(fn, &n_pad, 4, N, Cin, Lp, (int64_t)sizeof(float)));
        SLM_TRY(slm_arena_init(&arena, slm_arena_need((size_t)n_pad), fn));
        float *xp = (float *)slm_arena_take(&arena, (size_t)n_pad);
        pad_rows(xp, inp, N * Cin, L, p->pad_left, p->pad_right, p->padding_mode);
        x = xp;
        g.L = Lp;
        g.pad_left = g.pad_right = 0;
    }
    const int64_t sizes[] = {N, Cin, Cout, g.L, K, Lout, g.stride, g.pad_left, g.pad_right,
                             g.dilation * (K - 1) + 1, g.L + g.pad_left + g.pad_right};
    slm_status st;
    switch (pick_path(sizes, (int)(sizeof sizes / sizeof sizes[0]))) {
#ifdef SLM_HAVE_DNNL
    case SLM_PATH_DNNL: st = slm_conv1d_dnnl(out, x, w, b, &g); break;
#endif
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512: st = slm_conv1d_avx512(out, x, w, b, &g); break;
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2: st = slm_conv1d_avx2(out, x, w, b, &g); break;
#endif
    default: st = slm_conv1d_ref(out, x, w, b, &g); break;
    }
    slm_arena_release(&arena);
    return st;
}

slm_status slm_conv_transpose1d_f32(float *out, const float *inp, const float *w, const float *b,
                                    int64_t N, int64_t Cin, int64_t L, int64_t Cout, int64_t K,
                                    int64_t stride, int64_t padding, int64_t output_padding,
                                    int64_t groups, int64_t dilation) {
    static const char fn[] = "conv_transpose1d";
    SLM_CHECK(N >= 0 && Cin >= 0 && Cout >= 0, fn, "negative size (N=%lld, Cin=%lld, Cout=%lld)",
              (long long)N, (long long)Cin, (long long)Cout);
    int64_t Lout = 0;
    SLM_TRY(convt1d_out_len(fn, &Lout, L, K, stride, padding, output_padding, dilation));
    SLM_CHECK(groups >= 1, fn, "groups must be >= 1, got %lld", (long long)groups);
    SLM_CHECK(Cin % groups == 0, fn, "groups (%lld) must divide the input channels Cin (%lld)",
              (long long)groups, (long long)Cin);
    SLM_CHECK(Cout % groups == 0, fn, "groups (%lld) must divide the output channels Cout (%lld)",
              (long long)groups, (long long)Cout);
    int64_t n_in, n_w, n_out;
    SLM_TRY(slm_numel(fn, &n_in, 3, N, Cin, L));
    SLM_TRY(slm_numel(fn, &n_w, 3, Cin, Cout / groups, K));
    SLM_TRY(slm_numel(fn, &n_out, 3, N, Cout, Lout));
    SLM_CHECK(out || n_out == 0, fn, "out is NULL");
    SLM_CHECK(inp || n_in == 0, fn, "inp is NULL");
    SLM_CHECK(w || n_w == 0, fn, "w is NULL");
    if (n_out == 0) return SLM_OK;
    if (Cin == 0) {
        fill_bias(out, b, N, Cout, Lout);
        return SLM_OK;
    }
    slm_convt1d_geom g = {N, Cin, L, Cout, K, Lout, stride, padding, output_padding, dilation, groups};
    /* (L-1)*stride + dilation*(K-1) + 1 is Lout + 2*padding - output_padding: no overflow */
    const int64_t sizes[] = {N, Cin, Cout, L, K, Lout, stride, padding, dilation * (K - 1) + 1,
                             Lout + 2 * padding};
    switch (pick_path(sizes, (int)(sizeof sizes / sizeof sizes[0]))) {
#ifdef SLM_HAVE_DNNL
    case SLM_PATH_DNNL: return slm_conv_transpose1d_dnnl(out, inp, w, b, &g);
#endif
#ifdef SLM_BUILD_AVX512
    case SLM_PATH_AVX512:
        if (slm_convt1d_use_gemm(&g)) return slm_conv_transpose1d_gemm(out, inp, w, b, &g);
        return slm_conv_transpose1d_avx512(out, inp, w, b, &g);
#endif
#ifdef SLM_BUILD_AVX2
    case SLM_PATH_AVX2:
        if (slm_convt1d_use_gemm(&g)) return slm_conv_transpose1d_gemm(out, inp, w, b, &g);
        return slm_conv_transpose1d_avx2(out, inp, w, b, &g);
#endif
    default: return slm_conv_transpose1d_ref(out, inp, w, b, &g);
    }
}
