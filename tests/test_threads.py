"""Threads and interruption: the GIL is released around compute, concurrent calls give
the sequential results, and Ctrl-C stops a long call."""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import slm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _calls():
    """(name, zero-argument call), one or more per op family."""
    r = np.random.default_rng(7)
    f = lambda *s: r.standard_normal(s).astype(np.float32)  # noqa: E731
    x2, w2 = f(64, 96), f(80, 96)
    x3, wc, wt = f(2, 16, 300), f(24, 16, 5), f(16, 8, 4)
    q, k, v = f(1, 4, 50, 32), f(1, 4, 60, 32), f(1, 4, 60, 32)
    idx = r.integers(0, 80, size=(40,))
    cands = [
        ("linear", lambda: slm.ops.linear(x2, w2)),
        ("matmul", lambda: slm.ops.matmul(x2, w2.T)),
        ("conv1d", lambda: slm.ops.conv1d(x3, wc, padding=2)),
        ("conv_transpose1d", lambda: slm.ops.conv_transpose1d(x3, wt, stride=2)),
        ("layer_norm", lambda: slm.ops.layer_norm(x2, (96,))),
        ("gelu", lambda: slm.ops.gelu(x3)),
        ("softmax", lambda: slm.ops.softmax(x2, dim=-1)),
        ("scaled_dot_product_attention", lambda: slm.ops.scaled_dot_product_attention(q, k, v)),
        ("nearest_codeword", lambda: slm.ops.nearest_codeword(x2, w2)),
        ("embedding", lambda: slm.ops.embedding(idx, w2)),
    ]
    return cands


def test_concurrent_calls_equal_sequential():
    calls = _calls()
    assert calls, "no ops"
    expected = {n: c() for n, c in calls}
    errors, results = [], {}

    def worker(tid):
        try:
            for _ in range(5):
                for n, c in calls:
                    results.setdefault((tid, n), []).append(c())
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    for (tid, n), outs in results.items():
        for o in outs:
            np.testing.assert_array_equal(o, expected[n], err_msg=f"{n} in thread {tid}")


def _long_call():
    """A call that takes about a second or more on the reference path."""
    x = np.ones((1100, 1100), np.float32)
    return lambda: slm.ops.linear(x, x)


def test_gil_is_released_during_compute():
    slm.set_backend("ref")  # slowest path: a long call from a small input
    try:
        call = _long_call()
        inside = threading.Event()
        done = threading.Event()
        span = {}

        def worker():
            inside.set()
            t0 = time.perf_counter()
            call()
            span["op"] = (t0, time.perf_counter())
            done.set()

        seen = []
        t = threading.Thread(target=worker)
        t.start()
        inside.wait()
        while not done.is_set():
            seen.append(time.perf_counter())  # runs only if the worker does not hold the GIL
        t.join()
        t0, t1 = span["op"]
        during = [s for s in seen if t0 <= s <= t1]
        assert t1 - t0 > 0.2, "the call was too short to tell"
        # with the GIL held, this thread would get at most a few 5 ms switch intervals
        covered = (max(during) - min(during)) if len(during) > 1 else 0.0
        assert covered > 0.8 * (t1 - t0), f"main thread ran {covered:.3f} s of a {t1 - t0:.3f} s call"
    finally:
        slm.set_backend("auto")


CTRL_C_SCRIPT = r"""
import sys, time, numpy as np, slm
slm.set_backend(sys.argv[1])
n = int(sys.argv[2])
x = np.ones((n, n), np.float32)
print("start", flush=True)
t0 = time.time()
try:
    slm.ops.linear(x, x)
except KeyboardInterrupt:
    print("interrupted %.2f" % (time.time() - t0), flush=True)
    # the op still works afterwards
    y = slm.ops.linear(np.ones((2, 3), np.float32), np.ones((4, 3), np.float32))
    assert float(y.sum()) == 24.0
    sys.exit(0)
print("finished %.2f" % (time.time() - t0), flush=True)
sys.exit(1)
"""


@pytest.mark.parametrize("backend,n", [("ref", 3000), ("auto", 7000)])
def test_ctrl_c_interrupts_a_long_call(backend, n):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT, backend, str(n)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "start"
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, f"rc={p.returncode} out={out!r} err={err[-2000:]!r}"
    assert out.startswith("interrupted")
    assert float(out.split()[1]) < 5.0, out
