/* ops_bench.c: glue for the bench op family (slm.ops); see glue.h for the pattern. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_bench_methods[] = {
    {NULL, NULL, 0, NULL}};
