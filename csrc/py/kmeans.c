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

/* a new C-contiguous float32 copy of a (rows, cols) array argument, checked for shape */
static PyArrayObject *f32_copy(PyObject *o, const char *fn, const char *what, int64_t rows, int64_t cols) {
    PyArrayObject *a = slm_py_float_array(o, fn, what, 2, 2);
    if (!a) return NULL;
    if ((rows >= 0 && PyArray_DIM(a, 0) != rows) || PyArray_DIM(a, 1) != cols) {
        PyErr_Format(PyExc_ValueError, "%s: %s has shape (%lld, %lld), expected (%lld, %lld)", fn, what,
                     (long long)PyArray_DIM(a, 0), (long long)PyArray_DIM(a, 1), (long long)rows, (long long)cols);
        Py_DECREF(a);
        return NULL;
    }
    PyArrayObject *c = (PyArrayObject *)PyArray_NewCopy(a, NPY_CORDER);
    Py_DECREF(a);
    return c;
}

/* kmeans_plusplus(x (N, D), k, first, uniforms float64 ((k-1) * trials)) -> (centers (k, D), chosen int64 (k)) */
static PyObject *py_kmeans_plusplus(PyObject *self, PyObject *args) {
    static const char fn[] = "kmeans_plusplus";
    PyObject *x_o, *u_o;
    long long k, first;
    PyArrayObject *x = NULL, *u = NULL, *c = NULL, *ch = NULL;
    if (!PyArg_ParseTuple(args, "OLLO:kmeans_plusplus", &x_o, &k, &first, &u_o)) return NULL;
    if (!(x = slm_py_float_array(x_o, fn, "x", 2, 2))) goto fail;
    u = (PyArrayObject *)PyArray_FROMANY(u_o, NPY_FLOAT64, 1, 1, NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED);
    if (!u) goto fail;
    if (k < 1 || k > PyArray_DIM(x, 0)) {
        PyErr_Format(PyExc_ValueError, "%s: k=%lld must be in [1, n_samples=%lld]", fn, k,
                     (long long)PyArray_DIM(x, 0));
        goto fail;
    }
    int64_t nu = PyArray_DIM(u, 0), trials = k > 1 ? nu / (k - 1) : 1;
    if (k > 1 && (nu == 0 || nu % (k - 1))) {
        PyErr_Format(PyExc_ValueError, "%s: %lld uniform numbers is not a positive multiple of k - 1 = %lld", fn,
                     (long long)nu, k - 1);
        goto fail;
    }
    npy_intp cd[2] = {(npy_intp)k, PyArray_DIM(x, 1)}, id[1] = {(npy_intp)k};
    if (!(c = (PyArrayObject *)PyArray_SimpleNew(2, cd, NPY_FLOAT32))) goto fail;
    if (!(ch = (PyArrayObject *)PyArray_SimpleNew(1, id, NPY_INT64))) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_kmeans_plusplus_f32((float *)PyArray_DATA(c), (int64_t *)PyArray_DATA(ch),
                                               (const float *)PyArray_DATA(x), PyArray_DIM(x, 0), k,
                                               PyArray_DIM(x, 1), first, (const double *)PyArray_DATA(u), trials));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(u);
    return Py_BuildValue("NN", c, ch);
fail:
    Py_XDECREF(x);
    Py_XDECREF(u);
    Py_XDECREF(c);
    Py_XDECREF(ch);
    return NULL;
}

/* kmeans_lloyd(x (N, D), centers (K, D), max_iter, tol) -> (centers, labels, dist, n_iter, inertia) */
static PyObject *py_kmeans_lloyd(PyObject *self, PyObject *args) {
    static const char fn[] = "kmeans_lloyd";
    PyObject *x_o, *c_o;
    long long max_iter;
    double tol;
    PyArrayObject *x = NULL, *c = NULL, *lab = NULL, *dist = NULL;
    if (!PyArg_ParseTuple(args, "OOLd:kmeans_lloyd", &x_o, &c_o, &max_iter, &tol)) return NULL;
    if (!(x = slm_py_float_array(x_o, fn, "x", 2, 2))) goto fail;
    if (!(c = f32_copy(c_o, fn, "centers", -1, PyArray_DIM(x, 1)))) goto fail;
    int64_t n = PyArray_DIM(x, 0);
    npy_intp nd[1] = {(npy_intp)n};
    if (!(lab = (PyArrayObject *)PyArray_SimpleNew(1, nd, NPY_INT64))) goto fail;
    if (!(dist = slm_py_new_f32(1, &n, fn))) goto fail;
    int64_t it = 0;
    double inertia = 0.0;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_kmeans_lloyd_f32((float *)PyArray_DATA(c), (int64_t *)PyArray_DATA(lab),
                                            (float *)PyArray_DATA(dist), &it, &inertia,
                                            (const float *)PyArray_DATA(x), n, PyArray_DIM(c, 0),
                                            PyArray_DIM(x, 1), max_iter, tol));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    return Py_BuildValue("NNNLd", c, lab, dist, (long long)it, inertia);
fail:
    Py_XDECREF(x);
    Py_XDECREF(c);
    Py_XDECREF(lab);
    Py_XDECREF(dist);
    return NULL;
}

/* kmeans_minibatch_step(x (B, D), centers (K, D), counts (K)) -> (centers, counts, dist (B)), new arrays */
static PyObject *py_kmeans_minibatch_step(PyObject *self, PyObject *args) {
    static const char fn[] = "kmeans_minibatch_step";
    PyObject *x_o, *c_o, *n_o;
    PyArrayObject *x = NULL, *c = NULL, *n = NULL, *cnt = NULL, *dist = NULL;
    if (!PyArg_ParseTuple(args, "OOO:kmeans_minibatch_step", &x_o, &c_o, &n_o)) return NULL;
    if (!(x = slm_py_float_array(x_o, fn, "x", 2, 2))) goto fail;
    if (!(c = f32_copy(c_o, fn, "centers", -1, PyArray_DIM(x, 1)))) goto fail;
    if (!(n = slm_py_index_array(n_o, fn, "counts", 1, 1))) goto fail;
    if (PyArray_DIM(n, 0) != PyArray_DIM(c, 0)) {
        PyErr_Format(PyExc_ValueError, "%s: %lld counts for %lld centres", fn, (long long)PyArray_DIM(n, 0),
                     (long long)PyArray_DIM(c, 0));
        goto fail;
    }
    if (!(cnt = (PyArrayObject *)PyArray_NewCopy(n, NPY_CORDER))) goto fail;
    int64_t b = PyArray_DIM(x, 0);
    if (!(dist = slm_py_new_f32(1, &b, fn))) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_kmeans_minibatch_step_f32((float *)PyArray_DATA(c), (int64_t *)PyArray_DATA(cnt),
                                                     (float *)PyArray_DATA(dist), (const float *)PyArray_DATA(x),
                                                     b, PyArray_DIM(c, 0), PyArray_DIM(x, 1)));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(n);
    return Py_BuildValue("NNN", c, cnt, dist);
fail:
    Py_XDECREF(x);
    Py_XDECREF(c);
    Py_XDECREF(n);
    Py_XDECREF(cnt);
    Py_XDECREF(dist);
    return NULL;
}

PyMethodDef slm_py_kmeans_methods[] = {
    {"kmeans_plusplus", py_kmeans_plusplus, METH_VARARGS,
     "kmeans_plusplus(x, k, first, uniforms): (centres (k, D), chosen row indices (k)) of k-means++ seeding"},
    {"kmeans_lloyd", py_kmeans_lloyd, METH_VARARGS,
     "kmeans_lloyd(x, centers, max_iter, tol): (centres, labels, sq. distances, n_iter, inertia)"},
    {"kmeans_minibatch_step", py_kmeans_minibatch_step, METH_VARARGS,
     "kmeans_minibatch_step(x, centers, counts): (centres, counts, sq. distances before the step)"},
    {"kmeans_cluster_sums", py_kmeans_cluster_sums, METH_VARARGS,
     "kmeans_cluster_sums(x, labels, k): (float64 per-cluster sums (k, D), int64 counts (k)), rows added in order"},
    {"kmeans_predict", (PyCFunction)(void (*)(void))py_kmeans_predict, METH_VARARGS | METH_KEYWORDS,
     "kmeans_predict(x, centroids): (labels int64 (N), squared distances float32 (N)) of the nearest centroid"},
    {NULL, NULL, 0, NULL}};
