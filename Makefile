# Developer shortcuts. The README's two commands are what users and CI run.
PY ?= python3

.PHONY: build test asan clean bench

build:            ## compile slm._C in place (incremental enough for development)
	$(PY) setup.py -q build_ext --inplace

test: build
	$(PY) -m pytest -q tests

# AddressSanitizer + UndefinedBehaviorSanitizer over the kernel, audio and DSP tests. Python itself is
# not instrumented, so libasan is preloaded and leak checking is off (CPython's
# interned objects would drown real reports).
asan:
	rm -rf build/asan && SLM_SANITIZE=address,undefined $(PY) setup.py -q build_ext --inplace --force --build-temp build/asan
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	SLM_TEST_FAST=1 $(PY) -m pytest -q -x -p no:cacheprovider tests/ops tests/audio tests/features tests/models \
		tests/tokenizers/test_kmeans.py tests/tokenizers/test_units.py tests/codecs
	@$(PY) setup.py -q build_ext --inplace --force > build/restore.log 2>&1

bench: build
	$(PY) -m slm.bench kernels

clean:
	rm -rf build slm/_C*.so

# The C library alone, for use without Python: build/libslm.so from csrc/ minus the
# glue, with the same per-ISA SIMD objects as the extension. `make capi-test` compiles
# tests/c/test_capi.c as plain C99 against csrc/include/slm.h and runs it.
CC ?= cc
LIB_CFLAGS = -std=gnu11 -O2 -fPIC -fopenmp -Icsrc/include -Icsrc -DSLM_BUILD_AVX2=1 -DSLM_BUILD_AVX512=1
HAVE_DNNL := $(shell echo '\#include <oneapi/dnnl/dnnl.h>' | $(CC) -E -x c - >/dev/null 2>&1 && echo 1)
HAVE_SNDFILE := $(shell echo '\#include <sndfile.h>' | $(CC) -E -x c - >/dev/null 2>&1 && echo 1)
LIB_LIBS = -fopenmp -lm $(if $(HAVE_DNNL),-ldnnl) $(if $(HAVE_SNDFILE),-lsndfile)
LIB_CFLAGS += $(if $(HAVE_DNNL),-DSLM_HAVE_DNNL=1) $(if $(HAVE_SNDFILE),-DSLM_HAVE_SNDFILE=1)
LIB_SRC := $(shell find csrc -name '*.c' -not -path 'csrc/py/*' -not -path 'csrc/kernels/simd/*')
SIMD_SRC := $(wildcard csrc/kernels/simd/*.c)
LIB_OBJ := $(patsubst csrc/%.c,build/capi/%.o,$(LIB_SRC)) \
           $(patsubst csrc/kernels/simd/%.c,build/capi/avx2/%.o,$(SIMD_SRC)) \
           $(patsubst csrc/kernels/simd/%.c,build/capi/avx512/%.o,$(SIMD_SRC))

.PHONY: libslm capi-test
libslm: build/libslm.so

build/capi/%.o: csrc/%.c $(wildcard csrc/include/*.h csrc/include/slm/*.h csrc/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@
build/capi/avx2/%.o: csrc/kernels/simd/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -mavx2 -mfma -mf16c -DSLM_SIMD_AVX2 -c $< -o $@
build/capi/avx512/%.o: csrc/kernels/simd/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512dq -mavx512vl -DSLM_SIMD_AVX512 -c $< -o $@
build/libslm.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LIB_LIBS)

capi-test: build/libslm.so
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Icsrc/include tests/c/test_capi.c -o build/test_capi -Lbuild -lslm -Wl,-rpath,$(CURDIR)/build -lm
	./build/test_capi
