/* glue.c: argument conversion, status -> exception, and the Ctrl-C hook.
 *
 * Ctrl-C: kernels run with the GIL released, so Python's own handler cannot stop them.
 * slm installs a SIGINT handler in front of Python's: it raises slm's interrupt flag
 * (kernels poll it at block boundaries and return SLM_ERR_INTERRUPTED) and then calls
 * the handler it replaced, so Python still sees the signal and raises
 * KeyboardInterrupt when the glue hands control back. If something (IPython, a user's
 * signal.signal) replaces the handler later, the next call puts the hook back in front.
 */
#include "glue.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/runtime.h"

PyObject *slm_py_BackendError = NULL;

PyObject *slm_py_raise(slm_status st) {
    if (PyErr_Occurred()) return NULL;
    const char *msg = slm_last_error();
    if (!msg || !*msg) msg = slm_status_name(st);
    switch (st) {
    case SLM_OK: PyErr_SetString(PyExc_SystemError, "slm: raise called with SLM_OK"); break;
    case SLM_ERR_VALUE: PyErr_SetString(PyExc_ValueError, msg); break;
    case SLM_ERR_TYPE: PyErr_SetString(PyExc_TypeError, msg); break;
    case SLM_ERR_NOMEM: PyErr_SetString(PyExc_MemoryError, msg); break;
    case SLM_ERR_IO: PyErr_SetString(PyExc_OSError, msg); break;
    case SLM_ERR_BACKEND: PyErr_SetString(slm_py_BackendError, msg); break;
    case SLM_ERR_INTERRUPTED:
        slm_clear_interrupt();
        if (PyErr_CheckSignals() == 0 && !PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
        break;
    default: PyErr_SetString(PyExc_RuntimeError, msg); break;
    }
    slm_clear_error();
    return NULL;
}

int slm_py_raise_int(slm_status st) {
    slm_py_raise(st);
    return -1;
}

/* ---- arrays ---- */
static int check_ndim(PyArrayObject *a, const char *fn, const char *arg, int lo, int hi) {
    int nd = PyArray_NDIM(a);
    if (nd < lo || nd > hi) {
        if (lo == hi)
            PyErr_Format(PyExc_ValueError, "%s: %s must be %d-D, got %d-D with shape %s", fn, arg,
                         lo, nd, slm_py_shape_str(a));
        else
            PyErr_Format(PyExc_ValueError, "%s: %s must have %d to %d dimensions, got %d-D with shape %s",
                         fn, arg, lo, hi, nd, slm_py_shape_str(a));
        return -1;
    }
    return 0;
}

static PyArrayObject *as_array(PyObject *obj, const char *fn, const char *arg) {
    if (obj == NULL || obj == Py_None) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be an array, got None", fn, arg);
        return NULL;
    }
    PyObject *a = PyArray_FROM_O(obj);
    if (a == NULL) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) return NULL;
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: %s must be array-like, got %.100s", fn, arg,
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return (PyArrayObject *)a;
}

PyArrayObject *slm_py_float_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                  int max_ndim) {
    PyArrayObject *a = as_array(obj, fn, arg);
    if (!a) return NULL;
    int t = PyArray_TYPE(a);
    if (t != NPY_FLOAT32 && t != NPY_FLOAT64 && t != NPY_FLOAT16) {
        PyArray_Descr *d = PyArray_DESCR(a);
        PyErr_Format(PyExc_TypeError, "%s: %s must be a floating-point array (float32, or float16/float64 "
                     "cast to float32), got dtype %c%d", fn, arg, d->kind, (int)PyDataType_ELSIZE(d));
        Py_DECREF(a);
        return NULL;
    }
    if (check_ndim(a, fn, arg, min_ndim, max_ndim) < 0) {
        Py_DECREF(a);
        return NULL;
    }
    PyArrayObject *c = (PyArrayObject *)PyArray_FROM_OTF((PyObject *)a, NPY_FLOAT32,
                                                         NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED |
                                                             NPY_ARRAY_FORCECAST);
    Py_DECREF(a);
    return c;
}

int slm_py_optional_float_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                int max_ndim, PyArrayObject **out) {
    *out = NULL;
    if (obj == NULL || obj == Py_None) return 0;
    *out = slm_py_float_array(obj, fn, arg, min_ndim, max_ndim);
    return *out ? 0 : -1;
}

PyArrayObject *slm_py_index_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                  int max_ndim) {
    PyArrayObject *a = as_array(obj, fn, arg);
    if (!a) return NULL;
    if (!PyArray_ISINTEGER(a)) {
        PyArray_Descr *d = PyArray_DESCR(a);
        PyErr_Format(PyExc_TypeError, "%s: %s must be an integer array, got dtype %c%d", fn, arg,
                     d->kind, (int)PyDataType_ELSIZE(d));
        Py_DECREF(a);
        return NULL;
    }
    if (check_ndim(a, fn, arg, min_ndim, max_ndim) < 0) {
        Py_DECREF(a);
        return NULL;
    }
    /* uint64 values above int64 max would wrap: cast safely and report */
    PyArrayObject *c = (PyArrayObject *)PyArray_FROM_OTF((PyObject *)a, NPY_INT64,
                                                         NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED |
                                                             NPY_ARRAY_FORCECAST);
    if (c && PyArray_TYPE(a) == NPY_UINT64) {
        const int64_t *p = (const int64_t *)PyArray_DATA(c);
        npy_intp n = PyArray_SIZE(c);
        for (npy_intp i = 0; i < n; i++)
            if (p[i] < 0) {
                PyErr_Format(PyExc_ValueError, "%s: %s has a value above 2^63-1 at flat position %zd", fn,
                             arg, (Py_ssize_t)i);
                Py_DECREF(c);
                c = NULL;
                break;
            }
    }
    Py_DECREF(a);
    return c;
}

PyArrayObject *slm_py_u16_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                int max_ndim) {
    PyArrayObject *a = as_array(obj, fn, arg);
    if (!a) return NULL;
    if (PyArray_TYPE(a) != NPY_UINT16) {
        PyArray_Descr *d = PyArray_DESCR(a);
        PyErr_Format(PyExc_TypeError, "%s: %s must hold bf16 bit patterns as uint16, got dtype %c%d", fn,
                     arg, d->kind, (int)PyDataType_ELSIZE(d));
        Py_DECREF(a);
        return NULL;
    }
    if (check_ndim(a, fn, arg, min_ndim, max_ndim) < 0) {
        Py_DECREF(a);
        return NULL;
    }
    PyArrayObject *c = (PyArrayObject *)PyArray_FROM_OTF((PyObject *)a, NPY_UINT16,
                                                         NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED);
    Py_DECREF(a);
    return c;
}

PyArrayObject *slm_py_new_f32(int ndim, const int64_t *shape, const char *fn) {
    npy_intp dims[NPY_MAXDIMS];
    int64_t total = 1;
    if (ndim > NPY_MAXDIMS) {
        PyErr_Format(PyExc_ValueError, "%s: too many dimensions (%d)", fn, ndim);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            PyErr_Format(PyExc_ValueError, "%s: output dimension %d is negative (%lld)", fn, i,
                         (long long)shape[i]);
            return NULL;
        }
        if (!slm_mul_ok(total, shape[i], &total) || total > (INT64_MAX / 8)) {
            PyErr_Format(PyExc_MemoryError, "%s: output of %d dimensions overflows (dimension %d = %lld)",
                         fn, ndim, i, (long long)shape[i]);
            return NULL;
        }
        dims[i] = (npy_intp)shape[i];
    }
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(ndim, dims, NPY_FLOAT32);
    if (!out && PyErr_ExceptionMatches(PyExc_MemoryError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_MemoryError, "%s: cannot allocate an output of %lld float32 values", fn,
                     (long long)total);
    }
    return out;
}

const char *slm_py_shape_str(PyArrayObject *a) {
    static _Thread_local char buf[160];
    int n = 0, nd = PyArray_NDIM(a);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "(");
    for (int i = 0; i < nd && n < (int)sizeof buf - 24; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, i ? ", %lld" : "%lld", (long long)PyArray_DIM(a, i));
    if (nd == 1) n += snprintf(buf + n, sizeof buf - (size_t)n, ",");
    snprintf(buf + n, sizeof buf - (size_t)n, ")");
    return buf;
}

/* ---- Ctrl-C ---- */
static struct sigaction prev_sigint_;

static void slm_sigint_hook(int sig) {
    slm_request_interrupt();
    /* then whatever was installed before us (Python's handler, normally) */
    if (prev_sigint_.sa_flags & SA_SIGINFO) {
        if (prev_sigint_.sa_sigaction) prev_sigint_.sa_sigaction(sig, NULL, NULL);
    } else if (prev_sigint_.sa_handler != SIG_DFL && prev_sigint_.sa_handler != SIG_IGN &&
               prev_sigint_.sa_handler != NULL) {
        prev_sigint_.sa_handler(sig);
    }
}

unsigned long slm_py_main_thread_ = 0;

void slm_py_call_begin(void) {
    /* Python runs signal handlers in the main thread only; only it (re)installs the
     * hook and re-arms the flag */
    if (PyThread_get_thread_ident() != slm_py_main_thread_) return;
    struct sigaction cur;
    if (sigaction(SIGINT, NULL, &cur) != 0) return;
    int is_ours = !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == slm_sigint_hook;
    if (!is_ours) {
        /* SIG_IGN / SIG_DFL: the user asked for no Python handling; leave it alone */
        if (!(cur.sa_flags & SA_SIGINFO) && (cur.sa_handler == SIG_IGN || cur.sa_handler == SIG_DFL))
            return;
        struct sigaction hook = cur;
        hook.sa_flags &= ~SA_SIGINFO;
        hook.sa_handler = slm_sigint_hook;
        prev_sigint_ = cur;
        if (sigaction(SIGINT, &hook, NULL) != 0) return;
    }
    slm_clear_interrupt();
}
