/* rvq.c: glue for residual vector quantization (slm.codecs.rvq). A quantizer arrives as a
 * list of stage tuples (codebook (K, d), metric 0=L2/1=cosine, in_w (d, D) | None,
 * in_b (d) | None, out_w (D, d) | None, out_b (D) | None); the arrays are held for the
 * duration of the call. */
#include "glue.h"

#define MAX_STAGES 256

typedef struct {
    slm_rvq_stage st[MAX_STAGES];
    PyArrayObject *held[MAX_STAGES * 5];
    int nheld;
    int64_t n_q;
} stages_t;

static void stages_free(stages_t *s) {
    for (int i = 0; i < s->nheld; i++) Py_XDECREF(s->held[i]);
    s->nheld = 0;
}

/* one optional array of ndim dims whose shape must be (r) or (r, c) */
static int opt_array(PyObject *o, const char *fn, const char *what, int64_t i, int ndim, int64_t r, int64_t c,
                     const float **out, stages_t *s) {
    PyArrayObject *a = NULL;
    if (slm_py_optional_float_array(o, fn, what, ndim, ndim, &a) < 0) return -1;
    if (!a) {
        *out = NULL;
        return 0;
    }
    s->held[s->nheld++] = a;
    if (PyArray_DIM(a, 0) != r || (ndim == 2 && PyArray_DIM(a, 1) != c)) {
        PyErr_Format(PyExc_ValueError, "%s: stage %lld %s has shape %s, expected (%lld%s%lld)", fn, (long long)i,
                     what, slm_py_shape_str(a), (long long)r, ndim == 2 ? ", " : "", ndim == 2 ? (long long)c : 0LL);
        return -1;
    }
    *out = (const float *)PyArray_DATA(a);
    return 0;
}

/* stages list -> s (D: the latent's feature count) */
static int parse_stages(PyObject *list, int64_t D, const char *fn, stages_t *s) {
    s->nheld = 0;
    if (!PyList_Check(list) && !PyTuple_Check(list)) {
        PyErr_Format(PyExc_TypeError, "%s: stages must be a list of tuples", fn);
        return -1;
    }
    Py_ssize_t n = PySequence_Size(list);
    if (n < 1 || n > MAX_STAGES) {
        PyErr_Format(PyExc_ValueError, "%s: %zd stages, expected 1..%d", fn, n, MAX_STAGES);
        return -1;
    }
    s->n_q = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(list, i); /* list or tuple: borrowed */
        PyObject *cb, *iw, *ib, *ow, *ob;
        int metric;
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "OiOOOO", &cb, &metric, &iw, &ib, &ow, &ob)) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s: stage %zd must be a tuple (codebook, metric, in_w, in_b, out_w, out_b)",
                             fn, i);
            return -1;
        }
        slm_rvq_stage *st = s->st + i;
        PyArrayObject *c = slm_py_float_array(cb, fn, "codebook", 2, 2);
        if (!c) return -1;
        s->held[s->nheld++] = c;
        st->codebook = (const float *)PyArray_DATA(c);
        st->K = PyArray_DIM(c, 0);
        st->d = PyArray_DIM(c, 1);
        st->metric = metric == 1 ? SLM_VQ_COSINE : SLM_VQ_L2;
        if (metric != 0 && metric != 1) {
            PyErr_Format(PyExc_ValueError, "%s: stage %zd metric must be 0 (L2) or 1 (cosine), got %d", fn, i, metric);
            return -1;
        }
        if (opt_array(iw, fn, "in_w", i, 2, st->d, D, &st->in_w, s) < 0 ||
            opt_array(ib, fn, "in_b", i, 1, st->d, 0, &st->in_b, s) < 0 ||
            opt_array(ow, fn, "out_w", i, 2, D, st->d, &st->out_w, s) < 0 ||
            opt_array(ob, fn, "out_b", i, 1, D, 0, &st->out_b, s) < 0)
            return -1;
    }
    return 0;
}

/* rvq_encode(x (T, D), stages, want_quantized) -> (codes int64 (n_q, T), quantized (T, D) | None) */
static PyObject *py_rvq_encode(PyObject *self, PyObject *args) {
    static const char fn[] = "rvq_encode";
    PyObject *x_o, *list;
    int want_q = 1;
    if (!PyArg_ParseTuple(args, "OO|p:rvq_encode", &x_o, &list, &want_q)) return NULL;
    PyArrayObject *x = slm_py_float_array(x_o, fn, "x", 2, 2), *codes = NULL, *q = NULL;
    if (!x) return NULL;
    stages_t *s = PyMem_Calloc(1, sizeof(stages_t));
    if (!s) {
        Py_DECREF(x);
        return PyErr_NoMemory();
    }
    const int64_t T = PyArray_DIM(x, 0), D = PyArray_DIM(x, 1);
    if (parse_stages(list, D, fn, s) < 0) goto fail;
    npy_intp cd[2] = {(npy_intp)s->n_q, (npy_intp)T};
    if (!(codes = (PyArrayObject *)PyArray_SimpleNew(2, cd, NPY_INT64))) goto fail;
    if (want_q) {
        int64_t qs[2] = {T, D};
        if (!(q = slm_py_new_f32(2, qs, fn))) goto fail;
    }
    slm_status st;
    SLM_PY_COMPUTE(st, slm_rvq_encode_f32((int64_t *)PyArray_DATA(codes), q ? (float *)PyArray_DATA(q) : NULL,
                                          (const float *)PyArray_DATA(x), s->st, s->n_q, T, D));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    stages_free(s);
    PyMem_Free(s);
    Py_DECREF(x);
    if (!q) {
        Py_INCREF(Py_None);
        return Py_BuildValue("NN", codes, Py_None);
    }
    return Py_BuildValue("NN", codes, q);
fail:
    stages_free(s);
    PyMem_Free(s);
    Py_XDECREF(x);
    Py_XDECREF(codes);
    Py_XDECREF(q);
    return NULL;
}

/* rvq_decode(codes (n_q, T), stages, D) -> (T, D); stages may be longer than n_q */
static PyObject *py_rvq_decode(PyObject *self, PyObject *args) {
    static const char fn[] = "rvq_decode";
    PyObject *c_o, *list;
    long long D;
    if (!PyArg_ParseTuple(args, "OOL:rvq_decode", &c_o, &list, &D)) return NULL;
    if (D < 1) {
        PyErr_Format(PyExc_ValueError, "%s: D must be >= 1, got %lld", fn, D);
        return NULL;
    }
    PyArrayObject *codes = slm_py_index_array(c_o, fn, "codes", 2, 2), *out = NULL;
    if (!codes) return NULL;
    stages_t *s = PyMem_Calloc(1, sizeof(stages_t));
    if (!s) {
        Py_DECREF(codes);
        return PyErr_NoMemory();
    }
    if (parse_stages(list, D, fn, s) < 0) goto fail;
    const int64_t nq = PyArray_DIM(codes, 0), T = PyArray_DIM(codes, 1);
    if (nq < 1 || nq > s->n_q) {
        PyErr_Format(PyExc_ValueError, "%s: %lld codebooks of codes, the quantizer has %lld", fn, (long long)nq,
                     (long long)s->n_q);
        goto fail;
    }
    int64_t os[2] = {T, D};
    if (!(out = slm_py_new_f32(2, os, fn))) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_rvq_decode_f32((float *)PyArray_DATA(out), (const int64_t *)PyArray_DATA(codes), s->st,
                                          nq, T, D));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    stages_free(s);
    PyMem_Free(s);
    Py_DECREF(codes);
    return (PyObject *)out;
fail:
    stages_free(s);
    PyMem_Free(s);
    Py_XDECREF(codes);
    Py_XDECREF(out);
    return NULL;
}

PyMethodDef slm_py_rvq_methods[] = {
    {"rvq_encode", py_rvq_encode, METH_VARARGS,
     "rvq_encode(x (T, D), stages, want_quantized=True): (codes int64 (n_q, T), quantized (T, D) or None)"},
    {"rvq_decode", py_rvq_decode, METH_VARARGS, "rvq_decode(codes (n_q, T), stages, D): latent (T, D)"},
    {NULL, NULL, 0, NULL}};
