/* threads.c: the one thread setting and interruption.
 *
 * slm's kernels use OpenMP with an explicit num_threads(slm_threads()); oneDNN (built
 * for the OpenMP runtime) reads the calling thread's OpenMP setting, which
 * slm_threads_sync_omp() sets before each oneDNN call. So one number governs both.
 */
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <unistd.h>

#include "runtime.h"

static int slm_nthreads_ = 0; /* 0: not yet initialised */
volatile int slm_interrupt_flag_ = 0;

static int default_threads(void) {
    const char *env = getenv("SLM_NUM_THREADS");
    if (env && *env) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end && *end == '\0' && v >= 1 && v <= 4096) return (int)v;
    }
#ifdef _OPENMP
    int n = omp_get_num_procs();
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return n >= 1 ? (int)n : 1;
}

int slm_threads(void) {
    int n = __atomic_load_n(&slm_nthreads_, __ATOMIC_RELAXED);
    if (n == 0) {
        n = default_threads();
        __atomic_store_n(&slm_nthreads_, n, __ATOMIC_RELAXED);
    }
    return n;
}

slm_status slm_set_num_threads(int n) {
    if (n < 1 || n > 4096)
        return slm_error(SLM_ERR_VALUE, "slm_set_num_threads", "n must be in [1, 4096], got %d", n);
    __atomic_store_n(&slm_nthreads_, n, __ATOMIC_RELAXED);
    return SLM_OK;
}

int slm_get_num_threads(void) { return slm_threads(); }

void slm_threads_sync_omp(void) {
#ifdef _OPENMP
    int n = slm_threads();
    if (omp_get_max_threads() != n) omp_set_num_threads(n);
#endif
}

void slm_request_interrupt(void) { __atomic_store_n(&slm_interrupt_flag_, 1, __ATOMIC_RELAXED); }
void slm_clear_interrupt(void) { __atomic_store_n(&slm_interrupt_flag_, 0, __ATOMIC_RELAXED); }
int slm_interrupt_pending(void) { return slm_interrupted(); }
