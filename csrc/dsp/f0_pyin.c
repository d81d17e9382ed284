/* f0_pyin.c: probabilistic YIN (Mauch & Dixon 2014) with librosa.pyin's semantics.
 *
 * Flow per channel, in blocks of TB frames:
 *   1. frames in parallel: normalised difference (f0.c), troughs, and the probability
 *      of each trough being the period: a beta prior over n_thresholds thresholds, a
 *      Boltzmann prior over the troughs under each threshold (shorter periods first),
 *      and no_trough_prob * P(threshold below every trough) on the global minimum.
 *      Each candidate maps to a pitch bin round(12 / res * log2(f / fmin)); the
 *      voiced probability is the sum over bins, clipped to [0, 1]; the n unvoiced
 *      states share 1 - voiced.
 *   2. Viterbi steps over 2n states (n voiced pitch bins, then n unvoiced ones), in
 *      log space with librosa's floor log(x + DBL_MIN), so impossible moves cost
 *      log(DBL_MIN) = -708.4 rather than -inf, exactly as there.
 *   3. back-tracking; f0 = fmin * 2^(bin * res / 12), voiced = state < n.
 *
 * The transition matrix is librosa's: a triangular window of width W = round(35.92 *
 * 12 * hop / sr) / res + 1 bins around the current bin (rows normalised with numpy's
 * pairwise sum, so each entry is bitwise librosa's), times 1 - switch_prob within a
 * voicing group and switch_prob across. librosa multiplies by the dense (2n, 2n)
 * matrix: O(n^2) per frame. Here each target looks at the 2 x W sources of its band
 * (kernel per path, f0_impl.h), plus one out-of-band candidate: the global best
 * state, which is the only out-of-band source that can win (any in-band source beats
 * every out-of-band one once the global best lies in the band). Ties keep the lowest
 * source index, as numpy's argmax does.
 *
 * Differences from librosa, all deliberate: candidate probabilities are summed over
 * thresholds in threshold order (librosa: a BLAS dot product), the beta prior comes
 * from our own regularised incomplete beta (Lentz's continued fraction; scipy uses
 * Boost), and the difference function is more accurate (f0.c). The first two change
 * probabilities in the last bits of a double.
 * Widths larger than n bins (librosa raises) truncate the triangle at the grid's ends.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "f0_impl.h"

#define TB 64  /* frames per block of candidate computation */
#define CJ SLM_F0_BAND_CHUNK /* target states per Viterbi work item */

/* ---- regularised incomplete beta I_x(a, b) (the beta CDF) ---- */
static double beta_cf(double a, double b, double x) {
    /* continued fraction for I_x(a, b), modified Lentz */
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    return h;
}

static double beta_cdf(double x, double a, double b) {
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    const double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    const double bt = exp(lbt);
    if (x < (a + 1.0) / (a + b + 2.0)) return bt * beta_cf(a, b, x) / a;
    return 1.0 - bt * beta_cf(b, a, 1.0 - x) / b;
}

/* ---- what the parameters fix, shared by every frame and channel ---- */
typedef struct {
    int64_t n;           /* pitch bins */
    int64_t nbps;        /* bins per semitone */
    int64_t nthr;        /* thresholds */
    int64_t width;       /* transition width, bins */
    int64_t cmax;        /* most candidates of one frame */
    double *thr;         /* (nthr + 1) thresholds, linspace(0, 1) */
    double *beta;        /* (nthr) prior mass of each threshold */
    double *cumbeta;     /* (nthr + 1) pairwise sums of beta[:k] */
    double lam, lam_fact_num; /* Boltzmann parameter, 1 - exp(-lam) */
    slm_f0_band band;    /* the Viterbi band table */
    double *LT;
} pyin_model;

static const double L0_ = -708.39641853226408; /* log(DBL_MIN), librosa's log(0 + tiny) */

static slm_status pyin_check(const char *fn, const slm_f0_params *p, const slm_f0_geom *g, int64_t *n,
                             int64_t *nbps, int64_t *width) {
    SLM_CHECK(p->n_thresholds >= 1 && p->n_thresholds <= 1000000, fn,
              "n_thresholds=%lld must be in [1, 1000000]", (long long)p->n_thresholds);
    SLM_CHECK(isfinite(p->beta_a) && p->beta_a > 0 && isfinite(p->beta_b) && p->beta_b > 0, fn,
              "beta_parameters=(%g, %g) must be finite and > 0", p->beta_a, p->beta_b);
    SLM_CHECK(isfinite(p->boltzmann_parameter) && p->boltzmann_parameter > 0, fn,
              "boltzmann_parameter=%g must be finite and > 0", p->boltzmann_parameter);
    SLM_CHECK(isfinite(p->resolution) && p->resolution > 0 && p->resolution <= 1, fn,
              "resolution=%g must be in (0, 1]", p->resolution);
    SLM_CHECK(isfinite(p->max_transition_rate) && p->max_transition_rate > 0, fn,
              "max_transition_rate=%g must be finite and > 0", p->max_transition_rate);
    SLM_CHECK(p->switch_prob >= 0 && p->switch_prob <= 1, fn, "switch_prob=%g must be in [0, 1]",
              p->switch_prob);
    SLM_CHECK(p->no_trough_prob >= 0 && p->no_trough_prob <= 1, fn,
              "no_trough_prob=%g must be in [0, 1]", p->no_trough_prob);
    const double bps = ceil(1.0 / p->resolution);
    SLM_CHECK(bps <= 10000, fn, "resolution=%g is too fine (more than 10000 bins per semitone)",
              p->resolution);
    *nbps = (int64_t)bps;
    const double nb = floor((double)(12 * *nbps) * log2(p->fmax / p->fmin)) + 1.0;
    SLM_CHECK(nb >= 2, fn, "fmin=%g .. fmax=%g spans fewer than 2 pitch bins at resolution=%g",
              p->fmin, p->fmax, p->resolution);
    SLM_CHECK(nb <= 32768, fn,
              "%.0f pitch bins (fmin=%g, fmax=%g, resolution=%g): at most 32768 are supported",
              nb, p->fmin, p->fmax, p->resolution);
    *n = (int64_t)nb;
    /* Python: round(max_transition_rate * 12 * hop_length / sr), ties to even */
    const double semis = p->max_transition_rate * 12.0 * (double)g->hop / p->sr;
    SLM_CHECK(semis < 1e9, fn, "max_transition_rate=%g allows %g semitones per frame: too many",
              p->max_transition_rate, semis);
    *width = (int64_t)nearbyint(semis) * *nbps + 1;
    return SLM_OK;
}

/* Row i of librosa.sequence.transition_local(n, w, 'triangle', wrap=False) into the
 * band table: the triangle (scipy.signal.windows.triang(w)) centred on i as
 * pad_center + roll place it, entries outside [i - w//2, i + w//2] dropped, the row
 * divided by its numpy sum; each entry times the two voicing factors, then
 * log(x + DBL_MIN). row is n doubles of scratch. */
static void band_row(double *LT, double *row, int64_t i, int64_t n, int64_t w, int64_t elo, int64_t E,
                     double stay, double sw) {
    const int64_t c = (w % 2) ? (w - 1) / 2 : ((n % 2 == 0) ? w / 2 - 1 : w / 2);
    const int64_t lo = i - w / 2 > 0 ? i - w / 2 : 0, hi = i + w / 2 + 1 < n ? i + w / 2 + 1 : n;
    memset(row, 0, (size_t)n * sizeof(double));
    const int64_t half = (w + 1) / 2;
    for (int64_t m = 0; m < w; m++) {
        int64_t pp = i + m - c;
        if (w <= n) { /* np.roll wraps; the cut below drops what wrapped, save at w == n */
            pp %= n;
            if (pp < 0) pp += n;
        }
        if (pp < lo || pp >= hi) continue;
        /* triang: k = 1 .. (w + 1) / 2 rising, then mirrored */
        const int64_t k = m < half ? m + 1 : w - m;
        row[pp] = (w == 1) ? 1.0 : (w % 2 == 0) ? (2.0 * (double)k - 1.0) / (double)w
                                                : 2.0 * (double)k / ((double)w + 1.0);
    }
    const double s = slm_f0_pairwise_sum(row, n);
    for (int64_t pp = lo; pp < hi; pp++) {
        if (row[pp] == 0.0) continue;
        const double loc = row[pp] / s;
        const int64_t r = pp - i - elo;
        if (r < 0 || r >= E) continue; /* cannot happen: |pp - i| <= w / 2 */
        LT[r * n + pp] = log(stay * loc + DBL_MIN);
        LT[(E + r) * n + pp] = log(sw * loc + DBL_MIN);
    }
}

/* ---- one frame's candidates ---- */
typedef struct {
    float *x;
    double *d, *cm, *prob;
    int64_t *tr;
} frame_scratch;

/* bins (cmax), logp (cmax) of the voiced candidates of frame t of channel y, sorted by
 * bin; returns their count; *vp = voiced probability, *lu = log emission of every
 * unvoiced state */
static int64_t pyin_frame(int32_t *bins, double *logp, double *vp, double *lu, const float *y, int64_t L,
                          int64_t t, const slm_f0_geom *g, const slm_f0_params *p, const pyin_model *M,
                          frame_scratch *s) {
    const int64_t K = g->K, n = M->n;
    slm_f0_frame(s->x, y, L, t, g, p->pad_mode);
    slm_f0_cmnd(s->cm, s->d, s->x, g);
    const double *c = s->cm;
    double *h = s->d; /* the difference function is spent: reuse it for trough heights */
    int64_t m = 0, gm = -1;
    for (int64_t i = 0; i < K; i++) {
        if (!slm_f0_is_trough(c, K, i)) continue;
        s->tr[m] = i;
        h[m] = c[i];
        s->prob[m] = 0.0;
        if (gm < 0 || c[i] < c[s->tr[gm]]) gm = m;
        m++;
    }
    int64_t nc = 0;
    double sum = 0.0;
    if (m > 0) {
        for (int64_t j = 0; j < M->nthr; j++) {
            const double th = M->thr[j + 1];
            int64_t Nj = 0;
            for (int64_t i = 0; i < m; i++) Nj += h[i] < th;
            if (Nj == 0) continue;
            /* scipy.stats.boltzmann.pmf(pos, lam, Nj) */
            const double fact = M->lam_fact_num / (1.0 - exp(-M->lam * (double)Nj));
            int64_t pos = 0;
            for (int64_t i = 0; i < m; i++) {
                if (!(h[i] < th)) continue;
                s->prob[i] += fact * exp(-M->lam * (double)pos) * M->beta[j];
                pos++;
            }
        }
        int64_t below = 0; /* thresholds at or under the global minimum */
        for (int64_t j = 0; j < M->nthr; j++) below += !(h[gm] < M->thr[j + 1]);
        s->prob[gm] += p->no_trough_prob * M->cumbeta[below];
        for (int64_t i = 0; i < m; i++) {
            const double pf = s->prob[i];
            if (pf == 0.0) continue; /* np.nonzero(yin_probs) */
            const int64_t li = s->tr[i];
            const double f = p->sr / ((double)(g->minP + li) + slm_f0_shift(c, K, li));
            double bi = nearbyint((double)(12 * M->nbps) * log2(f / p->fmin));
            if (bi < 0) bi = 0;
            if (bi >= (double)n) continue; /* clipped to n: librosa's unvoiced fill overwrites it */
            const int32_t b = (int32_t)bi;
            /* numpy fancy assignment: a later candidate in the same bin replaces it */
            int64_t k = 0;
            while (k < nc && bins[k] != b) k++;
            bins[k] = b;
            logp[k] = pf; /* probability for now */
            if (k == nc) nc++;
        }
        /* sort by bin (insertion: lists are short and nearly sorted, descending) */
        for (int64_t a = 1; a < nc; a++) {
            const int32_t bb = bins[a];
            const double pv = logp[a];
            int64_t q = a - 1;
            while (q >= 0 && bins[q] > bb) {
                bins[q + 1] = bins[q];
                logp[q + 1] = logp[q];
                q--;
            }
            bins[q + 1] = bb;
            logp[q + 1] = pv;
        }
        for (int64_t k = 0; k < nc; k++) sum += logp[k]; /* np.sum over bins, in bin order */
    }
    const double v = sum < 0.0 ? 0.0 : sum > 1.0 ? 1.0 : sum;
    for (int64_t k = 0; k < nc; k++) logp[k] = log(logp[k] + DBL_MIN);
    *vp = v;
    *lu = log((1.0 - v) / (double)n + DBL_MIN);
    return nc;
}

/* ---- Viterbi step pieces ---- */
/* em (n) = log emission of the voiced states at step t; at t = 0 also the initial
 * values Vc; returns the first index of the largest previous value (t > 0) */
static int64_t vit_setup(double *em, const int32_t *bins, const double *logp, int64_t cnt, int64_t n, int64_t t,
                         double *const *Vp, double *const *Vc, double lu, double lpi) {
    for (int64_t j = 0; j < n; j++) em[j] = L0_;
    for (int64_t k = 0; k < cnt; k++) em[bins[k]] = logp[k];
    if (t == 0) {
        for (int64_t j = 0; j < n; j++) {
            Vc[0][j] = em[j] + lpi;
            Vc[1][j] = lu + lpi;
        }
        return 0;
    }
    int64_t gb = 0;
    double gv = Vp[0][0];
    for (int q = 0; q < 2; q++)
        for (int64_t j = 0; j < n; j++)
            if (Vp[q][j] > gv) {
                gv = Vp[q][j];
                gb = q * n + j;
            }
    return gb;
}

/* work items [i0, i1) of one step (item = target group x chunk of CJ targets): the band
 * kernel, then the out-of-band candidate gb, then the emission; pt (2n) back-pointers */
static void vit_items(int64_t i0, int64_t i1, int64_t nchunk, const slm_f0_geom *g, const pyin_model *M,
                      double *const *Vp, double *const *Vc, const double *em, double lu, int64_t gb,
                      uint16_t *pt, double *best, double *src) {
    const int64_t n = M->n, elo = M->band.elo, ehi = M->band.elo + M->band.E - 1;
    const int64_t gj = gb % n;
    const double gout = Vp[gb / n][gj] + L0_;
    for (int64_t item = i0; item < i1; item++) {
        const int tg = (int)(item / nchunk);
        const int64_t j0 = (item % nchunk) * CJ, J = n - j0 < CJ ? n - j0 : CJ;
        g->band(best, src, Vp[0], Vp[1], &M->band, tg, j0, J);
        for (int64_t jj = 0; jj < J; jj++) {
            const int64_t j = j0 + jj, e = j - gj;
            double bv = best[jj];
            int64_t sv = (int64_t)src[jj];
            if ((e < elo || e > ehi) && (gout > bv || (gout == bv && gb < sv))) {
                bv = gout;
                sv = gb;
            }
            Vc[tg][j] = (tg ? lu : em[j]) + bv;
            pt[tg * n + j] = (uint16_t)sv;
        }
    }
}

slm_status slm_f0_n_pitch_bins(int64_t *n_bins, const slm_f0_params *p) {
    static const char fn[] = "f0_n_pitch_bins";
    slm_f0_geom g;
    int64_t n, nbps, w;
    SLM_CHECK(n_bins != NULL, fn, "n_bins is NULL");
    SLM_TRY(slm_f0_setup(&g, fn, p, -1));
    SLM_TRY(pyin_check(fn, p, &g, &n, &nbps, &w));
    *n_bins = n;
    return SLM_OK;
}

slm_status slm_pyin_f32(float *f0, uint8_t *voiced, float *voiced_prob, const float *y, int64_t B,
                        int64_t L, const slm_f0_params *p) {
    static const char fn[] = "pyin";
    slm_f0_geom g;
    SLM_CHECK(f0 != NULL, fn, "f0 is NULL");
    SLM_CHECK(y != NULL, fn, "y is NULL");
    SLM_CHECK(B >= 0 && L >= 0, fn, "negative size (B=%lld, L=%lld)", (long long)B, (long long)L);
    SLM_TRY(slm_f0_setup(&g, fn, p, L));
    pyin_model M;
    memset(&M, 0, sizeof M);
    int64_t n, nbps, w;
    SLM_TRY(pyin_check(fn, p, &g, &n, &nbps, &w));
    int64_t BT, ptrn;
    SLM_TRY(slm_numel(fn, &BT, 2, B, g.T));
    SLM_TRY(slm_numel(fn, &ptrn, 3, g.T, (int64_t)2, n)); /* back-pointers of one channel */
    SLM_TRY(slm_f0_check_finite(fn, y, B, L));
    if (BT == 0) return SLM_OK;
    const int64_t T = g.T, K = g.K, S = 2 * n;
    M.n = n;
    M.nbps = nbps;
    M.nthr = p->n_thresholds;
    M.width = w;
    M.cmax = K / 2 + 2; /* troughs are >= 2 lags apart */
    M.lam = p->boltzmann_parameter;
    M.lam_fact_num = 1.0 - exp(-M.lam);
    const int64_t hw = w / 2 < n - 1 ? w / 2 : n - 1; /* band half-width */
    const int64_t elo = -hw, E = 2 * hw + 1, P = hw;
    int nt = slm_threads();
    const int64_t TBc = T < TB ? T : TB;

    /* ---- scratch, sized up front ---- */
    const size_t fx = slm_arena_need((size_t)g.xlen * sizeof(float)),
                 fd = slm_arena_need((size_t)(g.maxP + 1 + SLM_F0_LAG_SLACK) * sizeof(double)),
                 fk8 = slm_arena_need((size_t)K * sizeof(double));
    const size_t per_thread = fx + fd + 3 * fk8 + 2 * slm_arena_need(CJ * sizeof(double));
    size_t bytes = per_thread * (size_t)nt;
    bytes += slm_arena_need((size_t)(M.nthr + 1) * sizeof(double)) * 3;
    bytes += slm_arena_need((size_t)(2 * E * n) * sizeof(double)); /* LT */
    bytes += slm_arena_need((size_t)n * sizeof(double));            /* one LT row of scratch, em */
    bytes += slm_arena_need((size_t)n * sizeof(double));
    bytes += 4 * slm_arena_need((size_t)(n + 2 * P) * sizeof(double)); /* V: 2 buffers x 2 groups */
    bytes += slm_arena_need((size_t)(TBc * M.cmax) * sizeof(int32_t));
    bytes += slm_arena_need((size_t)(TBc * M.cmax) * sizeof(double));
    bytes += slm_arena_need((size_t)TBc * sizeof(int64_t)) + slm_arena_need((size_t)TBc * sizeof(double));
    bytes += slm_arena_need((size_t)T * sizeof(int32_t));
    if ((uint64_t)ptrn > ((uint64_t)1 << 46))
        return slm_error(SLM_ERR_NOMEM, fn, "%lld frames x %lld states of back-pointers is too much",
                         (long long)T, (long long)S);
    bytes += slm_arena_need((size_t)ptrn * sizeof(uint16_t));
    slm_arena ar;
    SLM_TRY(slm_arena_init(&ar, bytes, fn));
    char *tbase = slm_arena_take(&ar, per_thread * (size_t)nt);
    M.thr = slm_arena_take(&ar, (size_t)(M.nthr + 1) * sizeof(double));
    M.beta = slm_arena_take(&ar, (size_t)(M.nthr + 1) * sizeof(double));
    M.cumbeta = slm_arena_take(&ar, (size_t)(M.nthr + 1) * sizeof(double));
    M.LT = slm_arena_take(&ar, (size_t)(2 * E * n) * sizeof(double));
    double *row = slm_arena_take(&ar, (size_t)n * sizeof(double));
    double *em = slm_arena_take(&ar, (size_t)n * sizeof(double));
    double *Vb[2][2];
    for (int a = 0; a < 2; a++)
        for (int q = 0; q < 2; q++) Vb[a][q] = (double *)slm_arena_take(&ar, (size_t)(n + 2 * P) * sizeof(double)) + P;
    int32_t *cbins = slm_arena_take(&ar, (size_t)(TBc * M.cmax) * sizeof(int32_t));
    double *clogp = slm_arena_take(&ar, (size_t)(TBc * M.cmax) * sizeof(double));
    int64_t *ccount = slm_arena_take(&ar, (size_t)TBc * sizeof(int64_t));
    double *clu = slm_arena_take(&ar, (size_t)TBc * sizeof(double));
    int32_t *state = slm_arena_take(&ar, (size_t)T * sizeof(int32_t));
    uint16_t *ptr = slm_arena_take(&ar, (size_t)ptrn * sizeof(uint16_t));

    /* ---- priors: thresholds = np.linspace(0, 1, nthr + 1), beta = diff(beta.cdf) ---- */
    const double step = 1.0 / (double)M.nthr;
    for (int64_t j = 0; j <= M.nthr; j++) M.thr[j] = (double)j * step;
    M.thr[M.nthr] = 1.0;
    double prev = beta_cdf(M.thr[0], p->beta_a, p->beta_b);
    for (int64_t j = 0; j < M.nthr; j++) {
        const double cur = beta_cdf(M.thr[j + 1], p->beta_a, p->beta_b);
        M.beta[j] = cur - prev;
        prev = cur;
    }
    for (int64_t k = 0; k <= M.nthr; k++) M.cumbeta[k] = slm_f0_pairwise_sum(M.beta, k);

    /* ---- the band table ---- */
    const double stay = 1.0 - p->switch_prob, sw = 1.0 - stay; /* transition_loop(2, 1 - p) */
    for (int64_t r = 0; r < E; r++) {
        const int64_t e = elo + r;
        for (int64_t j = 0; j < n; j++) {
            const double v = (j - e >= 0 && j - e < n) ? L0_ : -INFINITY;
            M.LT[r * n + j] = v;
            M.LT[(E + r) * n + j] = v;
        }
    }
    for (int64_t i = 0; i < n; i++) band_row(M.LT, row, i, n, w, elo, E, stay, sw);
    M.band.LT = M.LT;
    M.band.n = n;
    M.band.E = E;
    M.band.elo = elo;
    M.band.P = P;
    for (int a = 0; a < 2; a++)
        for (int q = 0; q < 2; q++) {
            for (int64_t k = 1; k <= P; k++) Vb[a][q][-k] = Vb[a][q][n - 1 + k] = 0.0;
        }
    const double lpi = log(1.0 / (double)S + DBL_MIN);
    const int64_t nchunk = (n + CJ - 1) / CJ;
    /* steps in parallel only when one step is worth a barrier (~0.25 ms of work) */
    const int vit_par = nt > 1 && 2 * S * E >= ((int64_t)1 << 20);

    int stop = 0;
    int64_t gbest = 0; /* global argmax of the previous step (set in single) */
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        char *tb = tbase + per_thread * (size_t)tid;
        frame_scratch fs;
        fs.x = (float *)tb;
        fs.d = (double *)(tb + fx);
        fs.cm = (double *)(tb + fx + fd);
        fs.prob = (double *)(tb + fx + fd + fk8);
        fs.tr = (int64_t *)(tb + fx + fd + 2 * fk8);
        double *best = (double *)(tb + fx + fd + 3 * fk8);
        double *src = best + CJ;
        for (int64_t b = 0; b < B; b++) {
            const float *yb = y + b * L;
            for (int64_t t0 = 0; t0 < T; t0 += TB) {
                const int64_t tbn = T - t0 < TB ? T - t0 : TB;
#pragma omp for schedule(dynamic, 1)
                for (int64_t tt = 0; tt < tbn; tt++) {
                    if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) continue;
                    if (slm_interrupted()) {
                        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
                        continue;
                    }
                    double vp;
                    ccount[tt] = pyin_frame(cbins + tt * M.cmax, clogp + tt * M.cmax, &vp, &clu[tt], yb, L,
                                            t0 + tt, &g, p, &M, &fs);
                    if (voiced_prob) voiced_prob[b * T + t0 + tt] = (float)vp;
                }
                if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) break;
                if (vit_par) {
                    for (int64_t tt = 0; tt < tbn; tt++) {
                        const int64_t t = t0 + tt;
                        double *const *Vp = Vb[(t + 1) & 1], *const *Vc = Vb[t & 1];
#pragma omp single
                        {
                            gbest = vit_setup(em, cbins + tt * M.cmax, clogp + tt * M.cmax, ccount[tt], n, t, Vp,
                                              Vc, clu[tt], lpi);
                            if (slm_interrupted()) __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
                        }
                        if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) break;
                        if (t == 0) continue;
#pragma omp for schedule(static)
                        for (int64_t item = 0; item < 2 * nchunk; item++)
                            vit_items(item, item + 1, nchunk, &g, &M, Vp, Vc, em, clu[tt], gbest, ptr + t * S,
                                      best, src);
                    }
                } else {
                    /* small steps: one thread runs the block's steps (a barrier per step
                     * would cost more than the step) */
#pragma omp single
                    for (int64_t tt = 0; tt < tbn; tt++) {
                        const int64_t t = t0 + tt;
                        double *const *Vp = Vb[(t + 1) & 1], *const *Vc = Vb[t & 1];
                        const int64_t gb = vit_setup(em, cbins + tt * M.cmax, clogp + tt * M.cmax, ccount[tt], n, t,
                                                     Vp, Vc, clu[tt], lpi);
                        if (t > 0) vit_items(0, 2 * nchunk, nchunk, &g, &M, Vp, Vc, em, clu[tt], gb, ptr + t * S, best, src);
                        if (slm_interrupted()) {
                            __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
                            break;
                        }
                    }
                }
                if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) break;
            }
            if (__atomic_load_n(&stop, __ATOMIC_RELAXED)) break;
#pragma omp single
            {
                double **Vl = Vb[(T - 1) & 1];
                int64_t sb = 0;
                double sv = Vl[0][0];
                for (int q = 0; q < 2; q++)
                    for (int64_t j = 0; j < n; j++)
                        if (Vl[q][j] > sv) {
                            sv = Vl[q][j];
                            sb = q * n + j;
                        }
                state[T - 1] = (int32_t)sb;
                for (int64_t t = T - 2; t >= 0; t--) state[t] = ptr[(t + 1) * S + state[t + 1]];
                const double per_bin = (double)(12 * nbps);
                for (int64_t t = 0; t < T; t++) {
                    const int64_t st = state[t], bin = st % n;
                    const int v = st < n;
                    const double fr = p->fmin * pow(2.0, (double)bin / per_bin);
                    f0[b * T + t] = (v || !p->fill_unvoiced) ? (float)fr : p->fill_value;
                    if (voiced) voiced[b * T + t] = (uint8_t)v;
                }
            }
        }
    }
    slm_arena_release(&ar);
    if (stop) return SLM_INTERRUPTED_ERROR(fn);
    return SLM_OK;
}
