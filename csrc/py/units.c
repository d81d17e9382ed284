/* units.c: glue for speech-unit sequences: deduplication with durations, and unit BPE
 * training and encoding (csrc/tokenize/units_bpe.c). The Python wrapper checks dtypes. */
#include <string.h>

#include "glue.h"

#include "../runtime/runtime.h"

static PyArrayObject *as_i64_1d(PyObject *o, const char *fn, const char *arg) {
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_OTF(o, NPY_INT64, NPY_ARRAY_IN_ARRAY);
    if (!a) return NULL;
    if (PyArray_NDIM(a) != 1) {
        PyErr_Format(PyExc_ValueError, "%s: %s must be 1-D, got %d dims", fn, arg, PyArray_NDIM(a));
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* _units_dedup(units (n,) int64) -> (units (m,), durations (m,)) */
static PyObject *py_units_dedup(PyObject *self, PyObject *args) {
    static const char fn[] = "dedup";
    PyObject *o;
    PyArrayObject *u = NULL, *ou = NULL, *od = NULL;
    if (!PyArg_ParseTuple(args, "O:_units_dedup", &o)) return NULL;
    if (!(u = as_i64_1d(o, fn, "units"))) return NULL;
    npy_intp n = PyArray_DIM(u, 0);
    ou = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_INT64);
    od = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_INT64);
    if (!ou || !od) goto fail;
    int64_t m = 0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_units_dedup((int64_t *)PyArray_DATA(ou), (int64_t *)PyArray_DATA(od), &m,
                                       (const int64_t *)PyArray_DATA(u), (int64_t)n));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(u);
    /* the outputs were sized for the worst case (no repeats); hand back copies of the used part */
    PyObject *su = PySequence_GetSlice((PyObject *)ou, 0, (Py_ssize_t)m);
    PyObject *sd = PySequence_GetSlice((PyObject *)od, 0, (Py_ssize_t)m);
    Py_DECREF(ou);
    Py_DECREF(od);
    if (!su || !sd) {
        Py_XDECREF(su);
        Py_XDECREF(sd);
        return NULL;
    }
    PyObject *cu = PyArray_NewCopy((PyArrayObject *)su, NPY_CORDER);
    PyObject *cd = PyArray_NewCopy((PyArrayObject *)sd, NPY_CORDER);
    Py_DECREF(su);
    Py_DECREF(sd);
    if (!cu || !cd) {
        Py_XDECREF(cu);
        Py_XDECREF(cd);
        return NULL;
    }
    return Py_BuildValue("(NN)", cu, cd);
fail:
    Py_XDECREF(u);
    Py_XDECREF(ou);
    Py_XDECREF(od);
    return NULL;
}

/* _units_repeat(units (n,), durations (n,), total) -> (total,) */
static PyObject *py_units_repeat(PyObject *self, PyObject *args) {
    static const char fn[] = "repeat";
    PyObject *uo, *dobj;
    long long total;
    PyArrayObject *u = NULL, *d = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OOL:_units_repeat", &uo, &dobj, &total)) return NULL;
    if (!(u = as_i64_1d(uo, fn, "units"))) goto fail;
    if (!(d = as_i64_1d(dobj, fn, "durations"))) goto fail;
    if (PyArray_DIM(u, 0) != PyArray_DIM(d, 0)) {
        PyErr_Format(PyExc_ValueError, "repeat: units and durations differ in length (%zd vs %zd)",
                     (Py_ssize_t)PyArray_DIM(u, 0), (Py_ssize_t)PyArray_DIM(d, 0));
        goto fail;
    }
    if (total < 0) {
        PyErr_Format(PyExc_ValueError, "repeat: total must be >= 0, got %lld", total);
        goto fail;
    }
    npy_intp t = (npy_intp)total;
    out = (PyArrayObject *)PyArray_SimpleNew(1, &t, NPY_INT64);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_units_repeat((int64_t *)PyArray_DATA(out), (const int64_t *)PyArray_DATA(u),
                                        (const int64_t *)PyArray_DATA(d), (int64_t)PyArray_DIM(u, 0),
                                        (int64_t)total));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(u);
    Py_DECREF(d);
    return (PyObject *)out;
fail:
    Py_XDECREF(u);
    Py_XDECREF(d);
    Py_XDECREF(out);
    return NULL;
}

/* a copy of the first m entries of a (n,) int64 array */
static PyObject *head_copy(PyArrayObject *a, int64_t m) {
    npy_intp d[1] = {(npy_intp)m};
    PyArrayObject *o = (PyArrayObject *)PyArray_SimpleNew(1, d, NPY_INT64);
    if (o && m) memcpy(PyArray_DATA(o), PyArray_DATA(a), (size_t)m * sizeof(int64_t));
    return (PyObject *)o;
}

/* _units_bpe_train(tokens (n,) int64 with -1 separators, base_vocab, num_merges, min_frequency) -> merges (m, 2) */
static PyObject *py_units_bpe_train(PyObject *self, PyObject *args) {
    static const char fn[] = "UnitBPE.train";
    PyObject *o;
    long long base, nm, mf;
    if (!PyArg_ParseTuple(args, "OLLL:_units_bpe_train", &o, &base, &nm, &mf)) return NULL;
    if (nm < 0 || nm > (1LL << 31)) {
        PyErr_Format(PyExc_ValueError, "%s: num_merges must be in [0, 2^31], got %lld", fn, nm);
        return NULL;
    }
    PyArrayObject *t = as_i64_1d(o, fn, "tokens");
    if (!t) return NULL;
    npy_intp d[2] = {(npy_intp)nm, 2};
    PyArrayObject *m = (PyArrayObject *)PyArray_SimpleNew(2, d, NPY_INT64);
    if (!m) {
        Py_DECREF(t);
        return NULL;
    }
    int64_t got = 0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_units_bpe_train((int64_t *)PyArray_DATA(m), &got, (const int64_t *)PyArray_DATA(t),
                                           PyArray_DIM(t, 0), base, nm, mf));
    Py_DECREF(t);
    if (st) {
        Py_DECREF(m);
        return slm_py_raise(st);
    }
    PyObject *s = PySequence_GetSlice((PyObject *)m, 0, (Py_ssize_t)got);
    Py_DECREF(m);
    return s;
}

/* _units_bpe_encode(units (n,), durations (n,) | None, merges (m, 2), base_vocab) -> (tokens, durations | None) */
static PyObject *py_units_bpe_encode(PyObject *self, PyObject *args) {
    static const char fn[] = "UnitBPE.encode";
    PyObject *uo, *dO, *mo;
    long long base;
    if (!PyArg_ParseTuple(args, "OOOL:_units_bpe_encode", &uo, &dO, &mo, &base)) return NULL;
    PyArrayObject *u = NULL, *du = NULL, *m = NULL, *ot = NULL, *od = NULL;
    PyObject *res = NULL;
    if (!(u = as_i64_1d(uo, fn, "units"))) goto out;
    if (dO != Py_None) {
        if (!(du = as_i64_1d(dO, fn, "durations"))) goto out;
        if (PyArray_DIM(du, 0) != PyArray_DIM(u, 0)) {
            PyErr_Format(PyExc_ValueError, "%s: units and durations differ in length", fn);
            goto out;
        }
    }
    if (!(m = slm_py_index_array(mo, fn, "merges", 2, 2))) goto out;
    if (PyArray_DIM(m, 1) != 2) {
        PyErr_Format(PyExc_ValueError, "%s: merges must be (m, 2)", fn);
        goto out;
    }
    npy_intp n = PyArray_DIM(u, 0);
    if (!(ot = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_INT64))) goto out;
    if (du && !(od = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_INT64))) goto out;
    int64_t got = 0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_units_bpe_encode((int64_t *)PyArray_DATA(ot), od ? (int64_t *)PyArray_DATA(od) : NULL,
                                            &got, (const int64_t *)PyArray_DATA(u),
                                            du ? (const int64_t *)PyArray_DATA(du) : NULL, (int64_t)n,
                                            (const int64_t *)PyArray_DATA(m), PyArray_DIM(m, 0), base));
    if (st) {
        slm_py_raise(st);
        goto out;
    }
    PyObject *a = head_copy(ot, got), *b = NULL;
    if (!a) goto out;
    if (od) {
        if (!(b = head_copy(od, got))) {
            Py_DECREF(a);
            goto out;
        }
    } else {
        b = Py_None;
        Py_INCREF(b);
    }
    res = Py_BuildValue("(NN)", a, b);
out:
    Py_XDECREF(u);
    Py_XDECREF(du);
    Py_XDECREF(m);
    Py_XDECREF(ot);
    Py_XDECREF(od);
    return res;
}

PyMethodDef slm_py_units_methods[] = {
    {"_units_bpe_train", (PyCFunction)py_units_bpe_train, METH_VARARGS,
     "_units_bpe_train(tokens int64 (n,) with -1 separators, base_vocab, num_merges, min_frequency) -> merges (m, 2)"},
    {"_units_bpe_encode", (PyCFunction)py_units_bpe_encode, METH_VARARGS,
     "_units_bpe_encode(units (n,), durations (n,) or None, merges (m, 2), base_vocab) -> (tokens, durations or None)"},
    {"_units_dedup", (PyCFunction)py_units_dedup, METH_VARARGS, "_units_dedup(units int64 (n,)) -> (units, durations)"},
    {"_units_repeat", (PyCFunction)py_units_repeat, METH_VARARGS,
     "_units_repeat(units (n,), durations (n,), total) -> (total,)"},
    {NULL, NULL, 0, NULL}};
