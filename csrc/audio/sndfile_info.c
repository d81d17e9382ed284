/* sndfile_info.c: which libsndfile this build links (audio I/O builds on it). */
#include "../runtime/runtime.h"

#ifdef SLM_HAVE_SNDFILE
#include <sndfile.h>
const char *slm_sndfile_version(void) { return sf_version_string(); }
#else
const char *slm_sndfile_version(void) { return ""; }
#endif
