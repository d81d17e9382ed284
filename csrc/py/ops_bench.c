/* ops_bench.c: glue for the machine probes of `python -m slm.bench`. */
#include "glue.h"

#include "../runtime/runtime.h"

slm_status slm_probe_peak_flops(int threads, int reps, double *out, int *vector_width);
slm_status slm_probe_read_bandwidth(int threads, int64_t bytes, int reps, double *out);

static PyObject *py_probe_peak_flops(PyObject *self, PyObject *args) {
    int threads, reps = 3, w = 0;
    double f = 0.0;
    if (!PyArg_ParseTuple(args, "i|i:probe_peak_flops", &threads, &reps)) return NULL;
    if (threads < 1 || reps < 1) return PyErr_Format(PyExc_ValueError, "probe_peak_flops: threads and reps must be >= 1");
    slm_status st;
    Py_BEGIN_ALLOW_THREADS st = slm_probe_peak_flops(threads, reps, &f, &w);
    Py_END_ALLOW_THREADS if (st) return slm_py_raise(st);
    return Py_BuildValue("(di)", f, w);
}

static PyObject *py_probe_read_bandwidth(PyObject *self, PyObject *args) {
    int threads, reps = 3;
    long long bytes = 1LL << 29;
    double bw = 0.0;
    if (!PyArg_ParseTuple(args, "i|Li:probe_read_bandwidth", &threads, &bytes, &reps)) return NULL;
    if (threads < 1 || reps < 1 || bytes < (1 << 20))
        return PyErr_Format(PyExc_ValueError, "probe_read_bandwidth: threads, reps >= 1 and bytes >= 1 MiB");
    slm_status st;
    Py_BEGIN_ALLOW_THREADS st = slm_probe_read_bandwidth(threads, (int64_t)bytes, reps, &bw);
    Py_END_ALLOW_THREADS if (st) return slm_py_raise(st);
    return PyFloat_FromDouble(bw);
}

PyMethodDef slm_py_bench_methods[] = {
    {"probe_peak_flops", py_probe_peak_flops, METH_VARARGS,
     "probe_peak_flops(threads, reps=3) -> (fp32 flop/s, vector width)"},
    {"probe_read_bandwidth", py_probe_read_bandwidth, METH_VARARGS,
     "probe_read_bandwidth(threads, bytes=512 MiB, reps=3) -> bytes/s"},
    {NULL, NULL, 0, NULL}};
