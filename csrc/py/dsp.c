/* dsp.c: glue for FFT, STFT/iSTFT, windows, Griffin-Lim. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_dsp_methods[] = {{NULL, NULL, 0, NULL}};
