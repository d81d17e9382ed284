/* test_capi.c: slm's C API used from plain C99, without Python (make capi-test).
 * Checks the version macro against the library, a linear layer and a softmax against
 * hand-computed values on every path this machine runs, and that bad input returns a
 * status with a message instead of crashing. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "slm.h"

static int failures = 0, checks = 0;
#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                    \
            printf(__VA_ARGS__);                                                           \
            printf("\n");                                                                  \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

int main(void) {
    EXPECT(slm_version() == SLM_VERSION, "library version %d != header %d", slm_version(), SLM_VERSION);
    printf("slm %s, cpu: %s, oneDNN: %s\n", SLM_VERSION_STRING, slm_cpu_features(),
           slm_have_dnnl() ? slm_dnnl_version() : "absent");
    EXPECT(slm_set_num_threads(2) == SLM_OK, "set_num_threads");
    EXPECT(slm_set_num_threads(0) == SLM_ERR_VALUE && strstr(slm_last_error(), "slm_set_num_threads"),
           "bad thread count: %s", slm_last_error());

    /* out (2, 3) = inp (2, 4) @ w (3, 4)^T + b */
    const float inp[8] = {1, 2, 3, 4, -1, 0.5f, 0, 2};
    const float w[12] = {1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1};
    const float b[3] = {0.5f, -1, 0};
    const float want[6] = {1.5f, 1, 10, -0.5f, -0.5f, 1.5f};
    int paths_run = 0;
    for (int p = SLM_PATH_REF; p <= SLM_PATH_DNNL; p++) {
        if (!slm_path_available((slm_path)p)) continue;
        EXPECT(slm_set_path((slm_path)p) == SLM_OK, "set_path %s", slm_path_name((slm_path)p));
        float out[6];
        EXPECT(slm_linear_f32(out, inp, w, b, 2, 4, 3) == SLM_OK, "linear: %s", slm_last_error());
        for (int i = 0; i < 6; i++)
            EXPECT(fabsf(out[i] - want[i]) < 1e-6f, "linear[%d] on %s: %g != %g", i,
                   slm_path_name((slm_path)p), out[i], want[i]);
        float sm[3];
        const float logits[3] = {0, (float)log(2.0), (float)log(5.0)};
        EXPECT(slm_softmax_f32(sm, logits, 1, 3, 1) == SLM_OK, "softmax: %s", slm_last_error());
        EXPECT(fabsf(sm[0] - 0.125f) < 1e-6f && fabsf(sm[2] - 0.625f) < 1e-6f, "softmax on %s",
               slm_path_name((slm_path)p));
        paths_run++;
    }
    EXPECT(paths_run >= 1, "no path ran");
    EXPECT(slm_set_path(SLM_PATH_AUTO) == SLM_OK, "auto");

    /* bad input: a status and a message naming the function, never a crash */
    float out[6];
    EXPECT(slm_linear_f32(out, inp, w, b, -1, 4, 3) == SLM_ERR_VALUE, "negative M accepted");
    EXPECT(strstr(slm_last_error(), "linear") != NULL, "message: %s", slm_last_error());
    EXPECT(slm_linear_f32(out, inp, w, b, INT64_MAX / 2, 4, 3) != SLM_OK, "overflowing M accepted");
    slm_path q;
    EXPECT(slm_path_parse("cuda", &q) == SLM_ERR_VALUE, "unknown path accepted");

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
