/* features.c: glue for feature front ends: mel filterbanks, log-mel variants, MFCC, Kaldi fbank, waveform normalisation. */
#include "glue.h"

#include "../runtime/runtime.h"

PyMethodDef slm_py_features_methods[] = {{NULL, NULL, 0, NULL}};
