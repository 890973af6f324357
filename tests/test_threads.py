"""Convforge stays callable from several Python threads at once, with exact results.

Every compiled parallel kernel (depthwise, direct, Winograd F(2,3)/F(4,3) and the pooling
loops' parallel path, forward and both gradients) is run first on one thread, then from four
Python threads at the same time; each thread's results must equal the first ones bit for
bit. The calls run in a subprocess: a threading layer that is not thread-safe (Numba's
``workqueue``) aborts the whole process, which must fail this test rather than kill pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import threading
    import numpy as np
    import convforge as cf
    import convforge.functional as F

    rng = np.random.default_rng(0)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    # (name, input, weight, keyword arguments): each runs forward and both gradients
    CONVS = [
        ("depthwise", arr(2, 32, 20, 20), arr(32, 1, 3, 3), {"padding": 1, "groups": 32}),
        ("depthwise", arr(2, 32, 21, 21), arr(32, 1, 3, 3), {"stride": 2, "padding": 1, "groups": 32}),
        ("direct", arr(4, 1, 28, 28), arr(6, 1, 5, 5), {"padding": 2}),
        ("direct", arr(4, 6, 14, 14), arr(16, 6, 5, 5), {}),
        ("winograd_f2", arr(2, 16, 12, 12), arr(16, 16, 3, 3), {"padding": 1}),
        ("winograd_f4", arr(2, 16, 12, 12), arr(16, 16, 3, 3), {"padding": 1}),
    ]
    POOL_INPUT = arr(2, 8, 180, 190)  # past pool_loops.PARALLEL_CELLS: the parallel path

    def conv_results(name, x, w, kwargs):
        xt, wt = cf.tensor(x, requires_grad=True), cf.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, algorithm=name, **kwargs)
        y.backward(np.ones(y.shape, dtype=np.float32))
        return [np.asarray(y), np.asarray(xt.grad), np.asarray(wt.grad)]

    def pool_results():
        out = []
        for pool, kwargs in ((F.max_pool2d, {"return_indices": True}), (F.avg_pool2d, {"ceil_mode": True})):
            xt = cf.tensor(POOL_INPUT, requires_grad=True)
            y = pool(xt, 3, 2, 1, **kwargs)
            if isinstance(y, tuple):
                y, indices = y
                out.append(np.asarray(indices))
            y.backward(np.ones(y.shape, dtype=np.float32))
            out += [np.asarray(y), np.asarray(xt.grad)]
        return out

    def everything():
        results = [r for case in CONVS for r in conv_results(*case)]
        return results + pool_results()

    expected = everything()
    failures = []

    def worker():
        try:
            for _ in range(3):
                got = everything()
                if not all(np.array_equal(a, b) for a, b in zip(got, expected)):
                    failures.append("a result differed from the single-thread run")
        except BaseException as error:  # a failure in a thread must reach the main thread
            failures.append(repr(error))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    import numba
    print("layer", numba.threading_layer())
    print("FAIL" if failures else "OK", failures[:3])
    """
)


def run_script(env_updates: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for key, value in env_updates.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )


def test_four_python_threads_calling_every_parallel_kernel_get_exact_results():
    result = run_script({"NUMBA_THREADING_LAYER": None})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "OK" in result.stdout, result.stdout + result.stderr[-2000:]


def test_the_default_threading_layer_is_tbb_when_the_tbb_package_is_installed():
    pytest.importorskip("numba")
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("tbb")
    except PackageNotFoundError:
        pytest.skip("the tbb package is not installed (it is a dependency on x86-64 only)")
    result = run_script({"NUMBA_THREADING_LAYER": None})
    assert "layer tbb" in result.stdout, result.stdout + result.stderr[-2000:]


def test_a_threading_layer_the_user_chose_is_kept():
    result = run_script({"NUMBA_THREADING_LAYER": "omp"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "layer omp" in result.stdout and "OK" in result.stdout, result.stdout


def test_set_num_threads_before_any_kernel_still_selects_tbb():
    # numba.set_num_threads starts Numba's threads, fixing the layer: convforge must choose first
    pytest.importorskip("numba")
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("tbb")
    except PackageNotFoundError:
        pytest.skip("the tbb package is not installed (it is a dependency on x86-64 only)")
    code = "import convforge as cf, numba; cf.set_num_threads(2); print('layer', numba.threading_layer())"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert "layer tbb" in result.stdout, result.stdout + result.stderr[-2000:]
