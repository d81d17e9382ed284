/* lstm.c (simd): LSTM layers (torch.nn.LSTM semantics) for AVX2 / AVX-512.
 *
 * The recurrent core of codec encoders/decoders (EnCodec: 2 layers over the latent
 * frames). Per layer, the input projection of every time step does not depend on the
 * recurrence, so it is one GEMM per direction (slm_sgemm: x (T*N, I_l) @ w_ih^T, the two
 * biases folded in as its C operand). What is left per step is w_hh (4H, H) @ h (N, H)
 * plus the gates, and it is sequential in time: one OpenMP region per layer runs all
 * steps with one barrier each; each thread owns fixed chunks of hidden units (all four
 * gates of a unit, so the cell update needs nothing from other threads) and so reads
 * the same rows of w_hh every step, from its own cache where they fit. Both directions
 * of a bidirectional layer advance in the same steps.
 *
 * Gates use attn_vmath.h's accurate vsigmoid / vtanh. Ctrl-C is checked once per step
 * by thread 0 and seen by all threads after the barrier (two flag slots, so that a
 * write for step s+1 never races with a read for step s).
 */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "attn_vmath.h"
#include "../gemm.h"
#include "../rnn_vq.h"

#define UC 64 /* most hidden units in one chunk of a step's work */

/* g[n * ldg + r] = w_r . h_n for RR <= 4 rows of w (row stride H) and NN <= 2 rows of
 * h (row stride H); constant RR, NN after inlining, accumulators in registers */
static inline __attribute__((always_inline)) void dot_tile(float *g, int64_t ldg, const float *w,
                                                           const float *h, int64_t H, const int RR,
                                                           const int NN) {
    vf a[4][2];
    for (int r = 0; r < RR; r++)
        for (int n = 0; n < NN; n++) a[r][n] = vzero();
    int64_t e = 0;
    for (; e + VW <= H; e += VW) {
        vf hv[2];
        for (int n = 0; n < NN; n++) hv[n] = vload(h + n * H + e);
        for (int r = 0; r < RR; r++) {
            vf wv = vload(w + r * H + e);
            for (int n = 0; n < NN; n++) a[r][n] = vfmadd(wv, hv[n], a[r][n]);
        }
    }
    if (e < H) {
        const int t = (int)(H - e);
        vf hv[2];
        for (int n = 0; n < NN; n++) hv[n] = vload_n(h + n * H + e, t);
        for (int r = 0; r < RR; r++) {
            vf wv = vload_n(w + r * H + e, t);
            for (int n = 0; n < NN; n++) a[r][n] = vfmadd(wv, hv[n], a[r][n]);
        }
    }
    for (int r = 0; r < RR; r++)
        for (int n = 0; n < NN; n++) g[n * ldg + r] = vreduce_add(a[r][n]);
}

/* g[n * ldg + u] = w_u . h_n for nu rows of w and N rows of h */
static void rowdots(float *g, int64_t ldg, const float *w, int64_t nu, const float *h, int64_t N,
                    int64_t H) {
    int64_t u = 0;
    for (; u + 4 <= nu; u += 4) {
        int64_t n = 0;
        for (; n + 2 <= N; n += 2) dot_tile(g + n * ldg + u, ldg, w + u * H, h + n * H, H, 4, 2);
        if (n < N) dot_tile(g + n * ldg + u, ldg, w + u * H, h + n * H, H, 4, 1);
    }
    for (; u < nu; u++) {
        int64_t n = 0;
        for (; n + 2 <= N; n += 2) dot_tile(g + n * ldg + u, ldg, w + u * H, h + n * H, H, 1, 2);
        if (n < N) dot_tile(g + n * ldg + u, ldg, w + u * H, h + n * H, H, 1, 1);
    }
}

/* one step of units [u0, u0 + nu) of one direction for all N samples:
 * gates = xp (input projection + biases) + w_hh @ h_prev; c = f c + i g; h = o tanh(c) */
static void step_chunk(float *gb, const float *w_hh, const float *hp, float *hn, float *cs,
                       const float *xp, int64_t xp_ld, float *y, int64_t y_ld, const int64_t *rows,
                       int64_t N, int64_t H, int64_t u0, int64_t nu) {
    const int64_t ldg = (nu + VW - 1) / VW * VW;
    for (int gate = 0; gate < 4; gate++)
        rowdots(gb + gate * N * ldg, ldg, w_hh + (gate * H + u0) * H, nu, hp, N, H);
    for (int64_t n = 0; n < N; n++) {
        const float *xr = xp + rows[n] * xp_ld + u0;
        float *yr = y + rows[n] * y_ld + u0, *cr = cs + n * H + u0, *hr = hn + n * H + u0;
        const float *g0 = gb + n * ldg, *g1 = g0 + N * ldg, *g2 = g1 + N * ldg, *g3 = g2 + N * ldg;
        for (int64_t u = 0; u < nu; u += VW) {
            const int t = nu - u < VW ? (int)(nu - u) : VW;
            vf zi, zf, zg, zo, c;
            if (t == VW) {
                zi = vadd(vload(xr + u), vload(g0 + u));
                zf = vadd(vload(xr + H + u), vload(g1 + u));
                zg = vadd(vload(xr + 2 * H + u), vload(g2 + u));
                zo = vadd(vload(xr + 3 * H + u), vload(g3 + u));
                c = vload(cr + u);
            } else {
                zi = vadd(vload_n(xr + u, t), vload_n(g0 + u, t));
                zf = vadd(vload_n(xr + H + u, t), vload_n(g1 + u, t));
                zg = vadd(vload_n(xr + 2 * H + u, t), vload_n(g2 + u, t));
                zo = vadd(vload_n(xr + 3 * H + u, t), vload_n(g3 + u, t));
                c = vload_n(cr + u, t);
            }
            c = vfmadd(vsigmoid(zf), c, vmul(vsigmoid(zi), vtanh(zg)));
            vf h = vmul(vsigmoid(zo), vtanh(c));
            if (t == VW) {
                vstore(cr + u, c);
                vstore(hr + u, h);
                vstore(yr + u, h);
            } else {
                vstore_n(cr + u, c, t);
                vstore_n(hr + u, h, t);
                vstore_n(yr + u, h, t);
            }
        }
    }
}

slm_status SLM_SIMD_FN(slm_lstm_f32)(SLM_LSTM_ARGS) {
    static const char fn[] = "lstm";
    const int64_t D = bidirectional ? 2 : 1, DH = D * H, G4 = 4 * H, per = has_bias ? 4 : 2;
    const int64_t TN = T * N;
    /* chunks of units: as few as UC allows, evenly sized */
    int64_t nch = (H + UC - 1) / UC;
    const int64_t ucw = (H + nch - 1) / nch;
    nch = (H + ucw - 1) / ucw;
    const int64_t nchunks = D * nch;
    int nt = slm_threads();
    if (nt > nchunks) nt = (int)nchunks;
    if (4 * H * H * N * D < 32768) nt = 1; /* a step is too small to share */
    const int64_t ucp = (ucw + VW - 1) / VW * VW;
    /* scratch: projections xp (T*N, D*4H), layer output y (T*N, D*H) below the last
     * layer, state h (D, 2, N, H) double-buffered and c (D, N, H), row index (T, N),
     * per-thread gates (4, N, ucp) */
    const size_t f = sizeof(float);
    const size_t need = slm_arena_need((size_t)(TN * D * G4) * f) +
                        (num_layers > 1 ? slm_arena_need((size_t)(TN * DH) * f) : 0) +
                        slm_arena_need((size_t)(3 * D * N * H) * f) + slm_arena_need((size_t)TN * sizeof(int64_t)) +
                        (size_t)nt * slm_arena_need((size_t)(4 * N * ucp) * f) + slm_arena_need((size_t)G4 * f);
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, need, fn));
    float *xp = slm_arena_take(&ar, (size_t)(TN * D * G4) * f);
    float *y = num_layers > 1 ? slm_arena_take(&ar, (size_t)(TN * DH) * f) : NULL;
    float *hbuf = slm_arena_take(&ar, (size_t)(3 * D * N * H) * f), *cbuf = hbuf + 2 * D * N * H;
    int64_t *rowidx = slm_arena_take(&ar, (size_t)TN * sizeof(int64_t));
    float *gbs[nt];
    for (int i = 0; i < nt; i++) gbs[i] = slm_arena_take(&ar, (size_t)(4 * N * ucp) * f);
    float *bias = slm_arena_take(&ar, (size_t)G4 * f);
    /* row of (t, n) in x, xp, y and out */
    for (int64_t t = 0; t < T; t++)
        for (int64_t n = 0; n < N; n++) rowidx[t * N + n] = batch_first ? n * T + t : t * N + n;
    slm_status st = SLM_OK;
    for (int layer = 0; layer < num_layers && st == SLM_OK; layer++) {
        const float *in = layer == 0 ? x : y;
        const int64_t in_w = layer == 0 ? In : DH;
        float *dst = layer == num_layers - 1 ? out : y;
        const float *w_hh[2];
        for (int64_t d = 0; d < D; d++) {
            const int64_t ld = layer * D + d;
            w_hh[d] = params[ld * per + 1];
            float *xpd = xp + d * G4;
            if (has_bias) {
                const float *b_ih = params[ld * per + 2], *b_hh = params[ld * per + 3];
                for (int64_t j = 0; j < G4; j++) bias[j] = b_ih[j] + b_hh[j];
                for (int64_t r = 0; r < TN; r++) memcpy(xpd + r * D * G4, bias, (size_t)G4 * f);
            }
            st = slm_sgemm(0, 1, TN, G4, in_w, 1.0f, in, in_w, params[ld * per], in_w,
                           has_bias ? 1.0f : 0.0f, xpd, D * G4);
            if (st != SLM_OK) break;
            float *h = hbuf + d * 2 * N * H, *c = cbuf + d * N * H;
            if (h0) {
                memcpy(h, h0 + ld * N * H, (size_t)(N * H) * f);
                memcpy(c, c0 + ld * N * H, (size_t)(N * H) * f);
            } else {
                memset(h, 0, (size_t)(N * H) * f);
                memset(c, 0, (size_t)(N * H) * f);
            }
        }
        if (st != SLM_OK) break;
        int flag[2] = {0, 0};
#pragma omp parallel num_threads(nt)
        {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            for (int64_t s = 0; s < T; s++) {
                for (int64_t ch = tid; ch < nchunks; ch += nt) {
                    const int64_t d = ch / nch, u0 = (ch % nch) * ucw;
                    const int64_t nu = H - u0 < ucw ? H - u0 : ucw;
                    const int64_t t = d ? T - 1 - s : s;
                    const float *hp = hbuf + (d * 2 + (s & 1)) * N * H;
                    float *hn = hbuf + (d * 2 + ((s + 1) & 1)) * N * H;
                    step_chunk(gbs[tid], w_hh[d], hp, hn, cbuf + d * N * H, xp + d * G4, D * G4,
                               dst + d * H, DH, rowidx + t * N, N, H, u0, nu);
                }
                if (tid == 0) __atomic_store_n(&flag[s & 1], slm_interrupted(), __ATOMIC_RELAXED);
#pragma omp barrier
                if (__atomic_load_n(&flag[s & 1], __ATOMIC_RELAXED)) break;
            }
        }
        if (flag[0] || flag[1]) {
            st = SLM_INTERRUPTED_ERROR(fn);
            break;
        }
        for (int64_t d = 0; d < D; d++) {
            const int64_t ld = layer * D + d;
            if (h_n) memcpy(h_n + ld * N * H, hbuf + (d * 2 + (T & 1)) * N * H, (size_t)(N * H) * f);
            if (c_n) memcpy(c_n + ld * N * H, cbuf + d * N * H, (size_t)(N * H) * f);
        }
    }
    slm_arena_release(&ar);
    return st;
}
