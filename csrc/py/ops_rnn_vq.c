/* ops_rnn_vq.c: glue for the rnn_vq op family (slm.ops); see glue.h for the pattern. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_rnn_vq_methods[] = {
    {NULL, NULL, 0, NULL}};
