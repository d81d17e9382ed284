/* f0.c: glue for F0 (pitch) estimation (slm.features.yin / pyin / f0).
 *
 * y is (..., L) float32; every leading index is one channel. The parameters are checked
 * by slm_f0_n_frames (with the GIL, before any output is allocated), the outputs are
 * allocated as (..., T), then the C entry runs without the GIL.
 */
#include <string.h>

#include "glue.h"

#include "../runtime/runtime.h"

static int parse_pad(const char *fn, const char *s, slm_f0_pad *out) {
    static const char *names[] = {"constant", "edge", "reflect", "symmetric", "wrap"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (slm_f0_pad)i;
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "%s: unknown pad_mode '%s'; choose from 'constant', 'edge', 'reflect', 'symmetric', "
                 "'wrap'",
                 fn, s);
    return -1;
}

/* y -> array, B channels, L samples, output shape (..., T) in shape / *nd */
static PyArrayObject *prepare(PyObject *y_o, const char *fn, const slm_f0_params *p, int64_t *B, int64_t *L,
                              int64_t *T, int64_t *shape, int *nd) {
    PyArrayObject *y = slm_py_float_array(y_o, fn, "y", 1, NPY_MAXDIMS - 1);
    if (!y) return NULL;
    const int d = PyArray_NDIM(y);
    int64_t b = 1;
    for (int i = 0; i < d - 1; i++) {
        shape[i] = PyArray_DIM(y, i);
        b *= shape[i]; /* the array exists, so the product fits */
    }
    *B = b;
    *L = PyArray_DIM(y, d - 1);
    slm_status st = slm_f0_n_frames(T, *L, p);
    if (st) {
        Py_DECREF(y);
        slm_py_raise(st);
        return NULL;
    }
    shape[d - 1] = *T;
    *nd = d;
    return y;
}

static PyArrayObject *new_bool(int nd, const int64_t *shape) {
    npy_intp dims[NPY_MAXDIMS];
    for (int i = 0; i < nd; i++) dims[i] = (npy_intp)shape[i];
    return (PyArrayObject *)PyArray_SimpleNew(nd, dims, NPY_BOOL);
}

/* yin(y, fmin, fmax, sr, frame_length, hop_length, trough_threshold, center, pad_mode,
 *     cmnd=False) -> (f0, voiced) or the normalised difference (..., T, K) */
static PyObject *py_yin(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"y", "fmin", "fmax", "sr", "frame_length", "hop_length", "trough_threshold",
                         "center", "pad_mode", "cmnd", NULL};
    static const char fn[] = "yin";
    PyObject *y_o;
    const char *pad = "constant";
    int center = 1, want_cmnd = 0;
    long long N = 2048, hop = 0;
    slm_f0_params p = slm_f0_default_params();
    PyArrayObject *y = NULL, *f0 = NULL, *v = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Oddd|LLdpsp:yin", kw, &y_o, &p.fmin, &p.fmax, &p.sr, &N,
                                     &hop, &p.trough_threshold, &center, &pad, &want_cmnd))
        return NULL;
    p.frame_length = N;
    p.hop_length = hop;
    p.center = center;
    if (parse_pad(fn, pad, &p.pad_mode)) return NULL;
    int64_t B, L, T, shape[NPY_MAXDIMS + 1];
    int nd;
    y = prepare(y_o, fn, &p, &B, &L, &T, shape, &nd);
    if (!y) return NULL;
    slm_status st;
    if (want_cmnd) {
        int64_t K;
        st = slm_yin_n_lags(&K, &p);
        if (st) {
            slm_py_raise(st);
            goto fail;
        }
        shape[nd] = K;
        f0 = slm_py_new_f32(nd + 1, shape, fn);
        if (!f0) goto fail;
        SLM_PY_COMPUTE(st, slm_yin_cmnd_f32((float *)PyArray_DATA(f0), (const float *)PyArray_DATA(y), B, L, &p));
        if (st) {
            slm_py_raise(st);
            goto fail;
        }
        Py_DECREF(y);
        return (PyObject *)f0;
    }
    f0 = slm_py_new_f32(nd, shape, fn);
    if (!f0) goto fail;
    v = new_bool(nd, shape);
    if (!v) goto fail;
    SLM_PY_COMPUTE(st, slm_yin_f32((float *)PyArray_DATA(f0), (uint8_t *)PyArray_DATA(v),
                                   (const float *)PyArray_DATA(y), B, L, &p));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(y);
    return Py_BuildValue("NN", f0, v);
fail:
    Py_XDECREF(y);
    Py_XDECREF(f0);
    Py_XDECREF(v);
    return NULL;
}

/* pyin(y, fmin, fmax, sr, frame_length, hop_length, n_thresholds, beta_a, beta_b,
 *      boltzmann_parameter, resolution, max_transition_rate, switch_prob, no_trough_prob,
 *      center, pad_mode, fill, fill_value) -> (f0, voiced, voiced_prob) */
static PyObject *py_pyin(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"y", "fmin", "fmax", "sr", "frame_length", "hop_length", "n_thresholds",
                         "beta_a", "beta_b", "boltzmann_parameter", "resolution", "max_transition_rate",
                         "switch_prob", "no_trough_prob", "center", "pad_mode", "fill", "fill_value", NULL};
    static const char fn[] = "pyin";
    PyObject *y_o;
    const char *pad = "constant";
    int center = 1, fill = 1;
    long long N = 2048, hop = 0, nthr = 100;
    slm_f0_params p = slm_f0_default_params();
    PyArrayObject *y = NULL, *f0 = NULL, *v = NULL, *vp = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Oddd|LLLdddddddpspf:pyin", kw, &y_o, &p.fmin, &p.fmax,
                                     &p.sr, &N, &hop, &nthr, &p.beta_a, &p.beta_b, &p.boltzmann_parameter,
                                     &p.resolution, &p.max_transition_rate, &p.switch_prob, &p.no_trough_prob,
                                     &center, &pad, &fill, &p.fill_value))
        return NULL;
    p.frame_length = N;
    p.hop_length = hop;
    p.n_thresholds = nthr;
    p.center = center;
    p.fill_unvoiced = fill;
    if (parse_pad(fn, pad, &p.pad_mode)) return NULL;
    int64_t B, L, T, nb, shape[NPY_MAXDIMS + 1];
    int nd;
    slm_status st = slm_f0_n_pitch_bins(&nb, &p); /* the pyin-only checks, before any allocation */
    if (st) return slm_py_raise(st);
    y = prepare(y_o, fn, &p, &B, &L, &T, shape, &nd);
    if (!y) return NULL;
    f0 = slm_py_new_f32(nd, shape, fn);
    if (!f0) goto fail;
    vp = slm_py_new_f32(nd, shape, fn);
    if (!vp) goto fail;
    v = new_bool(nd, shape);
    if (!v) goto fail;
    SLM_PY_COMPUTE(st, slm_pyin_f32((float *)PyArray_DATA(f0), (uint8_t *)PyArray_DATA(v), (float *)PyArray_DATA(vp),
                                    (const float *)PyArray_DATA(y), B, L, &p));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(y);
    return Py_BuildValue("NNN", f0, v, vp);
fail:
    Py_XDECREF(y);
    Py_XDECREF(f0);
    Py_XDECREF(v);
    Py_XDECREF(vp);
    return NULL;
}

PyMethodDef slm_py_f0_methods[] = {
    {"yin", (PyCFunction)(void (*)(void))py_yin, METH_VARARGS | METH_KEYWORDS,
     "yin(y, fmin, fmax, sr, ...) -> (f0, voiced) float32/bool (..., T); cmnd=True gives the "
     "normalised difference (..., T, K)"},
    {"pyin", (PyCFunction)(void (*)(void))py_pyin, METH_VARARGS | METH_KEYWORDS,
     "pyin(y, fmin, fmax, sr, ...) -> (f0, voiced, voiced_prob) (..., T)"},
    {NULL, NULL, 0, NULL}};
