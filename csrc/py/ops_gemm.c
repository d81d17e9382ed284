/* ops_gemm.c: glue for the gemm op family (slm.ops.linear, slm.ops.matmul); see glue.h
 * for the pattern. The Python wrappers (slm/ops/_gemm.py) reduce torch's shape rules
 * (1-D operands, broadcast batch dimensions) to the three forms checked here:
 *   linear(input (..., K), weight (N, K), bias (N) or None) -> (..., N)
 *   linear_bf16(input (..., K), weight uint16 bf16 bits (N, K), bias) -> (..., N)
 *   matmul(a (Ba, M, K), b (Bb, K, N)) -> (B, M, N), Ba and Bb each 1 or B
 * plus _sgemm, a test hook for the internal slm_sgemm. */
#include "glue.h"

#include "../kernels/gemm.h"
#include "../runtime/runtime.h"

static PyObject *linear_impl(PyObject *args, PyObject *kwargs, int bf16) {
    static char *kw[] = {"input", "weight", "bias", NULL};
    const char *fn = bf16 ? "linear (bf16 weight)" : "linear";
    PyObject *input_o, *weight_o, *bias_o = Py_None;
    PyArrayObject *x = NULL, *w = NULL, *b = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, bf16 ? "OO|O:linear_bf16" : "OO|O:linear", kw, &input_o,
                                     &weight_o, &bias_o))
        return NULL;
    x = slm_py_float_array(input_o, fn, "input", 1, NPY_MAXDIMS);
    if (!x) goto fail;
    w = bf16 ? slm_py_u16_array(weight_o, fn, "weight", 2, 2) : slm_py_float_array(weight_o, fn, "weight", 2, 2);
    if (!w) goto fail;
    if (slm_py_optional_float_array(bias_o, fn, "bias", 1, 1, &b) < 0) goto fail;
    int nd = PyArray_NDIM(x);
    int64_t K = PyArray_DIM(x, nd - 1), N = PyArray_DIM(w, 0);
    if (PyArray_DIM(w, 1) != K) {
        /* shape strings come from one static buffer: format them one at a time */
        char xs[160];
        snprintf(xs, sizeof xs, "%s", slm_py_shape_str(x));
        PyErr_Format(PyExc_ValueError, "%s: input %s has %lld features (last dimension) but weight %s expects %lld",
                     fn, xs, (long long)K, slm_py_shape_str(w), (long long)PyArray_DIM(w, 1));
        goto fail;
    }
    if (b && PyArray_DIM(b, 0) != N) {
        PyErr_Format(PyExc_ValueError, "%s: bias must have shape (%lld,) to match weight's %lld outputs, got %s", fn,
                     (long long)N, (long long)N, slm_py_shape_str(b));
        goto fail;
    }
    int64_t shape[NPY_MAXDIMS];
    for (int i = 0; i < nd - 1; i++) shape[i] = PyArray_DIM(x, i);
    shape[nd - 1] = N;
    out = slm_py_new_f32(nd, shape, fn);
    if (!out) goto fail;
    /* rows = product of the leading dimensions (no overflow: the output's product of
     * the same dimensions was checked by slm_py_new_f32) */
    int64_t M = 1;
    for (int i = 0; i < nd - 1; i++) M *= PyArray_DIM(x, i);
    slm_status st;
    const float *bp = b ? (const float *)PyArray_DATA(b) : NULL;
    if (bf16)
        SLM_PY_COMPUTE(st, slm_linear_bf16w_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x),
                                                (const uint16_t *)PyArray_DATA(w), bp, M, K, N));
    else
        SLM_PY_COMPUTE(st, slm_linear_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x),
                                          (const float *)PyArray_DATA(w), bp, M, K, N));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(x);
    Py_DECREF(w);
    Py_XDECREF(b);
    return (PyObject *)out;
fail:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(b);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *py_linear(PyObject *self, PyObject *args, PyObject *kwargs) {
    return linear_impl(args, kwargs, 0);
}

static PyObject *py_linear_bf16(PyObject *self, PyObject *args, PyObject *kwargs) {
    return linear_impl(args, kwargs, 1);
}

static PyObject *py_matmul(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"a", "b", NULL};
    static const char fn[] = "matmul";
    PyObject *a_o, *b_o;
    PyArrayObject *a = NULL, *b = NULL, *out = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:matmul", kw, &a_o, &b_o)) return NULL;
    a = slm_py_float_array(a_o, fn, "input", 3, 3);
    if (!a) goto fail;
    b = slm_py_float_array(b_o, fn, "other", 3, 3);
    if (!b) goto fail;
    int64_t Ba = PyArray_DIM(a, 0), M = PyArray_DIM(a, 1), K = PyArray_DIM(a, 2);
    int64_t Bb = PyArray_DIM(b, 0), N = PyArray_DIM(b, 2);
    if (PyArray_DIM(b, 1) != K) {
        char as[160];
        snprintf(as, sizeof as, "%s", slm_py_shape_str(a));
        PyErr_Format(PyExc_ValueError, "%s: input %s and other %s cannot be multiplied (%lld != %lld)", fn, as,
                     slm_py_shape_str(b), (long long)K, (long long)PyArray_DIM(b, 1));
        goto fail;
    }
    if (Ba != Bb && Ba != 1 && Bb != 1) {
        PyErr_Format(PyExc_ValueError, "%s: batch sizes %lld and %lld do not broadcast", fn, (long long)Ba,
                     (long long)Bb);
        goto fail;
    }
    int64_t B = Ba > Bb ? Ba : Bb;
    if (Ba == 0 || Bb == 0) B = 0;
    int64_t shape[3] = {B, M, N};
    out = slm_py_new_f32(3, shape, fn);
    if (!out) goto fail;
    slm_status st;
    SLM_PY_COMPUTE(st, slm_matmul_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(a),
                                      (const float *)PyArray_DATA(b), B, M, K, N, Ba == 1 ? 0 : M * K,
                                      Bb == 1 ? 0 : K * N));
    if (st) {
        slm_py_raise(st);
        goto fail;
    }
    Py_DECREF(a);
    Py_DECREF(b);
    return (PyObject *)out;
fail:
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(out);
    return NULL;
}

/* a 2-D float32 array whose rows are contiguous; *ld = its row stride in elements */
static int strided_matrix(PyObject *o, const char *arg, int writable, int64_t *ld) {
    if (!PyArray_Check(o) || PyArray_TYPE((PyArrayObject *)o) != NPY_FLOAT32 ||
        PyArray_NDIM((PyArrayObject *)o) != 2) {
        PyErr_Format(PyExc_TypeError, "_sgemm: %s must be a 2-D float32 ndarray", arg);
        return -1;
    }
    PyArrayObject *a = (PyArrayObject *)o;
    npy_intp rows = PyArray_DIM(a, 0), cols = PyArray_DIM(a, 1);
    npy_intp s0 = PyArray_STRIDE(a, 0), s1 = PyArray_STRIDE(a, 1);
    if (writable && !PyArray_ISWRITEABLE(a)) {
        PyErr_Format(PyExc_ValueError, "_sgemm: %s must be writable", arg);
        return -1;
    }
    *ld = cols > 1 ? cols : 1;
    if (rows == 0 || cols == 0) return 0; /* nothing is addressed */
    /* strides of length-1 dimensions are never used */
    if ((cols > 1 && s1 != 4) || (rows > 1 && (s0 % 4 != 0 || s0 < 4 * cols)) || !PyArray_ISALIGNED(a)) {
        PyErr_Format(PyExc_ValueError, "_sgemm: %s must have contiguous rows and a row stride of at "
                     "least its width", arg);
        return -1;
    }
    if (rows > 1) *ld = s0 / 4;
    return 0;
}

/* _sgemm(trans_a, trans_b, A, B, alpha, beta, C): C = alpha*op(A)@op(B) + beta*C in
 * place, through slm_sgemm on the current path; leading dimensions are the arrays'
 * row strides. A test hook for the contract other kernels rely on. */
static PyObject *py_sgemm(PyObject *self, PyObject *args) {
    int ta, tb;
    float alpha, beta;
    PyObject *A, *B, *C;
    if (!PyArg_ParseTuple(args, "ppOOffO:_sgemm", &ta, &tb, &A, &B, &alpha, &beta, &C)) return NULL;
    int64_t lda, ldb, ldc;
    if (strided_matrix(A, "A", 0, &lda) || strided_matrix(B, "B", 0, &ldb) || strided_matrix(C, "C", 1, &ldc))
        return NULL;
    PyArrayObject *a = (PyArrayObject *)A, *b = (PyArrayObject *)B, *c = (PyArrayObject *)C;
    int64_t M = PyArray_DIM(c, 0), N = PyArray_DIM(c, 1);
    int64_t am = PyArray_DIM(a, ta ? 1 : 0), K = PyArray_DIM(a, ta ? 0 : 1);
    int64_t bk = PyArray_DIM(b, tb ? 1 : 0), bn = PyArray_DIM(b, tb ? 0 : 1);
    if (am != M || bk != K || bn != N)
        return PyErr_Format(PyExc_ValueError, "_sgemm: op(A) (%lld, %lld) @ op(B) (%lld, %lld) does not give C (%lld, %lld)",
                            (long long)am, (long long)K, (long long)bk, (long long)bn, (long long)M, (long long)N);
    slm_status st;
    SLM_PY_COMPUTE(st, slm_sgemm(ta, tb, M, N, K, alpha, (const float *)PyArray_DATA(a), lda,
                                 (const float *)PyArray_DATA(b), ldb, beta, (float *)PyArray_DATA(c), ldc));
    if (st) return slm_py_raise(st);
    Py_RETURN_NONE;
}

/* _sgemm_in_parallel(trans_a, trans_b, A, B, Cs): Cs[p] = op(A) @ op(B) for every p,
 * each computed by slm_sgemm from inside an OpenMP parallel loop, as the conv and
 * attention kernels call it (slm_sgemm must then run on the calling thread only). */
static PyObject *py_sgemm_in_parallel(PyObject *self, PyObject *args) {
    int ta, tb;
    PyObject *A, *B, *Cs;
    if (!PyArg_ParseTuple(args, "ppOOO:_sgemm_in_parallel", &ta, &tb, &A, &B, &Cs)) return NULL;
    int64_t lda, ldb;
    if (strided_matrix(A, "A", 0, &lda) || strided_matrix(B, "B", 0, &ldb)) return NULL;
    if (!PyArray_Check(Cs) || PyArray_TYPE((PyArrayObject *)Cs) != NPY_FLOAT32 || PyArray_NDIM((PyArrayObject *)Cs) != 3 ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)Cs) || !PyArray_ISWRITEABLE((PyArrayObject *)Cs))
        return PyErr_Format(PyExc_TypeError, "_sgemm_in_parallel: Cs must be a writable C-contiguous 3-D float32 ndarray");
    PyArrayObject *a = (PyArrayObject *)A, *b = (PyArrayObject *)B, *c = (PyArrayObject *)Cs;
    int64_t P = PyArray_DIM(c, 0), M = PyArray_DIM(c, 1), N = PyArray_DIM(c, 2);
    int64_t K = PyArray_DIM(a, ta ? 0 : 1);
    if (PyArray_DIM(a, ta ? 1 : 0) != M || PyArray_DIM(b, tb ? 1 : 0) != K || PyArray_DIM(b, tb ? 0 : 1) != N)
        return PyErr_Format(PyExc_ValueError, "_sgemm_in_parallel: shapes do not match");
    const float *ap = (const float *)PyArray_DATA(a), *bp = (const float *)PyArray_DATA(b);
    float *cp = (float *)PyArray_DATA(c);
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
#pragma omp parallel for num_threads(slm_get_num_threads()) schedule(static)
    for (int64_t p = 0; p < P; p++)
        if (slm_sgemm(ta, tb, M, N, K, 1.0f, ap, lda, bp, ldb, 0.0f, cp + p * M * N, N) != SLM_OK)
            __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
    Py_END_ALLOW_THREADS
    if (failed) return PyErr_Format(PyExc_RuntimeError, "_sgemm_in_parallel: slm_sgemm failed in a worker");
    Py_RETURN_NONE;
}

PyMethodDef slm_py_gemm_methods[] = {
    {"linear", (PyCFunction)(void (*)(void))py_linear, METH_VARARGS | METH_KEYWORDS,
     "linear(input, weight, bias=None): input (..., K) @ weight (N, K)^T + bias (N)"},
    {"linear_bf16", (PyCFunction)(void (*)(void))py_linear_bf16, METH_VARARGS | METH_KEYWORDS,
     "linear_bf16(input, weight, bias=None): linear with weight as uint16 bf16 bit patterns"},
    {"matmul", (PyCFunction)(void (*)(void))py_matmul, METH_VARARGS | METH_KEYWORDS,
     "matmul(a, b): a (Ba, M, K) @ b (Bb, K, N) -> (B, M, N); Ba, Bb each 1 or B"},
    {"_sgemm", (PyCFunction)py_sgemm, METH_VARARGS,
     "_sgemm(trans_a, trans_b, A, B, alpha, beta, C): the internal slm_sgemm, in place (tests)"},
    {"_sgemm_in_parallel", (PyCFunction)py_sgemm_in_parallel, METH_VARARGS,
     "_sgemm_in_parallel(trans_a, trans_b, A, B, Cs): slm_sgemm called inside a parallel loop (tests)"},
    {NULL, NULL, 0, NULL}};
