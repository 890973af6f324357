"""Imported ResNet-50 inference: convforge (cf.io.load_onnx) against onnxruntime on the same graph.

Usage::

    .venv/bin/python benchmarks/bench_onnx.py [--threads N] [--batch B] [--repeats R] [--model light_resnet50]

The graph is ONNX's own ``light_resnet50.onnx`` (shipped inside the ``onnx`` package) with its
constant weights replaced by random ones, so both libraries run a real ResNet-50 (25.6 M
parameters, 4.1 GMACs per 224x224 image). Three blocks, never interleaved call by call:
onnxruntime (block A), convforge, onnxruntime again (block B); each block is one warm-up
then ``repeats`` timed calls. Printed: min and median per block, the ratio onnxruntime time /
convforge time (above 1: convforge is faster; onnxruntime's time is the min over both of its
blocks), the A/B control (should read 1.00 +/- 0.05, else the machine was too noisy), the
largest output difference, and the machine. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def randomized(proto, seed: int = 0):
    """``proto`` with each ConstantOfShape weight replaced by a random initializer (N(0, 1/fan_in), U(0.5, 1.5))."""
    import onnx
    from onnx import numpy_helper

    rng = np.random.default_rng(seed)
    shapes = {init.name: numpy_helper.to_array(init) for init in proto.graph.initializer}
    kept, added = [], []
    for node in proto.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            shape = tuple(int(d) for d in shapes[node.input[0]])
            if len(shape) >= 2:
                value = rng.normal(0, 1 / np.sqrt(np.prod(shape[1:])), shape)
            else:
                value = rng.uniform(0.5, 1.5, shape)
            added.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        else:
            kept.append(node)
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    out.graph.initializer.extend(added)
    return out


def timed_block(call, repeats: int) -> list[float]:
    call()  # warm-up: first-call allocation, kernel selection, compilation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def machine_facts(threads: int) -> str:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as file:
            cpu = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (
        f"cpu: {cpu} ({os.cpu_count()} cpus), threads used: {threads}, load average: "
        f"{', '.join(f'{v:.2f}' for v in load)}; python {platform.python_version()}, numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default="light_resnet50", help="a light_*.onnx of the onnx package")
    args = parser.parse_args()

    import onnx
    import onnxruntime as ort

    import convforge as cf

    cf.set_num_threads(args.threads)
    path = os.path.join(
        os.path.dirname(onnx.__file__), "backend", "test", "data", "light", f"{args.model}.onnx"
    )
    proto = randomized(onnx.load(path))
    data = proto.SerializeToString()
    initializers = {init.name for init in proto.graph.initializer}
    name = next(i.name for i in proto.graph.input if i.name not in initializers)
    x = np.random.default_rng(1).normal(size=(args.batch, 3, 224, 224)).astype(np.float32)

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # not the warnings about the now unused weight shapes
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    model = cf.io.load_onnx(data)

    def run_ort():
        return session.run(None, {name: x})[0]

    def run_cf():
        with cf.no_grad():
            return model(x).array

    difference = float(np.abs(run_ort() - run_cf()).max())
    block_a = timed_block(run_ort, args.repeats)
    ours = timed_block(run_cf, args.repeats)
    block_b = timed_block(run_ort, args.repeats)
    theirs = min(min(block_a), min(block_b))
    print(f"{args.model}, batch {args.batch}, 224x224, {args.repeats} timed calls per block")
    for label, times in (("onnxruntime A", block_a), ("convforge", ours), ("onnxruntime B", block_b)):
        print(
            f"  {label:14s} min {min(times) * 1e3:8.1f} ms   median {statistics.median(times) * 1e3:8.1f} ms"
        )
    print(
        f"ratio onnxruntime / convforge (min): {theirs / min(ours):.2f}  (convforge is {min(ours) / theirs:.2f}x slower)"
    )
    print(f"control A/B (min over min): {min(block_a) / min(block_b):.2f}")
    print(f"largest output difference: {difference:.2e}")
    print(machine_facts(args.threads))


if __name__ == "__main__":
    main()
