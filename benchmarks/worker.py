"""One side of the fair benchmark (torch or convforge), alone in its own process.

Usage (the driver ``run.py`` starts it; by hand only for debugging)::

    .venv/bin/python benchmarks/worker.py --side ours --threads 2 < jobs.jsonl

It reads one JSON job per line on stdin and answers one JSON line on stdout. A job builds a
workload (a layer call, a model, a training epoch) through the side's public API, or reuses
the one it built for the previous job with the same ``build`` description (torch's block B
reuses block A's tensors), and times one block of calls: an untimed first call whose
outputs may be saved for the driver's equality check, the rest of the warm-up, then the
repeats. The convforge side also measures the peak extra memory of one more, untimed call.
Anything the side's code prints goes to stderr, so stdout carries only the answers.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
import time
import traceback
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import Layer  # noqa: E402


@dataclass
class Workload:
    """What a block times: ``call()``; ``prime()`` is the first call and returns the arrays to
    check (default: ``call``'s own result); ``memory_limit`` (bytes) is the bound the peak
    extra memory of one call is checked against (convforge side only)."""

    call: Callable[[], object]
    prime: Callable[[], object] | None = None
    memory_limit: int | None = None
    info: dict = field(default_factory=dict)


def layer_arrays(layer: Layer, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input, weight, output gradient) of a layer case, the same on both sides."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(layer.input_shape(batch), dtype=np.float32)
    w = rng.standard_normal(layer.weight_shape(), dtype=np.float32)
    w *= np.float32(1.0 / np.sqrt(w[0].size))  # unit-scale outputs, as an initialised layer gives
    gy = rng.standard_normal(layer.output_shape(batch), dtype=np.float32)
    return x, w, gy


def image_batch(shape: tuple[int, ...], classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random images and integer labels (int64, as torch's cross-entropy wants)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape, dtype=np.float32), rng.integers(0, classes, shape[0]).astype(np.int64)


def _as_arrays(outputs) -> dict[str, np.ndarray]:
    if outputs is None:
        return {}
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    return {"output": np.asarray(outputs)}


def peak_extra_memory(call: Callable[[], object]) -> int:
    """Bytes allocated at the peak of ``call()`` beyond what was allocated before it (its
    result included). NumPy reports its buffers to tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def time_block(workload: Workload, job: dict) -> dict:
    """Warm-up, then repeats until ``min_repeats`` and ``budget`` seconds (at most
    ``max_repeats``); seconds per call, and optionally the checked outputs and memory."""
    outputs = (workload.prime or workload.call)()
    if job.get("check"):
        np.savez(job["check"], **_as_arrays(outputs))
    del outputs
    for _ in range(job["warmup"] - 1):
        workload.call()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < job["max_repeats"]:
        t0 = time.perf_counter()
        workload.call()
        times.append(time.perf_counter() - t0)
        if len(times) >= job["min_repeats"] and time.perf_counter() - started >= job["budget"]:
            break
    result = {"times": times, "info": workload.info}
    if job.get("memory") and workload.memory_limit is not None:
        result["peak_extra"] = peak_extra_memory(workload.call)
        result["memory_limit"] = workload.memory_limit
    return result


class Runner:
    """Dispatches jobs to a side module, keeping the last workload for the next block."""

    def __init__(self, side, workdir: Path) -> None:
        self.side, self.workdir = side, workdir
        self.key: str | None = None
        self.workload: Workload | None = None

    def handle(self, job: dict) -> dict:
        kind = job["kind"]
        if kind == "facts":
            return self.side.facts()
        if kind == "setup":
            return self.side.setup(job["build"], self.workdir)
        if kind != "time":
            raise ValueError(f"worker: unknown job kind {kind!r}")
        key = json.dumps(job["build"], sort_keys=True)
        if key != self.key:
            self.key = self.workload = None
            gc.collect()
            self.workload = self.side.build(job["build"], self.workdir)
            self.key = key
        return time_block(self.workload, job)


def load_side(name: str, threads: int):
    """Import ``side_torch`` or ``side_ours`` and set its thread count."""
    side = importlib.import_module(f"side_{name}")
    side.init(threads)
    return side


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="one side of the fair benchmark")
    parser.add_argument("--side", choices=("torch", "ours"), required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args(argv)
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # prints of the library under test must not corrupt the answers
    sys.stdout = sys.stderr
    runner = Runner(load_side(args.side, args.threads), args.workdir)
    for line in sys.stdin:
        job = json.loads(line)
        try:
            answer = runner.handle(job)
        except Exception:  # noqa: BLE001 - reported to the driver, which stops the run
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
