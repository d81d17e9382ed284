/* module.c: the extension module slm._C: runtime settings, backend report, bf16
 * conversion, and the merged method tables of every op family's glue file. */
#define SLM_PY_MODULE_C
#include "glue.h"

#include "../runtime/runtime.h"

const char *slm_sndfile_version(void);

static PyObject *py_version(PyObject *self, PyObject *noargs) {
    return Py_BuildValue("(is)", slm_version(), SLM_VERSION_STRING);
}

static PyObject *py_set_num_threads(PyObject *self, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return PyErr_Format(PyExc_TypeError, "set_num_threads: n must be an int, got %.80s",
                            Py_TYPE(arg)->tp_name);
    }
    if (n < 1 || n > 4096) return PyErr_Format(PyExc_ValueError, "set_num_threads: n must be in [1, 4096], got %ld", n);
    slm_status st = slm_set_num_threads((int)n);
    if (st) return slm_py_raise(st);
    Py_RETURN_NONE;
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *noargs) {
    return PyLong_FromLong(slm_get_num_threads());
}

static PyObject *py_set_backend(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg))
        return PyErr_Format(PyExc_TypeError, "set_backend: name must be a str, got %.80s", Py_TYPE(arg)->tp_name);
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name) return NULL;
    slm_path p;
    slm_status st = slm_path_parse(name, &p);
    if (st) return slm_py_raise(st);
    st = slm_set_path(p);
    if (st) return slm_py_raise(st);
    Py_RETURN_NONE;
}

static PyObject *py_get_backend(PyObject *self, PyObject *noargs) {
    return PyUnicode_FromString(slm_path_name(slm_get_path()));
}

/* raw facts for slm.backend_info() */
static PyObject *py_backend_raw(PyObject *self, PyObject *noargs) {
    PyObject *d = PyDict_New(), *avail = NULL, *fam = NULL, *impl = NULL;
    if (!d) return NULL;
    avail = PyDict_New();
    fam = PyDict_New();
    impl = PyDict_New();
    if (!avail || !fam || !impl) goto fail;
    for (int p = 0; p <= SLM_PATH_DNNL; p++) {
        PyObject *v = PyBool_FromLong(slm_path_available((slm_path)p));
        int rc = PyDict_SetItemString(avail, slm_path_name((slm_path)p), v);
        Py_DECREF(v);
        if (rc) goto fail;
    }
    for (int f = 0; f < SLM_FAMILY_COUNT_; f++) {
        PyObject *s = PyUnicode_FromString(slm_path_name(slm_family_path((slm_family)f)));
        if (!s || PyDict_SetItemString(fam, slm_family_name((slm_family)f), s)) {
            Py_XDECREF(s);
            goto fail;
        }
        Py_DECREF(s);
        PyObject *lst = PyList_New(0);
        if (!lst) goto fail;
        for (int p = 0; p <= SLM_PATH_DNNL; p++)
            if (slm_family_implements((slm_family)f, (slm_path)p)) {
                PyObject *n = PyUnicode_FromString(slm_path_name((slm_path)p));
                if (!n || PyList_Append(lst, n)) {
                    Py_XDECREF(n);
                    Py_DECREF(lst);
                    goto fail;
                }
                Py_DECREF(n);
            }
        int rc = PyDict_SetItemString(impl, slm_family_name((slm_family)f), lst);
        Py_DECREF(lst);
        if (rc) goto fail;
    }
    PyObject *built = Py_BuildValue("{s:O,s:O,s:O,s:O}", "ref", Py_True, "avx2",
                                    slm_build_has_path(SLM_PATH_AVX2) ? Py_True : Py_False, "avx512",
                                    slm_build_has_path(SLM_PATH_AVX512) ? Py_True : Py_False, "dnnl",
                                    slm_have_dnnl() ? Py_True : Py_False);
    if (!built || PyDict_SetItemString(d, "built", built)) {
        Py_XDECREF(built);
        goto fail;
    }
    Py_DECREF(built);
    if (PyDict_SetItemString(d, "available", avail) || PyDict_SetItemString(d, "families", fam) ||
        PyDict_SetItemString(d, "implements", impl))
        goto fail;
    PyObject *extra = Py_BuildValue("{s:s,s:s,s:s,s:s,s:i}", "cpu", slm_cpu_features(), "dnnl_version",
                                    slm_dnnl_version(), "sndfile_version", slm_sndfile_version(), "forced",
                                    slm_path_name(slm_get_path()), "num_threads", slm_get_num_threads());
    if (!extra || PyDict_Update(d, extra)) {
        Py_XDECREF(extra);
        goto fail;
    }
    Py_DECREF(extra);
    Py_DECREF(avail);
    Py_DECREF(fam);
    Py_DECREF(impl);
    return d;
fail:
    Py_XDECREF(avail);
    Py_XDECREF(fam);
    Py_XDECREF(impl);
    Py_DECREF(d);
    return NULL;
}

static PyObject *py_to_bf16(PyObject *self, PyObject *arg) {
    PyArrayObject *x = slm_py_float_array(arg, "to_bf16", "x", 0, NPY_MAXDIMS);
    if (!x) return NULL;
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(PyArray_NDIM(x), PyArray_DIMS(x), NPY_UINT16);
    if (!out) {
        Py_DECREF(x);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS slm_f32_to_bf16((uint16_t *)PyArray_DATA(out), (const float *)PyArray_DATA(x),
                                           (int64_t)PyArray_SIZE(x));
    Py_END_ALLOW_THREADS Py_DECREF(x);
    return (PyObject *)out;
}

static PyObject *py_from_bf16(PyObject *self, PyObject *arg) {
    PyArrayObject *x = slm_py_u16_array(arg, "from_bf16", "x", 0, NPY_MAXDIMS);
    if (!x) return NULL;
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(PyArray_NDIM(x), PyArray_DIMS(x), NPY_FLOAT32);
    if (!out) {
        Py_DECREF(x);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS slm_bf16_to_f32((float *)PyArray_DATA(out), (const uint16_t *)PyArray_DATA(x),
                                           (int64_t)PyArray_SIZE(x));
    Py_END_ALLOW_THREADS Py_DECREF(x);
    return (PyObject *)out;
}

/* for tests: what Ctrl-C does, without a signal */
static PyObject *py_request_interrupt(PyObject *self, PyObject *noargs) {
    slm_request_interrupt();
    Py_RETURN_NONE;
}

static PyMethodDef core_methods[] = {
    {"version", py_version, METH_NOARGS, "(SLM_VERSION, version string) of the C library"},
    {"set_num_threads", py_set_num_threads, METH_O, "set the thread count of slm kernels and oneDNN"},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "the thread count of slm kernels and oneDNN"},
    {"set_backend", py_set_backend, METH_O, "force a kernel path: ref, avx2, avx512, dnnl or auto"},
    {"get_backend", py_get_backend, METH_NOARGS, "the forced kernel path, or 'auto'"},
    {"backend_raw", py_backend_raw, METH_NOARGS, "facts behind slm.backend_info()"},
    {"to_bf16", py_to_bf16, METH_O, "float array -> bf16 bit patterns (uint16), round to nearest even"},
    {"from_bf16", py_from_bf16, METH_O, "bf16 bit patterns (uint16) -> float32"},
    {"_request_interrupt", py_request_interrupt, METH_NOARGS, "raise the interrupt flag (tests)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "slm._C",
                                    "slm's C core: kernels, runtime settings and the backend report.", -1,
                                    NULL};

static PyMethodDef *merge_tables(void) {
    PyMethodDef *tables[] = {core_methods,         slm_py_gemm_methods,  slm_py_conv_methods,
                             slm_py_norm_act_methods, slm_py_attn_methods, slm_py_rnn_vq_methods,
                             slm_py_embed_methods, slm_py_bench_methods, slm_py_dsp_methods,
                             slm_py_features_methods, slm_py_f0_methods, slm_py_audio_methods,
                             slm_py_units_methods, slm_py_kmeans_methods, slm_py_models_methods,
                             slm_py_ssl_methods, slm_py_whisper_methods, slm_py_rvq_methods,
                             slm_py_convseq_methods};
    size_t n = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (PyMethodDef *m = tables[t]; m->ml_name; m++) n++;
    PyMethodDef *all = (PyMethodDef *)PyMem_Calloc(n + 1, sizeof(PyMethodDef)); /* lives forever */
    if (!all) return NULL;
    size_t i = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (PyMethodDef *m = tables[t]; m->ml_name; m++) all[i++] = *m;
    return all;
}

PyMODINIT_FUNC PyInit__C(void) {
    import_array();
    if (moddef.m_methods == NULL) {
        moddef.m_methods = merge_tables();
        if (!moddef.m_methods) return PyErr_NoMemory();
    }
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    slm_py_BackendError = PyErr_NewExceptionWithDoc(
        "slm.BackendError",
        "A kernel path (ref/avx2/avx512/dnnl) is unavailable on this machine or build, or failed.",
        PyExc_RuntimeError, NULL);
    if (!slm_py_BackendError || PyModule_AddObjectRef(m, "BackendError", slm_py_BackendError) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    /* the main thread is where signal handlers run */
    PyObject *threading = PyImport_ImportModule("threading");
    if (threading) {
        PyObject *mt = PyObject_CallMethod(threading, "main_thread", NULL);
        PyObject *ident = mt ? PyObject_GetAttrString(mt, "ident") : NULL;
        if (ident) slm_py_main_thread_ = PyLong_AsUnsignedLong(ident);
        Py_XDECREF(ident);
        Py_XDECREF(mt);
        Py_DECREF(threading);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(m);
        return NULL;
    }
    /* SLM_BACKEND naming a path this machine cannot run is an error at import */
    slm_status st = slm_backend_env_status();
    if (st) {
        slm_py_raise(st);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "VERSION", SLM_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "HAVE_DNNL", slm_have_dnnl()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
