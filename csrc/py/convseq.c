/* convseq.c: glue for convolutional stacks run as a program (slm/codecs/seanet.py builds
 * the program). A program is a list of layer tuples
 *   (op, w | None, b | None, cin, cout, k, stride, dilation, causal, reflect, param,
 *    lstm_params list | None, lstm_layers, lstm_skip, pad_left, pad_right)
 * (a CONVTR's list, if any, is its group norm's weight and bias)
 * held as a capsule (convseq_program) so that the arrays are parsed once at load. */
#include "glue.h"

#include "../runtime/runtime.h"

typedef struct {
    slm_cs_layer *layers;
    int64_t n;
    const float **ptrs;    /* LSTM parameter pointer arrays, 4 per LSTM layer */
    PyObject **held;       /* the arrays the pointers point into */
    Py_ssize_t nheld;
    void *ws;              /* scratch kept across runs (slm_alloc), grown on demand */
    size_t ws_size;
    int busy;              /* a run is using ws: a concurrent run allocates its own */
} program;

static void program_free(program *p) {
    if (!p) return;
    for (Py_ssize_t i = 0; i < p->nheld; i++) Py_XDECREF(p->held[i]);
    slm_free(p->ws);
    PyMem_Free(p->held);
    PyMem_Free(p->ptrs);
    PyMem_Free(p->layers);
    PyMem_Free(p);
}

static void capsule_free(PyObject *cap) { program_free(PyCapsule_GetPointer(cap, "slm.convseq")); }

static const float *hold(program *p, PyObject *o, const char *what) {
    PyArrayObject *a = slm_py_float_array(o, "convseq_program", what, 1, 3); /* Snake's (1, C, 1) too */
    if (!a) return NULL;
    p->held[p->nheld++] = (PyObject *)a;
    return (const float *)PyArray_DATA(a);
}

/* convseq_program(layers list) -> capsule */
static PyObject *py_convseq_program(PyObject *self, PyObject *args) {
    static const char fn[] = "convseq_program";
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!:convseq_program", &PyList_Type, &list)) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(list);
    program *p = PyMem_Calloc(1, sizeof(program));
    if (!p) return PyErr_NoMemory();
    Py_ssize_t nl = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(list, i);
        if (PyTuple_Check(t) && PyTuple_GET_SIZE(t) == 16 && PyList_Check(PyTuple_GET_ITEM(t, 11)))
            nl += PyList_GET_SIZE(PyTuple_GET_ITEM(t, 11));
    }
    p->layers = PyMem_Calloc((size_t)(n ? n : 1), sizeof(slm_cs_layer));
    p->ptrs = PyMem_Calloc((size_t)(nl ? nl : 1), sizeof(float *));
    p->held = PyMem_Calloc((size_t)(2 * n + nl + 1), sizeof(PyObject *));
    if (!p->layers || !p->ptrs || !p->held) {
        program_free(p);
        return PyErr_NoMemory();
    }
    Py_ssize_t used = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(list, i), *w, *b, *lp;
        int op, causal, reflect, skip;
        long long cin, cout, k, stride, dil, nlayers, padl, padr;
        float param;
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "iOOLLLLLppfOLpLL", &op, &w, &b, &cin, &cout, &k, &stride, &dil,
                                                   &causal, &reflect, &param, &lp, &nlayers, &skip, &padl, &padr)) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s: layer %zd is not a 16-tuple", fn, i);
            program_free(p);
            return NULL;
        }
        slm_cs_layer *ly = p->layers + i;
        *ly = (slm_cs_layer){(slm_cs_op)op, NULL, NULL, cin, cout, k, stride, dil, causal, reflect, param, NULL,
                             nlayers, skip, padl, padr};
        if ((w != Py_None && !(ly->w = hold(p, w, "w"))) || (b != Py_None && !(ly->b = hold(p, b, "b")))) {
            program_free(p);
            return NULL;
        }
        if (lp != Py_None) {
            /* an LSTM's 4 arrays per layer, or a transposed conv's group-norm weight and bias */
            const Py_ssize_t want = op == SLM_CS_CONVTR ? 2 : 4 * nlayers;
            if (!PyList_Check(lp) || PyList_GET_SIZE(lp) != want) {
                PyErr_Format(PyExc_ValueError, "%s: layer %zd needs %zd arrays in its list", fn, i, want);
                program_free(p);
                return NULL;
            }
            ly->lstm = p->ptrs + used;
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(lp); j++)
                if (!(p->ptrs[used++] = hold(p, PyList_GET_ITEM(lp, j), "lstm"))) {
                    program_free(p);
                    return NULL;
                }
        }
    }
    p->n = n;
    /* the program is validated against the signal's shape at every run (slm_convseq_shape) */
    PyObject *cap = PyCapsule_New(p, "slm.convseq", capsule_free);
    if (!cap) program_free(p);
    return cap;
}

/* convseq_run(program, x (N, C, L)) -> (N, C_out, L_out) */
static PyObject *py_convseq_run(PyObject *self, PyObject *args) {
    static const char fn[] = "convseq_run";
    PyObject *cap, *xo;
    if (!PyArg_ParseTuple(args, "OO:convseq_run", &cap, &xo)) return NULL;
    program *p = PyCapsule_GetPointer(cap, "slm.convseq");
    if (!p) return NULL;
    PyArrayObject *x = slm_py_float_array(xo, fn, "x", 3, 3), *out = NULL;
    if (!x) return NULL;
    const int64_t N = PyArray_DIM(x, 0), C = PyArray_DIM(x, 1), L = PyArray_DIM(x, 2);
    int64_t co, lo;
    slm_status st = N >= 1 ? slm_convseq_shape(&co, &lo, p->layers, p->n, C, L)
                           : slm_error(SLM_ERR_VALUE, fn, "empty batch");
    if (st) {
        Py_DECREF(x);
        return slm_py_raise(st);
    }
    int64_t shape[3] = {N, co, lo};
    if (!(out = slm_py_new_f32(3, shape, fn))) {
        Py_DECREF(x);
        return NULL;
    }
    /* the kept scratch, grown to this signal's need, unless another thread is using it
     * (the GIL is held here, so the flag needs no atomics) */
    size_t need = 0;
    void *ws = NULL;
    int mine = 0;
    if (!p->busy && slm_convseq_workspace(&need, p->layers, p->n, N, C, L) == SLM_OK) {
        if (p->ws_size < need) {
            slm_free(p->ws);
            p->ws = slm_alloc(need);
            p->ws_size = p->ws ? need : 0;
        }
        if (p->ws) ws = p->ws, mine = 1, p->busy = 1;
    }
    SLM_PY_COMPUTE(st, slm_convseq_run_f32((float *)PyArray_DATA(out), (const float *)PyArray_DATA(x), N, C, L,
                                           p->layers, p->n, ws, ws ? p->ws_size : 0));
    if (mine) p->busy = 0;
    Py_DECREF(x);
    if (st) {
        Py_DECREF(out);
        return slm_py_raise(st);
    }
    return (PyObject *)out;
}

PyMethodDef slm_py_convseq_methods[] = {
    {"convseq_program", py_convseq_program, METH_VARARGS, "convseq_program(layers) -> capsule"},
    {"convseq_run", py_convseq_run, METH_VARARGS, "convseq_run(program, x (N, C, L)) -> (N, C_out, L_out)"},
    {NULL, NULL, 0, NULL}};
