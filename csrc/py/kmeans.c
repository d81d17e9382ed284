/* kmeans.c: glue for k-means: nearest-centroid assignment (slm.tokenizers.KMeans.predict). */
#include "glue.h"

#include "../runtime/runtime.h"

/* kmeans_predict(x (N, D), centroids (K, D)) -> (labels int64 (N), sq. distances float32 (N)) */
static PyObject *py_kmeans_predict(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"x", "centroids", NULL};
    static const char fn[] = "kmeans_predict";
    PyObject *x_o, *c_o;
    PyArrayObject *x = NULL, *c = NULL, *out = NULL, *lab = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:kmeans_predict", kw, &x_o, &c_o)) return NULL;
    x = slm_py_float_array(x_o, fn, "x", 2, 2);
    if (!x) goto fail;
    c = slm_py_float_array(c_o, fn, "centroids", 2, 2);
    if (!c) goto fail;
    if (PyArray_DIM(x, 1) != PyArray_DIM(c, 1)) {
        PyErr_Format(PyExc_ValueError, "%s: x has %lld features but centroids have %lld", fn,
                     (long long)PyArray_DIM(x, 1), (long long)PyArray_DIM(c, 1));
        goto fail;
    }
    int64_t n = PyArray_DIM(x, 0);
    npy_intp nd[1] = {(npy_intp)n};
    lab = (PyArrayObject *)PyArray_SimpleNew(1, nd, NPY_INT64);
    if (!lab) goto fail;
    out = slm_py_new_f32(1, &n, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_kmeans_predict_f32((int64_t *)PyArray_DATA(lab), (float *)PyArray_DATA(out),
                                              (const float *)PyArray_DATA(x), (const float *)PyArray_DATA(c),
                                              n, PyArray_DIM(c, 0), PyArray_DIM(c, 1)));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(c);
    return Py_BuildValue("NN", lab, out);
fail:
    Py_XDECREF(x);
    Py_XDECREF(c);
    Py_XDECREF(lab);
    Py_XDECREF(out);
    return NULL;
}

/* kmeans_cluster_sums(x (N, D), labels (N), k) -> (sums float64 (k, D), counts int64 (k)) */
static PyObject *py_kmeans_cluster_sums(PyObject *self, PyObject *args) {
    static const char fn[] = "kmeans_cluster_sums";
    PyObject *x_o, *l_o;
    long long k;
    PyArrayObject *x = NULL, *lab = NULL, *sums = NULL, *cnt = NULL;
    if (!PyArg_ParseTuple(args, "OOL:kmeans_cluster_sums", &x_o, &l_o, &k)) return NULL;
    if (!(x = slm_py_float_array(x_o, fn, "x", 2, 2))) goto fail;
    if (!(lab = slm_py_index_array(l_o, fn, "labels", 1, 1))) goto fail;
    if (PyArray_DIM(lab, 0) != PyArray_DIM(x, 0)) {
        PyErr_Format(PyExc_ValueError, "%s: %lld labels for %lld rows", fn, (long long)PyArray_DIM(lab, 0),
                     (long long)PyArray_DIM(x, 0));
        goto fail;
    }
    if (k < 1 || k > (1LL << 31)) {
        PyErr_Format(PyExc_ValueError, "%s: k must be in [1, 2^31], got %lld", fn, k);
        goto fail;
    }
    npy_intp sd[2] = {(npy_intp)k, PyArray_DIM(x, 1)}, cd[1] = {(npy_intp)k};
    if (!(sums = (PyArrayObject *)PyArray_SimpleNew(2, sd, NPY_FLOAT64))) goto fail;
    if (!(cnt = (PyArrayObject *)PyArray_SimpleNew(1, cd, NPY_INT64))) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_kmeans_cluster_sums_f32((double *)PyArray_DATA(sums), (int64_t *)PyArray_DATA(cnt),
                                                   (const float *)PyArray_DATA(x),
                                                   (const int64_t *)PyArray_DATA(lab), PyArray_DIM(x, 0), k,
                                                   PyArray_DIM(x, 1)));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(lab);
    return Py_BuildValue("NN", sums, cnt);
fail:
    Py_XDECREF(x);
    Py_XDECREF(lab);
    Py_XDECREF(sums);
    Py_XDECREF(cnt);
    return NULL;
}

PyMethodDef slm_py_kmeans_methods[] = {
    {"kmeans_cluster_sums", py_kmeans_cluster_sums, METH_VARARGS,
     "kmeans_cluster_sums(x, labels, k): (float64 per-cluster sums (k, D), int64 counts (k)), rows added in order"},
    {"kmeans_predict", (PyCFunction)(void (*)(void))py_kmeans_predict, METH_VARARGS | METH_KEYWORDS,
     "kmeans_predict(x, centroids): (labels int64 (N), squared distances float32 (N)) of the nearest centroid"},
    {NULL, NULL, 0, NULL}};
