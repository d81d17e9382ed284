/* ops_norm_act.c: glue for the norm_act op family (slm.ops); see glue.h for the pattern. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_norm_act_methods[] = {
    {NULL, NULL, 0, NULL}};
