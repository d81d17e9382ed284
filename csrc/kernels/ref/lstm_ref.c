/* lstm_ref.c: scalar reference of lstm (torch.nn.LSTM semantics), the oracle of
 * simd/lstm.c. Single-threaded and direct: per layer, per direction, per time step,
 * per sample, all 4H gate sums in double (bias + w_ih x + w_hh h), then the cell
 * update; the state h, c is stored in float between steps, as an fp32 LSTM keeps it. */
#include <math.h>
#include <string.h>

#include "../rnn_vq.h"

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

slm_status slm_lstm_f32_ref(SLM_LSTM_ARGS) {
    static const char fn[] = "lstm";
    const int64_t D = bidirectional ? 2 : 1, DH = D * H, per = has_bias ? 4 : 2;
    /* two layer-output buffers (a layer reads the one below while writing its own), the
     * state h, c (N, H) and the gate sums (4H) */
    const size_t ybytes = num_layers > 1 ? (size_t)(T * N * DH) * sizeof(float) : 0;
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar,
                           2 * slm_arena_need(ybytes) + 2 * slm_arena_need((size_t)(N * H) * sizeof(float)) +
                               slm_arena_need((size_t)(4 * H) * sizeof(double)),
                           fn));
    float *ybuf[2] = {NULL, NULL};
    if (num_layers > 1) {
        ybuf[0] = slm_arena_take(&ar, ybytes);
        ybuf[1] = slm_arena_take(&ar, ybytes);
    }
    float *h = slm_arena_take(&ar, (size_t)(N * H) * sizeof(float));
    float *c = slm_arena_take(&ar, (size_t)(N * H) * sizeof(float));
    double *g = slm_arena_take(&ar, (size_t)(4 * H) * sizeof(double));
    for (int layer = 0; layer < num_layers; layer++) {
        const float *in = layer == 0 ? x : ybuf[(layer - 1) & 1];
        const int64_t in_w = layer == 0 ? In : DH;
        float *dst = layer == num_layers - 1 ? out : ybuf[layer & 1];
        for (int64_t d = 0; d < D; d++) {
            const int64_t ld = layer * D + d;
            const float *w_ih = params[ld * per], *w_hh = params[ld * per + 1];
            const float *b_ih = has_bias ? params[ld * per + 2] : NULL;
            const float *b_hh = has_bias ? params[ld * per + 3] : NULL;
            if (h0) {
                memcpy(h, h0 + ld * N * H, (size_t)(N * H) * sizeof(float));
                memcpy(c, c0 + ld * N * H, (size_t)(N * H) * sizeof(float));
            } else {
                memset(h, 0, (size_t)(N * H) * sizeof(float));
                memset(c, 0, (size_t)(N * H) * sizeof(float));
            }
            for (int64_t s = 0; s < T; s++) {
                if (slm_interrupted()) {
                    slm_arena_release(&ar);
                    return SLM_INTERRUPTED_ERROR(fn);
                }
                const int64_t t = d ? T - 1 - s : s;
                for (int64_t n = 0; n < N; n++) {
                    const int64_t row = batch_first ? n * T + t : t * N + n;
                    const float *xr = in + row * in_w;
                    float *hn = h + n * H, *cn = c + n * H;
                    for (int64_t j = 0; j < 4 * H; j++) {
                        double acc = has_bias ? (double)b_ih[j] + (double)b_hh[j] : 0.0;
                        const float *wi = w_ih + j * in_w, *wh = w_hh + j * H;
                        for (int64_t e = 0; e < in_w; e++) acc += (double)wi[e] * (double)xr[e];
                        for (int64_t e = 0; e < H; e++) acc += (double)wh[e] * (double)hn[e];
                        g[j] = acc;
                    }
                    for (int64_t u = 0; u < H; u++) {
                        const double ig = sigmoid_d(g[u]), fg = sigmoid_d(g[H + u]);
                        const double gg = tanh(g[2 * H + u]), og = sigmoid_d(g[3 * H + u]);
                        cn[u] = (float)(fg * (double)cn[u] + ig * gg);
                        hn[u] = (float)(og * tanh((double)cn[u]));
                        dst[row * DH + d * H + u] = hn[u];
                    }
                }
            }
            if (h_n) memcpy(h_n + ld * N * H, h, (size_t)(N * H) * sizeof(float));
            if (c_n) memcpy(c_n + ld * N * H, c, (size_t)(N * H) * sizeof(float));
        }
    }
    slm_arena_release(&ar);
    return SLM_OK;
}
