"""Chunked 2-D filtering on a Dask LocalCluster: convforge.dask against scipy.ndimage.

For each kernel size and worker count, one float32 image of ``--size``² (made on the
workers, chunk by chunk, from a seeded generator, so nothing is shipped from the client)
is filtered with a random kernel, 'same' size, reflect border, by

* ``convforge.dask.conv`` (the algorithm ``auto`` picks; with ``--fft-from K`` also the FFT
  kernel for kernels of K taps per side and more),
* ``scipy.ndimage.correlate`` through ``dask.array.map_overlap`` (mode 'mirror', which is
  torch's reflect),
* ``dask_image.ndfilters.correlate`` when dask-image is importable (it is the same scipy
  call behind its own map_overlap),

and the result is reduced to one number on the workers (``.sum()``), so the client never
holds it. Reported: wall time, Mpixel/s, peak RSS of the busiest worker (sampled every
50 ms from the client, same machine) above its idle RSS, and the 1 -> 2 worker speedup.
Nothing here asserts on time.

    python benchmarks/bench_dask.py                       # 16k x 16k, 31x31 and 3x3
    python benchmarks/bench_dask.py --size 4096 --chunks 1024
    python benchmarks/bench_dask.py --size 16384 --kernels 3,5 --also gemm --repeats 3 --persist
    python benchmarks/bench_dask.py --in-memory --size 4096 --kernels 3,5,7 --also gemm

``--also NAME`` times ``algorithm=NAME`` too (e.g. ``gemm``, the kernel 'auto' ran before
``filter2d``); ``--repeats R`` runs each contender R times in its own block and reports the
minimum (and the median); ``--persist`` makes the image once and keeps it on the workers, so
the time is the filtering alone, not the random numbers. ``--in-memory`` skips Dask: one
plane, ``F.conv2d`` (reflect padding, the pad-first path) against ``scipy.ndimage.correlate``
(mode 'mirror'), each alone in its own block, scipy's block before and after ours.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import threading
import time
from datetime import datetime, timezone

import numpy as np


def machine_facts() -> list[str]:
    import dask
    import distributed
    import psutil
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return [
        f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"cpu: {cpu}, {os.cpu_count()} logical cores, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM",
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"dask {dask.__version__}, distributed {distributed.__version__}",
    ]


class PeakRSS:
    """Samples the resident memory of the worker processes while a block runs."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.idle = [p.memory_info().rss for p in self.processes]
        self.peak = list(self.idle)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for i, process in enumerate(self.processes):
                with contextlib.suppress(Exception):  # a worker that went away
                    self.peak[i] = max(self.peak[i], process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def busiest(self) -> tuple[float, float]:
        """(peak, peak above idle) in MiB of the worker with the highest peak."""
        i = int(np.argmax(self.peak))
        return self.peak[i] / 2**20, (self.peak[i] - self.idle[i]) / 2**20


def _one_thread_per_worker() -> None:
    import convforge as cf

    cf.set_num_threads(1)


def contenders(kernel: np.ndarray, fft: bool, also: tuple[str, ...] = ()):
    """name -> function(image dask array) -> filtered dask array."""
    import scipy.ndimage as ndimage

    import convforge.dask as cfd

    weight = kernel[None, None]
    radius = kernel.shape[0] // 2
    found = {
        "convforge auto": lambda x: cfd.conv(x, weight, padding="same", padding_mode="reflect"),
    }
    for name in (*(("fft",) if fft else ()), *also):
        found[f"convforge {name}"] = lambda x, name=name: cfd.conv(
            x, weight, padding="same", padding_mode="reflect", algorithm=name
        )
    found["scipy map_overlap"] = lambda x: x.map_overlap(
        ndimage.correlate, depth=radius, boundary="none", weights=kernel, mode="mirror", dtype=x.dtype
    )
    try:
        from dask_image import ndfilters
    except ImportError:
        pass
    else:
        found["dask-image"] = lambda x: ndfilters.correlate(x, kernel, mode="mirror")
    return found


def run_one(client, make_image, filter_fn, repeats: int = 1) -> tuple[float, float, float, float]:
    """(min seconds, median seconds, peak MiB, peak MiB above idle) of the busiest worker."""
    pids = list(client.run(os.getpid).values())
    times = []
    with PeakRSS(pids) as rss:
        for _ in range(repeats):
            client.run(lambda: __import__("gc").collect())
            total = filter_fn(make_image()).sum()
            start = time.perf_counter()
            client.compute(total).result()
            times.append(time.perf_counter() - start)
    peak, above = rss.busiest
    return min(times), float(np.median(times)), peak, above


def in_memory(size: int, sides: list[int], also: tuple[str, ...], repeats: int) -> None:
    """One plane in memory: ``F.conv2d`` (auto and ``also``) against ``scipy.ndimage.correlate``."""
    import scipy.ndimage as ndimage

    import convforge as cf
    import convforge.functional as F

    def best(call) -> float:
        call()  # warm up (and compile)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        time.sleep(0.2)  # let the workers of this block go idle before the next one
        return min(times)

    image = np.random.default_rng(0).random((size, size), dtype=np.float32)
    x = cf.tensor(image[None, None])
    print(f"in memory: one {size}x{size} float32 plane, reflect border, best of {repeats}")
    for side in sides:
        kernel = np.random.default_rng(side).random((side, side), dtype=np.float32)
        kernel /= kernel.sum()
        w = cf.tensor(kernel[None, None])
        scipy_before = best(lambda k=kernel: ndimage.correlate(image, k, mode="mirror"))
        ours = {}
        with cf.no_grad():
            for name in ("auto", *also):
                ours[name] = best(
                    lambda n=name, w=w: F.conv2d(x, w, padding="same", padding_mode="reflect", algorithm=n)
                )
        scipy_after = best(lambda k=kernel: ndimage.correlate(image, k, mode="mirror"))
        scipy_time = min(scipy_before, scipy_after)
        figures = "; ".join(f"{n} {t * 1e3:.1f} ms ({scipy_time / t:.2f}x)" for n, t in ours.items())
        print(
            f"  {side}x{side}: scipy {scipy_before * 1e3:.1f} / {scipy_after * 1e3:.1f} ms (before / after); "
            f"convforge {figures}  [ratio = scipy time / ours]",
            flush=True,
        )


def check_agreement(kernel: np.ndarray) -> float:
    """Largest |convforge - scipy| over a 1000x1000 float32 image, relative to the largest output."""
    import dask.array as da
    import scipy.ndimage as ndimage

    import convforge.dask as cfd

    image = np.random.default_rng(1).random((1000, 1000), dtype=np.float32)
    ours = cfd.conv(
        da.from_array(image, chunks=300), kernel[None, None], padding="same", padding_mode="reflect"
    )
    ours = ours.compute(scheduler="threads")
    theirs = ndimage.correlate(image, kernel, mode="mirror")
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=16384, help="image side in pixels (default 16384)")
    parser.add_argument("--chunks", type=int, default=2048, help="chunk side in pixels (default 2048)")
    parser.add_argument("--kernels", default="31,3", help="kernel sides, comma separated (default 31,3)")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma separated (default 1,2)")
    parser.add_argument(
        "--fft-from", type=int, default=15, help="also time algorithm='fft' from this side on"
    )
    parser.add_argument("--also", default="", help="also time these algorithm= names, comma separated")
    parser.add_argument("--repeats", type=int, default=1, help="runs per contender; the minimum is reported")
    parser.add_argument("--persist", action="store_true", help="make the image once, keep it on the workers")
    parser.add_argument("--in-memory", action="store_true", help="one plane in memory, no Dask")
    args = parser.parse_args(argv)
    also = tuple(a for a in args.also.split(",") if a)
    kernels = [int(k) for k in args.kernels.split(",")]
    if args.in_memory:
        print("\n".join(machine_facts()))
        in_memory(args.size, kernels, also, max(args.repeats, 3))
        return

    import dask.array as da
    import distributed

    print("\n".join(machine_facts()))
    print(
        f"image {args.size}x{args.size} float32 ({args.size**2 * 4 / 2**20:.0f} MiB), "
        f"chunks {args.chunks}x{args.chunks}, reflect border, 1 thread per worker (BLAS and cf.set_num_threads too)"
    )
    workers = [int(w) for w in args.workers.split(",")]
    kept: list = []

    def make_image():
        if kept:
            return kept[0]
        rng = da.random.default_rng(0)
        return rng.random((args.size, args.size), chunks=args.chunks, dtype=np.float32)

    rows = []
    for n_workers in workers:
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        with cluster, distributed.Client(cluster) as client:
            # one core per worker: the kernels' own threads (FFT, Numba) follow cf.set_num_threads
            client.run(_one_thread_per_worker)
            kept.clear()
            if args.persist:
                image = client.persist(make_image())
                distributed.wait(image)
                kept.append(image)
            for side in kernels:
                kernel = np.random.default_rng(side).random((side, side), dtype=np.float32)
                kernel /= kernel.sum()
                for name, filter_fn in contenders(kernel, side >= args.fft_from, also).items():
                    # warm up (imports, Numba) on a small image
                    small = filter_fn(
                        da.ones((2 * args.chunks, 2 * args.chunks), chunks=args.chunks, dtype=np.float32)
                    )
                    client.compute(small.sum()).result()
                    seconds, median, peak, above = run_one(client, make_image, filter_fn, args.repeats)
                    rows.append((side, name, n_workers, seconds, peak, above))
                    print(
                        f"  {side}x{side} {name:18s} {n_workers} worker(s): {seconds:8.2f} s "
                        f"(median {median:.2f} of {args.repeats}) "
                        f"{args.size**2 / seconds / 1e6:8.1f} Mpx/s  peak {peak:6.0f} MiB (+{above:.0f})",
                        flush=True,
                    )

    print()
    print(
        "| kernel | implementation | workers | time (s) | Mpixel/s | peak worker RSS (MiB) | above idle (MiB) | speedup 1->2 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    single = {(side, name): seconds for side, name, n, seconds, _, _ in rows if n == 1}
    for side, name, n_workers, seconds, peak, above in rows:
        base = single.get((side, name))
        speedup = f"{base / seconds:.2f}x" if base and n_workers > 1 else ""
        print(
            f"| {side}x{side} | {name} | {n_workers} | {seconds:.2f} | {args.size**2 / seconds / 1e6:.1f} "
            f"| {peak:.0f} | {above:.0f} | {speedup} |"
        )
    for side in kernels:
        kernel = np.random.default_rng(side).random((side, side), dtype=np.float32)
        kernel /= kernel.sum()
        print(
            f"agreement {side}x{side}: max |convforge - scipy| / max |scipy| = {check_agreement(kernel):.1e}"
        )


if __name__ == "__main__":
    main()
