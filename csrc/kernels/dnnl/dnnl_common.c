/* dnnl_common.c: oneDNN engine and version, or their absence in a build without it. */
#include <pthread.h>
#include <stdio.h>

#include "dnnl_common.h"

#ifdef SLM_HAVE_DNNL
static dnnl_engine_t engine_ = NULL;
static dnnl_status_t engine_status_ = dnnl_success;
static pthread_once_t engine_once_ = PTHREAD_ONCE_INIT;

static void make_engine(void) { engine_status_ = dnnl_engine_create(&engine_, dnnl_cpu, 0); }

dnnl_engine_t slm_dnnl_engine(const char *fn) {
    pthread_once(&engine_once_, make_engine);
    if (engine_status_ != dnnl_success || engine_ == NULL) {
        slm_dnnl_check(engine_status_ == dnnl_success ? dnnl_runtime_error : engine_status_, fn,
                       "creating the CPU engine");
        return NULL;
    }
    return engine_;
}

slm_status slm_dnnl_check(dnnl_status_t st, const char *fn, const char *what) {
    if (st == dnnl_success) return SLM_OK;
    if (st == dnnl_out_of_memory)
        return slm_error(SLM_ERR_NOMEM, fn, "oneDNN ran out of memory (%s)", what);
    if (st == dnnl_invalid_arguments)
        return slm_error(SLM_ERR_VALUE, fn, "oneDNN rejected the arguments (%s)", what);
    return slm_error(SLM_ERR_BACKEND, fn, "oneDNN failed with status %d (%s)", (int)st, what);
}

int slm_have_dnnl(void) { return 1; }

const char *slm_dnnl_version(void) {
    static char buf[64];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d (%s)", v->major, v->minor, v->patch,
             v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other threading");
    return buf;
}
#else
int slm_have_dnnl(void) { return 0; }
const char *slm_dnnl_version(void) { return ""; }
#endif
