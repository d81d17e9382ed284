/* ops_conv.c: glue for the conv op family (slm.ops); see glue.h for the pattern. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_conv_methods[] = {
    {NULL, NULL, 0, NULL}};
