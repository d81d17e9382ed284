/* dsp.c: glue for FFT, STFT/iSTFT, windows, Griffin-Lim (slm.features._spectral).
 *
 * The Python wrappers pad/crop and convert dtypes (float32, complex64); this glue checks
 * what reaches C (dtype, contiguity, shapes), allocates the outputs, releases the GIL
 * and maps statuses to exceptions.
 */
#include "glue.h"

#include "../runtime/runtime.h"

/* a C-contiguous complex64 ndarray (new reference) or NULL with TypeError/ValueError */
static PyArrayObject *complex_array(PyObject *obj, const char *fn, const char *arg, int min_ndim) {
    if (!PyArray_Check(obj) || PyArray_TYPE((PyArrayObject *)obj) != NPY_COMPLEX64) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be a complex64 array", fn, arg);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_OTF(obj, NPY_COMPLEX64, NPY_ARRAY_IN_ARRAY);
    if (a && PyArray_NDIM(a) < min_ndim) {
        PyErr_Format(PyExc_ValueError, "%s: %s must have at least %d dimension(s), got shape %s", fn, arg,
                     min_ndim, slm_py_shape_str(a));
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

static PyArrayObject *new_c64(int nd, const int64_t *shape, const char *fn) {
    npy_intp dims[NPY_MAXDIMS];
    int64_t tot = 1;
    for (int i = 0; i < nd; i++) {
        dims[i] = (npy_intp)shape[i];
        if (!slm_mul_ok(tot, shape[i], &tot) || tot > ((int64_t)1 << 58)) {
            PyErr_Format(PyExc_MemoryError, "%s: output size overflows", fn);
            return NULL;
        }
    }
    PyArrayObject *a = (PyArrayObject *)PyArray_SimpleNew(nd, dims, NPY_COMPLEX64);
    if (!a && !PyErr_Occurred()) PyErr_Format(PyExc_MemoryError, "%s: cannot allocate the output", fn);
    return a;
}

static int64_t rows_of(PyArrayObject *a) {
    int64_t r = 1;
    for (int i = 0; i < PyArray_NDIM(a) - 1; i++) r *= PyArray_DIM(a, i);
    return r;
}

/* _rfft(x (..., n) float32) -> (..., n/2+1) complex64 */
static PyObject *py_rfft(PyObject *self, PyObject *args) {
    static const char fn[] = "rfft";
    PyObject *xo;
    PyArrayObject *x = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "O:_rfft", &xo)) return NULL;
    x = slm_py_float_array(xo, fn, "x", 1, NPY_MAXDIMS);
    if (!x) goto fail;
    int nd = PyArray_NDIM(x);
    int64_t n = PyArray_DIM(x, nd - 1), shape[NPY_MAXDIMS];
    for (int i = 0; i < nd; i++) shape[i] = PyArray_DIM(x, i);
    shape[nd - 1] = n / 2 + 1;
    if (n < 1) {
        PyErr_Format(PyExc_ValueError, "%s: FFT length must be >= 1, got %lld", fn, (long long)n);
        goto fail;
    }
    out = new_c64(nd, shape, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_rfft_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), rows_of(x), n));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(out);
    return NULL;
}

/* _irfft(X (..., n/2+1) complex64, n) -> (..., n) float32 */
static PyObject *py_irfft(PyObject *self, PyObject *args) {
    static const char fn[] = "irfft";
    PyObject *xo;
    long long n;
    PyArrayObject *x = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OL:_irfft", &xo, &n)) return NULL;
    x = complex_array(xo, fn, "X", 1);
    if (!x) goto fail;
    int nd = PyArray_NDIM(x);
    if (n < 1 || PyArray_DIM(x, nd - 1) != n / 2 + 1) {
        PyErr_Format(PyExc_ValueError, "%s: n = %lld needs %lld bins, got shape %s", fn, n, n / 2 + 1,
                     slm_py_shape_str(x));
        goto fail;
    }
    int64_t shape[NPY_MAXDIMS];
    for (int i = 0; i < nd; i++) shape[i] = PyArray_DIM(x, i);
    shape[nd - 1] = n;
    out = slm_py_new_f32(nd, shape, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_irfft_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), rows_of(x), n));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(out);
    return NULL;
}

/* _fft(X (..., n) complex64, inverse) -> (..., n) complex64 */
static PyObject *py_fft(PyObject *self, PyObject *args) {
    static const char fn[] = "fft";
    PyObject *xo;
    int inverse;
    PyArrayObject *x = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "Op:_fft", &xo, &inverse)) return NULL;
    x = complex_array(xo, inverse ? "ifft" : fn, "x", 1);
    if (!x) goto fail;
    int nd = PyArray_NDIM(x);
    int64_t n = PyArray_DIM(x, nd - 1), shape[NPY_MAXDIMS];
    if (n < 1) {
        PyErr_Format(PyExc_ValueError, "%s: FFT length must be >= 1, got %lld", inverse ? "ifft" : fn, (long long)n);
        goto fail;
    }
    for (int i = 0; i < nd; i++) shape[i] = PyArray_DIM(x, i);
    out = new_c64(nd, shape, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_fft_c64((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), rows_of(x), n, inverse));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(out);
    return NULL;
}

/* @@STFT@@ */

PyMethodDef slm_py_dsp_methods[] = {
    {"_rfft", py_rfft, METH_VARARGS, "_rfft(x): real FFT of the last axis (float32 -> complex64)"},
    {"_irfft", py_irfft, METH_VARARGS, "_irfft(X, n): inverse real FFT of the last axis"},
    {"_fft", py_fft, METH_VARARGS, "_fft(x, inverse): complex FFT of the last axis (complex64)"},
    /* @@STFTM@@ */
    {NULL, NULL, 0, NULL}};
