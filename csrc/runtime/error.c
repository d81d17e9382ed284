/* error.c: status codes with a thread-local message, and checked size products.
 *
 * Every public entry point reports failure by returning a status and leaving a message
 * here that names the function and the bad value; the Python glue turns both into an
 * exception. Messages are per thread so concurrent callers never see each other's.
 */
#include <stdio.h>
#include <string.h>

#include "runtime.h"

static _Thread_local char slm_errmsg_[512];
static _Thread_local slm_status slm_errcode_ = SLM_OK;

slm_status slm_error(slm_status code, const char *fn, const char *fmt, ...) {
    int n = snprintf(slm_errmsg_, sizeof slm_errmsg_, "%s: ", fn ? fn : "slm");
    if (n < 0) n = 0;
    if ((size_t)n < sizeof slm_errmsg_) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(slm_errmsg_ + n, sizeof slm_errmsg_ - (size_t)n, fmt, ap);
        va_end(ap);
    }
    slm_errcode_ = code;
    return code;
}

const char *slm_last_error(void) { return slm_errmsg_; }
slm_status slm_last_status(void) { return slm_errcode_; }

void slm_clear_error(void) {
    slm_errmsg_[0] = '\0';
    slm_errcode_ = SLM_OK;
}

const char *slm_status_name(slm_status s) {
    switch (s) {
    case SLM_OK: return "SLM_OK";
    case SLM_ERR_VALUE: return "SLM_ERR_VALUE";
    case SLM_ERR_TYPE: return "SLM_ERR_TYPE";
    case SLM_ERR_NOMEM: return "SLM_ERR_NOMEM";
    case SLM_ERR_IO: return "SLM_ERR_IO";
    case SLM_ERR_BACKEND: return "SLM_ERR_BACKEND";
    case SLM_ERR_INTERRUPTED: return "SLM_ERR_INTERRUPTED";
    case SLM_ERR_INTERNAL: return "SLM_ERR_INTERNAL";
    }
    return "SLM_ERR_UNKNOWN";
}

int slm_version(void) { return SLM_VERSION; }

slm_status slm_numel(const char *fn, int64_t *out, int n, ...) {
    va_list ap;
    va_start(ap, n);
    int64_t acc = 1;
    for (int i = 0; i < n; i++) {
        int64_t v = va_arg(ap, int64_t);
        if (v < 0) {
            va_end(ap);
            return slm_error(SLM_ERR_VALUE, fn, "negative size %lld", (long long)v);
        }
        if (!slm_mul_ok(acc, v, &acc)) {
            va_end(ap);
            return slm_error(SLM_ERR_NOMEM, fn, "size overflows int64 (factor %lld)", (long long)v);
        }
    }
    va_end(ap);
    *out = acc;
    return SLM_OK;
}
