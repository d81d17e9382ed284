/* ops_embed.c: glue for embedding (slm.ops.embedding); the pattern for every op. */
#include "glue.h"

#include "../runtime/runtime.h"

/* embedding(input, weight) -> weight[input]; input any integer shape, weight (V, D) */
static PyObject *py_embedding(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"input", "weight", NULL};
    static const char fn[] = "embedding";
    PyObject *input_o, *weight_o;
    PyArrayObject *idx = NULL, *w = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:embedding", kw, &input_o, &weight_o)) return NULL;
    idx = slm_py_index_array(input_o, fn, "input", 0, NPY_MAXDIMS - 1);
    if (!idx) goto fail;
    w = slm_py_float_array(weight_o, fn, "weight", 2, 2);
    if (!w) goto fail;
    int nd = PyArray_NDIM(idx);
    int64_t shape[NPY_MAXDIMS];
    for (int i = 0; i < nd; i++) shape[i] = PyArray_DIM(idx, i);
    shape[nd] = PyArray_DIM(w, 1);
    out = slm_py_new_f32(nd + 1, shape, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_embedding_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(w),
                                         (const int64_t *)PyArray_DATA(idx), (int64_t)PyArray_SIZE(idx),
                                         PyArray_DIM(w, 0), PyArray_DIM(w, 1)));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(idx);
    Py_DECREF(w);
    return (PyObject *)out;
fail:
    Py_XDECREF(idx);
    Py_XDECREF(w);
    Py_XDECREF(out);
    return NULL;
}

PyMethodDef slm_py_embed_methods[] = {
    {"embedding", (PyCFunction)(void (*)(void))py_embedding, METH_VARARGS | METH_KEYWORDS,
     "embedding(input, weight): rows of weight (V, D) at integer indices input"},
    {NULL, NULL, 0, NULL}};
