/* dnnl_common.h: the oneDNN engine, stream and status handling shared by the
 * oneDNN-backed kernels (GEMM, convolutions). Only files under csrc/kernels/dnnl/
 * include oneDNN; when the build has no oneDNN these declarations still exist and
 * every dnnl kernel returns SLM_ERR_BACKEND. */
#ifndef SLM_DNNL_COMMON_H
#define SLM_DNNL_COMMON_H

#include "../../runtime/runtime.h"

#ifdef SLM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>

/* the process-wide CPU engine (created once, thread-safe); NULL + error on failure */
dnnl_engine_t slm_dnnl_engine(const char *fn);
/* turn a oneDNN status into an slm status with a message naming fn and what */
slm_status slm_dnnl_check(dnnl_status_t st, const char *fn, const char *what);
#endif

#endif
