# Developer shortcuts. The README's two commands are what users and CI run.
PY ?= python3

.PHONY: build test asan clean bench

build:            ## compile slm._C in place (incremental enough for development)
	$(PY) setup.py -q build_ext --inplace

test: build
	$(PY) -m pytest -q tests

# AddressSanitizer + UndefinedBehaviorSanitizer over the kernel tests. Python itself is
# not instrumented, so libasan is preloaded and leak checking is off (CPython's
# interned objects would drown real reports).
asan:
	rm -rf build/asan && SLM_SANITIZE=address,undefined $(PY) setup.py -q build_ext --inplace --force --build-temp build/asan
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	SLM_TEST_FAST=1 $(PY) -m pytest -q -x -p no:cacheprovider tests/ops
	@$(PY) setup.py -q build_ext --inplace --force > build/restore.log 2>&1

bench: build
	$(PY) -m slm.bench kernels

clean:
	rm -rf build slm/_C*.so
