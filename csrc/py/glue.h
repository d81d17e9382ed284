/* glue.h: shared helpers of the CPython/NumPy glue (the only code that sees Python).
 *
 * The order in every glue function, as in python-xxhash: convert and check every
 * argument (with the GIL), allocate the outputs as NumPy arrays, release the GIL and
 * compute with SLM_PY_COMPUTE, then turn a failing status into an exception. Each
 * function has one error exit that drops every reference it took.
 */
#ifndef SLM_PY_GLUE_H
#define SLM_PY_GLUE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#ifndef SLM_PY_MODULE_C
#define NO_IMPORT_ARRAY
#endif
#define PY_ARRAY_UNIQUE_SYMBOL slm_py_ARRAY_API
#include <numpy/arrayobject.h>

#include "slm.h"

extern PyObject *slm_py_BackendError;

/* Set the Python exception for status st from slm_last_error(); returns NULL. An
 * exception already set is kept. SLM_ERR_INTERRUPTED runs the pending signal handlers
 * (KeyboardInterrupt by default). */
PyObject *slm_py_raise(slm_status st);

/* Same, returning -1, for helpers that return int. */
int slm_py_raise_int(slm_status st);

/* obj -> new reference to a C-contiguous, aligned float32 ndarray (no copy when it
 * already is one). float16/float32/float64 input is accepted (cast to float32); any
 * other dtype (int, bool, complex, object, str) is a TypeError naming fn and arg.
 * ndim must lie in [min_ndim, max_ndim] (ValueError otherwise). */
PyArrayObject *slm_py_float_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                  int max_ndim);

/* Like slm_py_float_array, but Py_None gives *out = NULL and returns 0. Returns -1 with
 * an exception set on error. */
int slm_py_optional_float_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                int max_ndim, PyArrayObject **out);

/* obj -> new reference to a C-contiguous int64 ndarray; integer dtypes only (bool,
 * float, ... are a TypeError). */
PyArrayObject *slm_py_index_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                  int max_ndim);

/* obj -> new reference to a C-contiguous uint16 ndarray holding bf16 bit patterns. */
PyArrayObject *slm_py_u16_array(PyObject *obj, const char *fn, const char *arg, int min_ndim,
                                int max_ndim);

/* New float32 ndarray of the given shape; MemoryError (naming fn) if the size
 * overflows or cannot be allocated. */
PyArrayObject *slm_py_new_f32(int ndim, const int64_t *shape, const char *fn);

/* Called with the GIL before a compute call: keeps slm's SIGINT hook installed in
 * front of Python's handler and re-arms interruption. */
void slm_py_call_begin(void);
/* ident of the interpreter's main thread (set at import) */
extern unsigned long slm_py_main_thread_;

/* Run expr (returning slm_status) with the GIL released. */
#define SLM_PY_COMPUTE(st, expr)                                                          \
    do {                                                                                  \
        slm_py_call_begin();                                                              \
        Py_BEGIN_ALLOW_THREADS(st) = (expr);                                              \
        Py_END_ALLOW_THREADS                                                              \
    } while (0)

/* shape string like "(2, 3, 4)" for messages; returns a static thread-local buffer */
const char *slm_py_shape_str(PyArrayObject *a);

/* Each op family's glue file exports its method table (NULL-terminated); module.c
 * merges them into slm._C. */
extern PyMethodDef slm_py_gemm_methods[];
extern PyMethodDef slm_py_conv_methods[];
extern PyMethodDef slm_py_norm_act_methods[];
extern PyMethodDef slm_py_attn_methods[];
extern PyMethodDef slm_py_rnn_vq_methods[];
extern PyMethodDef slm_py_embed_methods[];
extern PyMethodDef slm_py_bench_methods[];
extern PyMethodDef slm_py_dsp_methods[];
extern PyMethodDef slm_py_features_methods[];
extern PyMethodDef slm_py_f0_methods[];
extern PyMethodDef slm_py_audio_methods[];
extern PyMethodDef slm_py_units_methods[];
extern PyMethodDef slm_py_kmeans_methods[];
extern PyMethodDef slm_py_models_methods[];
extern PyMethodDef slm_py_ssl_methods[];
extern PyMethodDef slm_py_whisper_methods[];
extern PyMethodDef slm_py_rvq_methods[];
extern PyMethodDef slm_py_convseq_methods[];

/* ---- models (csrc/py/models.c) ---- */
/* dict {str: array} -> *out (*n entries) borrowing float32 C-contiguous copies/views kept
 * alive by *keep (a list), names by the dict's keys: keep the dict alive while *out is
 * used. Returns -1 with an exception set on error. Free with slm_py_weights_free. */
int slm_py_weights_from_dict(PyObject *dict, const char *fn, slm_weight **out, int64_t *n,
                             PyObject **keep);
void slm_py_weights_free(slm_weight *w, PyObject *keep);
/* a capsule owning a model handle (destroy frees it) / the handle in a capsule, or NULL
 * with a TypeError naming fn when cap is not a `name` capsule */
PyObject *slm_py_handle_new(void *handle, const char *name, PyCapsule_Destructor destroy);
void *slm_py_handle_get(PyObject *cap, const char *name, const char *fn);

#endif
