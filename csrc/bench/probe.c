/* bench/probe.c: run the machine probes on n threads with the widest available path
 * (used by `python -m slm.bench` to report shares of peak). */
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../runtime/runtime.h"

float slm_probe_fma_avx2(int64_t iters);
float slm_probe_fma_avx512(int64_t iters);
float slm_probe_read_avx2(const float *x, int64_t n);
float slm_probe_read_avx512(const float *x, int64_t n);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int width(void) {
#ifdef SLM_BUILD_AVX512
    if (slm_path_available(SLM_PATH_AVX512)) return 16;
#endif
#ifdef SLM_BUILD_AVX2
    if (slm_path_available(SLM_PATH_AVX2)) return 8;
#endif
    return 0;
}

/* fp32 flop/s of FMA chains on `threads` threads, best of `reps` */
slm_status slm_probe_peak_flops(int threads, int reps, double *out, int *vector_width) {
    int w = width();
    *vector_width = w;
    *out = 0.0;
    if (w == 0) return slm_error(SLM_ERR_BACKEND, "probe_peak_flops", "no SIMD path on this machine/build");
    const int64_t iters = 20000000;
    double best = 0.0;
    volatile float sink = 0.0f;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
#pragma omp parallel num_threads(threads)
        {
            float v = 0.0f;
#ifdef SLM_BUILD_AVX512
            if (w == 16) v = slm_probe_fma_avx512(iters);
#endif
#ifdef SLM_BUILD_AVX2
            if (w == 8) v = slm_probe_fma_avx2(iters);
#endif
#pragma omp atomic
            sink += v;
        }
        double dt = now() - t0;
        double f = 2.0 * w * 12.0 * (double)iters * threads / dt;
        if (f > best) best = f;
    }
    (void)sink;
    *out = best;
    return SLM_OK;
}

/* read bytes/s over a buffer of `bytes` on `threads` threads, best of `reps` */
slm_status slm_probe_read_bandwidth(int threads, int64_t bytes, int reps, double *out) {
    *out = 0.0;
    int w = width();
    int64_t n = bytes / 4;
    float *x = (float *)slm_alloc((size_t)n * 4);
    if (!x) return SLM_ERR_NOMEM;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] = 1e-3f * (float)(i & 1023);
    double best = 0.0;
    volatile float sink = 0.0f;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
#pragma omp parallel num_threads(threads)
        {
            int nt = 1, id = 0;
#ifdef _OPENMP
            nt = omp_get_num_threads();
            id = omp_get_thread_num();
#endif
            int64_t chunk = (n + nt - 1) / nt, lo = id * chunk, hi = lo + chunk > n ? n : lo + chunk;
            float v = 0.0f;
            if (lo < hi) {
#ifdef SLM_BUILD_AVX512
                if (w == 16) v = slm_probe_read_avx512(x + lo, hi - lo);
#endif
#ifdef SLM_BUILD_AVX2
                if (w == 8) v = slm_probe_read_avx2(x + lo, hi - lo);
#endif
                if (w == 0)
                    for (int64_t i = lo; i < hi; i++) v += x[i];
            }
#pragma omp atomic
            sink += v;
        }
        double dt = now() - t0;
        double bw = (double)n * 4.0 / dt;
        if (bw > best) best = bw;
    }
    (void)sink;
    slm_free(x);
    *out = best;
    return SLM_OK;
}
