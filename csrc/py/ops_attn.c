/* ops_attn.c: glue for the attn op family (slm.ops); see glue.h for the pattern. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_attn_methods[] = {
    {NULL, NULL, 0, NULL}};
