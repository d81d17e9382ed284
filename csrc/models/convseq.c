/* convseq.c: a convolutional stack run as a program of layers (slm/convseq.h): the SEANet
 * encoders and decoders of EnCodec-family codecs. Each layer calls a public op
 * (slm_conv1d_f32, slm_conv_transpose1d_f32, slm_act_f32, slm_lstm_f32), so every kernel
 * path of those ops applies; this file only implements the codecs' padding and trimming
 * rules and moves data between a few buffers sized by a shape pass. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "slm/convseq.h"

#include "slm/ops_conv.h"
#include "slm/ops_norm_act.h"
#include "slm/ops_rnn_vq.h"
#include "runtime/runtime.h"

#define MAX_DEPTH 4

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/* EnCodec's conv padding for a signal of length L: (*pl, *pr), right side including the
 * extra padding that makes the last window full */
static void conv_pads(const slm_cs_layer *ly, int64_t L, int64_t *pl, int64_t *pr) {
    const int64_t pt = (ly->k - 1) * ly->dilation - (ly->stride - 1);
    /* frames = ceil((L - K + pt) / stride) + 1; ideal length = (frames - 1) * stride + K - pt */
    const int64_t ideal = ceil_div(L - ly->k + pt, ly->stride) * ly->stride + (ly->k - pt);
    const int64_t extra = ideal - L;
    if (ly->causal) {
        *pl = pt, *pr = extra;
    } else {
        *pr = pt / 2 + extra, *pl = pt - pt / 2;
    }
}

/* (*pl, *pr) trimmed from a transposed conv's full output */
static void convtr_trim(const slm_cs_layer *ly, int64_t *pl, int64_t *pr) {
    const int64_t pt = ly->k - ly->stride;
    if (ly->causal) {
        *pr = (int64_t)ceil((double)pt * (double)ly->param);
        *pl = pt - *pr;
    } else {
        *pr = pt / 2, *pl = pt - pt / 2;
    }
}

typedef struct {
    int64_t max_elems; /* largest buffer any step needs, per batch item */
    int depth;         /* deepest PUSH nesting */
} plan;

/* walks the program: shapes, checks, buffer needs */
static slm_status walk(int64_t *C_out, int64_t *L_out, plan *pl_out, const slm_cs_layer *layers, int64_t n,
                       int64_t C, int64_t L) {
    static const char fn[] = "convseq";
    SLM_CHECK(n >= 0 && C >= 1 && L >= 1, fn, "bad sizes n=%lld C=%lld L=%lld", (long long)n, (long long)C,
              (long long)L);
    int64_t sc[MAX_DEPTH], sl[MAX_DEPTH], need = C * L, m;
    int d = 0, maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        const slm_cs_layer *ly = layers + i;
        int64_t *c = &C, *l = &L; /* the shape this layer changes */
        switch (ly->op) {
        case SLM_CS_SKIPCONV:
            SLM_CHECK(d > 0, fn, "layer %lld: SKIPCONV without a saved signal", (long long)i);
            c = &sc[d - 1], l = &sl[d - 1];
            /* fall through */
        case SLM_CS_CONV: {
            SLM_CHECK(ly->w && ly->cin == *c && ly->cout >= 1 && ly->k >= 1 && ly->stride >= 1 && ly->dilation >= 1,
                      fn, "layer %lld: conv %lld->%lld (K=%lld) on a signal of %lld channels", (long long)i,
                      (long long)ly->cin, (long long)ly->cout, (long long)ly->k, (long long)*c);
            SLM_CHECK((ly->k - 1) * ly->dilation >= ly->stride - 1, fn,
                      "layer %lld: stride %lld larger than the kernel span", (long long)i, (long long)ly->stride);
            int64_t pl, pr;
            conv_pads(ly, *l, &pl, &pr);
            const int64_t lp = *l + pl + pr;
            SLM_TRY(slm_numel(fn, &m, 2, ly->cin, lp));
            if (m > need) need = m;
            const int64_t lo = (lp - ly->dilation * (ly->k - 1) - 1) / ly->stride + 1;
            SLM_CHECK(lo >= 1, fn, "layer %lld: the signal (%lld samples) is too short", (long long)i, (long long)*l);
            *c = ly->cout, *l = lo;
            break;
        }
        case SLM_CS_CONVTR: {
            SLM_CHECK(ly->w && ly->cin == C && ly->cout >= 1 && ly->k >= ly->stride && ly->stride >= 1, fn,
                      "layer %lld: transposed conv %lld->%lld (K=%lld, stride %lld) on %lld channels", (long long)i,
                      (long long)ly->cin, (long long)ly->cout, (long long)ly->k, (long long)ly->stride, (long long)C);
            SLM_CHECK(ly->param >= 0.0f && ly->param <= 1.0f, fn, "layer %lld: trim_right_ratio %g outside [0, 1]",
                      (long long)i, (double)ly->param);
            SLM_CHECK(!ly->lstm || (ly->lstm[0] && ly->lstm[1] && ly->lstm_layers >= 1 && ly->cout % ly->lstm_layers == 0),
                      fn, "layer %lld: the transposed conv's group norm needs weight, bias and groups dividing %lld",
                      (long long)i, (long long)ly->cout);
            const int64_t full = (L - 1) * ly->stride + ly->k;
            SLM_TRY(slm_numel(fn, &m, 2, ly->cout, full));
            if (m > need) need = m;
            C = ly->cout, L = full - (ly->k - ly->stride);
            SLM_CHECK(L >= 1, fn, "layer %lld: empty output", (long long)i);
            break;
        }
        case SLM_CS_CONVP: {
            SLM_CHECK(ly->w && ly->cin == C && ly->cout >= 1 && ly->k >= 1 && ly->stride >= 1 && ly->dilation >= 1 &&
                          ly->pad_left >= 0 && ly->pad_right >= 0,
                      fn, "layer %lld: conv %lld->%lld (K=%lld) on a signal of %lld channels", (long long)i,
                      (long long)ly->cin, (long long)ly->cout, (long long)ly->k, (long long)C);
            const int64_t lp = L + ly->pad_left + ly->pad_right;
            SLM_TRY(slm_numel(fn, &m, 2, ly->cin, lp));
            if (m > need) need = m;
            const int64_t lo = (lp - ly->dilation * (ly->k - 1) - 1) / ly->stride + 1;
            SLM_CHECK(lp - ly->dilation * (ly->k - 1) - 1 >= 0, fn, "layer %lld: the signal (%lld samples) is too short",
                      (long long)i, (long long)L);
            C = ly->cout, L = lo;
            break;
        }
        case SLM_CS_CONVTRP: {
            SLM_CHECK(ly->w && ly->cin == C && ly->cout >= 1 && ly->k >= 1 && ly->stride >= 1 && ly->pad_left >= 0 &&
                          ly->pad_right >= 0,
                      fn, "layer %lld: transposed conv %lld->%lld on %lld channels", (long long)i, (long long)ly->cin,
                      (long long)ly->cout, (long long)C);
            const int64_t full = (L - 1) * ly->stride + ly->k;
            SLM_TRY(slm_numel(fn, &m, 2, ly->cout, full));
            if (m > need) need = m;
            C = ly->cout, L = full - ly->pad_left - ly->pad_right;
            SLM_CHECK(L >= 1, fn, "layer %lld: empty output", (long long)i);
            break;
        }
        case SLM_CS_SNAKE:
            SLM_CHECK(ly->w && ly->cin == C, fn, "layer %lld: snake of %lld channels on %lld", (long long)i,
                      (long long)ly->cin, (long long)C);
            break;
        case SLM_CS_GROUPNORM:
        case SLM_CS_SKIPGROUPNORM: {
            SLM_CHECK(ly->op == SLM_CS_GROUPNORM || d > 0, fn, "layer %lld: SKIPGROUPNORM without a saved signal",
                      (long long)i);
            const int64_t c = ly->op == SLM_CS_GROUPNORM ? C : sc[d - 1];
            SLM_CHECK(ly->cin == c && ly->k >= 1 && c % ly->k == 0 && ly->param >= 0.0f, fn,
                      "layer %lld: group norm of %lld channels in %lld groups on %lld channels", (long long)i,
                      (long long)ly->cin, (long long)ly->k, (long long)c);
            break;
        }
        case SLM_CS_TANH:
        case SLM_CS_ELU: break;
        case SLM_CS_PUSH:
            SLM_CHECK(d < MAX_DEPTH, fn, "layer %lld: residuals nested deeper than %d", (long long)i, MAX_DEPTH);
            sc[d] = C, sl[d] = L, d++;
            if (d > maxd) maxd = d;
            break;
        case SLM_CS_ADD:
            SLM_CHECK(d > 0, fn, "layer %lld: ADD without a saved signal", (long long)i);
            d--;
            SLM_CHECK(sc[d] == C && sl[d] >= L && (sl[d] - L) % 2 == 0, fn,
                      "layer %lld: residual (%lld, %lld) does not match (%lld, %lld)", (long long)i, (long long)sc[d],
                      (long long)sl[d], (long long)C, (long long)L);
            break;
        case SLM_CS_LSTM:
            SLM_CHECK(ly->lstm && ly->lstm_layers >= 1 && ly->cin == C && ly->cout == C, fn,
                      "layer %lld: LSTM of %lld features on %lld channels", (long long)i, (long long)ly->cin,
                      (long long)C);
            for (int64_t j = 0; j < 4 * ly->lstm_layers; j++)
                SLM_CHECK(ly->lstm[j], fn, "layer %lld: LSTM parameter %lld is NULL", (long long)i, (long long)j);
            break;
        default: return slm_error(SLM_ERR_VALUE, fn, "layer %lld: unknown op %d", (long long)i, (int)ly->op);
        }
        if (C * L > need) need = C * L;
    }
    SLM_CHECK(d == 0, fn, "%d saved signal(s) never added back", d);
    *C_out = C, *L_out = L;
    if (pl_out) pl_out->max_elems = need, pl_out->depth = maxd;
    return SLM_OK;
}

slm_status slm_convseq_shape(int64_t *C_out, int64_t *L_out, const slm_cs_layer *layers, int64_t n, int64_t C,
                             int64_t L) {
    return walk(C_out, L_out, NULL, layers, n, C, L);
}

/* dst (NC, L + pl + pr) <- src (NC, L) padded as EnCodec's pad1d: zeros, or reflection
 * (a signal not longer than the larger pad is first extended with zeros on the right,
 * reflected, and the extension cut off again). With elu (alpha >= 0), ELU is applied on
 * the way: it commutes with reflection and keeps zeros, so elu(pad(x)) = pad(elu(x)), and
 * the activation costs no pass of its own. Rows: the middle by memcpy or the ELU kernel
 * (the row stays in cache for its pads), the pads copied from it. */
static slm_status pad1d(float *dst, const float *src, int64_t NC, int64_t L, int64_t pl, int64_t pr, int reflect,
                        int elu, float alpha) {
    const int64_t lo = L + pl + pr, mx = pl > pr ? pl : pr;
    if (reflect && L <= mx) { /* short signal: the general index rule, then the activation */
        const int64_t le = mx + 1;
        for (int64_t r = 0; r < NC; r++) {
            const float *sr = src + r * L;
            float *o = dst + r * lo;
            for (int64_t j = 0; j < lo; j++) {
                int64_t t = j - pl;
                if (t < 0) t = -t;
                if (t >= le) t = 2 * (le - 1) - t;
                o[j] = t < L ? sr[t] : 0.0f;
            }
        }
        return elu ? slm_act_f32(dst, dst, NC * lo, SLM_ACT_ELU, alpha) : SLM_OK;
    }
    for (int64_t r = 0; r < NC; r++) {
        float *o = dst + r * lo, *m = o + pl;
        if (elu)
            SLM_TRY(slm_act_f32(m, src + r * L, L, SLM_ACT_ELU, alpha));
        else
            memcpy(m, src + r * L, (size_t)L * sizeof(float));
        for (int64_t j = 1; j <= pl; j++) o[pl - j] = reflect ? m[j] : 0.0f;
        for (int64_t j = 1; j <= pr; j++) m[L - 1 + j] = reflect ? m[L - 1 - j] : 0.0f;
    }
    return SLM_OK;
}

/* (N, C, L) -> (N, L, C) */
static void transpose_cl(float *dst, const float *src, int64_t N, int64_t C, int64_t L) {
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < L; t++) dst[(b * L + t) * C + c] = src[(b * C + c) * L + t];
}

/* a padded conv layer: out (N, cout, Lo) <- in (N, cin, L), pad as scratch; elu: the
 * activation of a preceding ELU layer, applied while padding */
static slm_status run_conv(float *out, int64_t *Lo, const float *in, float *pad, const slm_cs_layer *ly, int64_t N,
                           int64_t L, int elu, float alpha) {
    int64_t pl, pr;
    conv_pads(ly, L, &pl, &pr);
    const float *src = in;
    if (pl || pr || elu) { /* a 1-tap conv without activation reads its input in place */
        SLM_TRY(pad1d(pad, in, N * ly->cin, L, pl, pr, ly->reflect, elu, alpha));
        src = pad;
    }
    slm_conv1d_params p = slm_conv1d_default_params();
    p.stride = ly->stride;
    p.dilation = ly->dilation;
    SLM_TRY(slm_conv1d_out_len(Lo, L + pl + pr, ly->k, p));
    return slm_conv1d_f32(out, src, ly->w, ly->b, N, ly->cin, L + pl + pr, ly->cout, ly->k, p);
}

/* scratch layout: data buffers (the current signal, one free, one per residual level),
 * two scratch buffers (padding, transposed-conv output, LSTM layouts), all of the
 * largest per-step size */
#define DATA_BUFS(depth) (2 + (depth))

static slm_status ws_bytes_for(size_t *bytes, plan *pn, int64_t *Cf, int64_t *Lf, const slm_cs_layer *layers,
                               int64_t n, int64_t N, int64_t C, int64_t L, int64_t *per) {
    static const char fn[] = "convseq";
    SLM_CHECK(N >= 1, fn, "N must be >= 1, got %lld", (long long)N);
    SLM_TRY(walk(Cf, Lf, pn, layers, n, C, L));
    SLM_TRY(slm_numel(fn, per, 3, N, pn->max_elems, (int64_t)sizeof(float)));
    *bytes = slm_arena_need((size_t)*per) * (size_t)(DATA_BUFS(pn->depth) + 2);
    return SLM_OK;
}

slm_status slm_convseq_workspace(size_t *bytes, const slm_cs_layer *layers, int64_t n, int64_t N, int64_t C,
                                 int64_t L) {
    plan pn;
    int64_t cf, lf, per;
    return ws_bytes_for(bytes, &pn, &cf, &lf, layers, n, N, C, L, &per);
}

/* a data buffer that holds neither the current signal nor a saved one */
static int free_buf(int cur, const int *stk, int d, int nb) {
    for (int b = 0; b < nb; b++) {
        int used = b == cur;
        for (int i = 0; i < d; i++) used |= stk[i] == b;
        if (!used) return b;
    }
    return -1; /* cannot happen: nb = 2 + depth */
}

slm_status slm_convseq_run_f32(float *out, const float *x, int64_t N, int64_t C, int64_t L,
                               const slm_cs_layer *layers, int64_t n, void *ws, size_t ws_bytes) {
    static const char fn[] = "convseq";
    int64_t Cf, Lf, per;
    plan pn;
    size_t need = 0;
    SLM_TRY(ws_bytes_for(&need, &pn, &Cf, &Lf, layers, n, N, C, L, &per));
    slm_arena ar;
    if (ws) {
        SLM_CHECK(ws_bytes >= need && ((uintptr_t)ws & 63) == 0, fn,
                  "workspace of %zu bytes (needs %zu, 64-byte aligned)", ws_bytes, need);
        ar.base = ws, ar.size = ws_bytes, ar.used = 0;
    } else {
        SLM_TRY(slm_arena_init(&ar, need, fn));
    }
    const int nb = DATA_BUFS(pn.depth);
    float *buf[2 + MAX_DEPTH];
    for (int i = 0; i < nb; i++) buf[i] = slm_arena_take(&ar, (size_t)per);
    float *p1 = slm_arena_take(&ar, (size_t)per), *p2 = slm_arena_take(&ar, (size_t)per);
    /* a PUSH saves the current buffer by reference: later layers write into free buffers */
    int cur = 0, stk[MAX_DEPTH], d = 0;
    int64_t sl[MAX_DEPTH];
    memcpy(buf[cur], x, (size_t)(N * C * L) * sizeof(float));
    slm_status st = SLM_OK;
    int elu = 0; /* an ELU waiting to be applied by the next layer */
    float alpha = 0.0f;
    for (int64_t i = 0; i < n && st == SLM_OK; i++) {
        const slm_cs_layer *ly = layers + i;
        int64_t lo;
        int f = free_buf(cur, stk, d, nb);
        if (elu && ly->op != SLM_CS_CONV) { /* only a CONV takes the activation along */
            st = slm_act_f32(buf[f], buf[cur], N * C * L, SLM_ACT_ELU, alpha);
            cur = f, elu = 0;
            if (st) break;
            f = free_buf(cur, stk, d, nb);
        }
        switch (ly->op) {
        case SLM_CS_CONV:
            st = run_conv(buf[f], &lo, buf[cur], p1, ly, N, L, elu, alpha);
            cur = f, C = ly->cout, L = lo, elu = 0;
            break;
        case SLM_CS_SKIPCONV:
            st = run_conv(buf[f], &lo, buf[stk[d - 1]], p1, ly, N, sl[d - 1], 0, 0.0f);
            stk[d - 1] = f, sl[d - 1] = lo;
            break;
        case SLM_CS_CONVTR: {
            const int64_t full = (L - 1) * ly->stride + ly->k;
            int64_t tl, tr, got;
            if ((st = slm_conv_transpose1d_out_len(&got, L, ly->k, ly->stride, 0, 0, 1)) != SLM_OK) break;
            if ((st = slm_conv_transpose1d_f32(p1, buf[cur], ly->w, ly->b, N, ly->cin, L, ly->cout, ly->k, ly->stride,
                                               0, 0, 1, 1)) != SLM_OK)
                break;
            const float *fo = p1;
            if (ly->lstm) { /* EnCodec's time_group_norm, over the untrimmed output */
                if ((st = slm_group_norm_f32(p2, p1, ly->lstm[0], ly->lstm[1], N, ly->cout, full, ly->lstm_layers,
                                             1e-5f)) != SLM_OK)
                    break;
                fo = p2;
            }
            convtr_trim(ly, &tl, &tr);
            lo = full - tl - tr;
            for (int64_t r = 0; r < N * ly->cout; r++)
                memcpy(buf[f] + r * lo, fo + r * full + tl, (size_t)lo * sizeof(float));
            cur = f, C = ly->cout, L = lo;
            break;
        }
        case SLM_CS_ELU:
            if (i + 1 < n && layers[i + 1].op == SLM_CS_CONV) {
                elu = 1, alpha = ly->param; /* applied while the conv pads its input */
            } else {
                st = slm_act_f32(buf[f], buf[cur], N * C * L, SLM_ACT_ELU, ly->param);
                cur = f;
            }
            break;
        case SLM_CS_PUSH:
            stk[d] = cur, sl[d] = L, d++;
            break;
        case SLM_CS_ADD: {
            d--;
            float *o = buf[cur];
            const int64_t crop = (sl[d] - L) / 2, ls = sl[d]; /* DAC: x[..., pad:-pad] when longer */
            for (int64_t r = 0; r < N * C; r++) {
                const float *s = buf[stk[d]] + r * ls + crop;
                float *orow = o + r * L;
                for (int64_t j = 0; j < L; j++) orow[j] = s[j] + orow[j]; /* shortcut(x) + block(x) */
            }
            break;
        }
        case SLM_CS_CONVP: {
            float *src = buf[cur];
            const int64_t lp = L + ly->pad_left + ly->pad_right;
            if (ly->pad_left || ly->pad_right) {
                if ((st = pad1d(p1, buf[cur], N * C, L, ly->pad_left, ly->pad_right, 0, 0, 0.0f)) != SLM_OK) break;
                src = p1;
            }
            slm_conv1d_params cp = slm_conv1d_default_params();
            cp.stride = ly->stride;
            cp.dilation = ly->dilation;
            if ((st = slm_conv1d_out_len(&lo, lp, ly->k, cp)) != SLM_OK) break;
            st = slm_conv1d_f32(buf[f], src, ly->w, ly->b, N, C, lp, ly->cout, ly->k, cp);
            cur = f, C = ly->cout, L = lo;
            break;
        }
        case SLM_CS_CONVTRP: {
            const int64_t full = (L - 1) * ly->stride + ly->k;
            if ((st = slm_conv_transpose1d_f32(p1, buf[cur], ly->w, ly->b, N, ly->cin, L, ly->cout, ly->k, ly->stride,
                                               0, 0, 1, 1)) != SLM_OK)
                break;
            lo = full - ly->pad_left - ly->pad_right;
            for (int64_t r = 0; r < N * ly->cout; r++)
                memcpy(buf[f] + r * lo, p1 + r * full + ly->pad_left, (size_t)lo * sizeof(float));
            cur = f, C = ly->cout, L = lo;
            break;
        }
        case SLM_CS_SNAKE:
            st = slm_snake_f32(buf[f], buf[cur], ly->w, NULL, N, C, L, 0, 1e-9f);
            cur = f;
            break;
        case SLM_CS_TANH:
            st = slm_act_f32(buf[f], buf[cur], N * C * L, SLM_ACT_TANH, 0.0f);
            cur = f;
            break;
        case SLM_CS_GROUPNORM:
            st = slm_group_norm_f32(buf[f], buf[cur], ly->w, ly->b, N, C, L, ly->k, ly->param);
            cur = f;
            break;
        case SLM_CS_SKIPGROUPNORM:
            st = slm_group_norm_f32(buf[f], buf[stk[d - 1]], ly->w, ly->b, N, ly->cin, sl[d - 1], ly->k, ly->param);
            stk[d - 1] = f;
            break;
        case SLM_CS_LSTM:
            transpose_cl(p1, buf[cur], N, C, L);
            if ((st = slm_lstm_f32(p2, NULL, NULL, p1, NULL, NULL, ly->lstm, L, N, C, C, (int)ly->lstm_layers, 0, 1,
                                   1)) != SLM_OK)
                break;
            if (ly->lstm_skip)
                for (int64_t j = 0; j < N * C * L; j++) p2[j] = p2[j] + p1[j]; /* y = lstm(x) + x */
            {
                float *o = buf[f]; /* (N, L, C) -> (N, C, L) */
                for (int64_t b = 0; b < N; b++)
                    for (int64_t tt = 0; tt < L; tt++)
                        for (int64_t c = 0; c < C; c++) o[(b * C + c) * L + tt] = p2[(b * L + tt) * C + c];
            }
            cur = f;
            break;
        }
    }
    if (st == SLM_OK && elu) st = slm_act_f32(out, buf[cur], N * C * L, SLM_ACT_ELU, alpha);
    else if (st == SLM_OK) memcpy(out, buf[cur], (size_t)(N * Cf * Lf) * sizeof(float));
    if (!ws) slm_arena_release(&ar);
    return st;
}
