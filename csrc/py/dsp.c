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

/* _window(kind, L, periodic, beta) -> (L,) float32 */
static PyObject *py_window(PyObject *self, PyObject *args) {
    static const char fn[] = "window";
    int kind, periodic;
    long long L;
    double beta;
    if (!PyArg_ParseTuple(args, "iLpd:_window", &kind, &L, &periodic, &beta)) return NULL;
    if (L < 0) return PyErr_Format(PyExc_ValueError, "%s: length must be >= 0, got %lld", fn, L);
    int64_t shape[1] = {L};
    PyArrayObject *out = slm_py_new_f32(1, shape, fn);
    if (!out) return NULL;
    slm_status st = slm_window_f32((float *)PyArray_DATA(out), L, (slm_window_kind)kind, periodic, beta);
    if (st) {
        Py_DECREF(out);
        return slm_py_raise(st);
    }
    return (PyObject *)out;
}

/* window argument: None or a 1-D float array of win_length values */
static int get_window(PyObject *wo, const char *fn, int64_t win_length, PyArrayObject **w) {
    if (slm_py_optional_float_array(wo, fn, "window", 1, 1, w)) return -1;
    if (*w && PyArray_DIM(*w, 0) != win_length) {
        PyErr_Format(PyExc_ValueError, "%s: window has %lld values but win_length is %lld", fn,
                     (long long)PyArray_DIM(*w, 0), (long long)win_length);
        Py_CLEAR(*w);
        return -1;
    }
    return 0;
}

/* _stft(x (B, L), n_fft, hop, window, win_length, center, pad, normalized, onesided, mode)
 * -> (B, F, T) complex64 (mode 0) or float32 (power 1, magnitude 2) */
static PyObject *py_stft(PyObject *self, PyObject *args) {
    static const char fn[] = "stft";
    PyObject *xo, *wo;
    long long n_fft, hop, win_length;
    int center, pad, normalized, onesided, mode;
    PyArrayObject *x = NULL, *w = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OLLOLpipii:_stft", &xo, &n_fft, &hop, &wo, &win_length, &center, &pad,
                          &normalized, &onesided, &mode))
        return NULL;
    x = slm_py_float_array(xo, fn, "x", 2, 2);
    if (!x) goto fail;
    if (get_window(wo, fn, win_length, &w)) goto fail;
    int64_t B = PyArray_DIM(x, 0), L = PyArray_DIM(x, 1), T = 0;
    slm_status st = slm_stft_frames(&T, L, n_fft, hop, center);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    int64_t shape[3] = {B, onesided ? n_fft / 2 + 1 : n_fft, T};
    out = mode == 0 ? new_c64(3, shape, fn) : slm_py_new_f32(3, shape, fn);
    if (!out) goto fail;
    SLM_PY_COMPUTE(st, slm_stft_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), B, L, n_fft, hop,
                                    w ? (const float *)PyArray_DATA(w) : NULL, win_length, center,
                                    (slm_pad_mode)pad, normalized, onesided, (slm_spec_mode)mode));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(w);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(out);
    return NULL;
}

/* _istft(X (B, F, T) complex64, n_fft, hop, window, win_length, center, normalized, length)
 * -> (B, Lout) float32 */
static PyObject *py_istft(PyObject *self, PyObject *args) {
    static const char fn[] = "istft";
    PyObject *xo, *wo;
    long long n_fft, hop, win_length, length;
    int center, normalized;
    PyArrayObject *x = NULL, *w = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OLLOLppL:_istft", &xo, &n_fft, &hop, &wo, &win_length, &center, &normalized,
                          &length))
        return NULL;
    x = complex_array(xo, fn, "stft_matrix", 3);
    if (!x) goto fail;
    if (get_window(wo, fn, win_length, &w)) goto fail;
    int64_t B = PyArray_DIM(x, 0), F = PyArray_DIM(x, 1), T = PyArray_DIM(x, 2), Lout = 0;
    if (n_fft < 1 || F != n_fft / 2 + 1) {
        PyErr_Format(PyExc_ValueError, "%s: n_fft = %lld needs %lld onesided frequency bins, got shape %s", fn,
                     n_fft, n_fft / 2 + 1, slm_py_shape_str(x));
        goto fail;
    }
    slm_status st = slm_istft_length(&Lout, T, n_fft, hop, center, length);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    int64_t shape[2] = {B, Lout};
    out = slm_py_new_f32(2, shape, fn);
    if (!out) goto fail;
    SLM_PY_COMPUTE(st, slm_istft_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), B, T, n_fft, hop,
                                     w ? (const float *)PyArray_DATA(w) : NULL, win_length, center, normalized,
                                     length));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_XDECREF(w);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(out);
    return NULL;
}

/* _griffin_lim(S (B, F, T), init (B, F, T) complex64 or None, n_fft, hop, window,
 * win_length, power, n_iter, momentum, length, rand_init, seed) -> (B, Lout) */
static PyObject *py_griffin_lim(PyObject *self, PyObject *args) {
    static const char fn[] = "griffin_lim";
    PyObject *so, *io, *wo;
    long long n_fft, hop, win_length, n_iter, length;
    unsigned long long seed;
    double power, momentum;
    int rand_init;
    PyArrayObject *s = NULL, *init = NULL, *w = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OOLLOLdLdLpK:_griffin_lim", &so, &io, &n_fft, &hop, &wo, &win_length, &power,
                          &n_iter, &momentum, &length, &rand_init, &seed))
        return NULL;
    s = slm_py_float_array(so, fn, "specgram", 3, 3);
    if (!s) goto fail;
    if (io != Py_None) {
        init = complex_array(io, fn, "init_phase", 3);
        if (!init) goto fail;
        if (!PyArray_SAMESHAPE(init, s)) {
            PyErr_Format(PyExc_ValueError, "%s: init_phase shape %s differs from specgram's", fn, slm_py_shape_str(init));
            goto fail;
        }
    }
    if (get_window(wo, fn, win_length, &w)) goto fail;
    int64_t B = PyArray_DIM(s, 0), F = PyArray_DIM(s, 1), T = PyArray_DIM(s, 2), Lout = 0;
    if (n_fft < 1 || F != n_fft / 2 + 1) {
        PyErr_Format(PyExc_ValueError, "%s: n_fft = %lld needs %lld frequency bins, got specgram shape %s", fn,
                     n_fft, n_fft / 2 + 1, slm_py_shape_str(s));
        goto fail;
    }
    slm_status st = slm_istft_length(&Lout, T, n_fft, hop, 1, length);
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    int64_t shape[2] = {B, Lout};
    out = slm_py_new_f32(2, shape, fn);
    if (!out) goto fail;
    SLM_PY_COMPUTE(st, slm_griffin_lim_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(s),
                                           init ? (const float *)PyArray_DATA(init) : NULL, B, T, n_fft, hop,
                                           w ? (const float *)PyArray_DATA(w) : NULL, win_length, power, n_iter,
                                           momentum, length, rand_init, (uint64_t)seed));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(s);
    Py_XDECREF(init);
    Py_XDECREF(w);
    return (PyObject *)out;
fail:
    Py_XDECREF(s);
    Py_XDECREF(init);
    Py_XDECREF(w);
    Py_XDECREF(out);
    return NULL;
}

PyMethodDef slm_py_dsp_methods[] = {
    {"_rfft", py_rfft, METH_VARARGS, "_rfft(x): real FFT of the last axis (float32 -> complex64)"},
    {"_irfft", py_irfft, METH_VARARGS, "_irfft(X, n): inverse real FFT of the last axis"},
    {"_fft", py_fft, METH_VARARGS, "_fft(x, inverse): complex FFT of the last axis (complex64)"},
    {"_window", py_window, METH_VARARGS, "_window(kind, L, periodic, beta): analysis window"},
    {"_stft", py_stft, METH_VARARGS, "_stft(x, n_fft, hop, window, win_length, center, pad, normalized, onesided, mode)"},
    {"_istft", py_istft, METH_VARARGS, "_istft(X, n_fft, hop, window, win_length, center, normalized, length)"},
    {"_griffin_lim", py_griffin_lim, METH_VARARGS,
     "_griffin_lim(S, init, n_fft, hop, window, win_length, power, n_iter, momentum, length, rand_init, seed)"},
    {NULL, NULL, 0, NULL}};
