/* ops_gemm.c: glue for the gemm op family (slm.ops); see glue.h for the pattern. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_gemm_methods[] = {
    {NULL, NULL, 0, NULL}};
