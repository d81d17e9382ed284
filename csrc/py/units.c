/* units.c: glue for speech-unit sequences: deduplication with durations (unit BPE is in
 * slm/tokenizers/_units.py). The Python wrapper checks dtypes; these take int64 arrays. */
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

PyMethodDef slm_py_units_methods[] = {
    {"_units_dedup", (PyCFunction)py_units_dedup, METH_VARARGS, "_units_dedup(units int64 (n,)) -> (units, durations)"},
    {"_units_repeat", (PyCFunction)py_units_repeat, METH_VARARGS,
     "_units_repeat(units (n,), durations (n,), total) -> (total,)"},
    {NULL, NULL, 0, NULL}};
