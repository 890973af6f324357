"""Profile convforge's side of a benchmark workload with py-spy, and list the hot spots.

Usage::

    .venv/bin/py-spy record --format raw -o lenet.txt -- \\
        .venv/bin/python benchmarks/hotspots.py run lenet --repeats 3
    .venv/bin/python benchmarks/hotspots.py top lenet.txt [--limit 25]

``run`` builds the same workload as the benchmark's convforge side (``side_ours.py``):
``lenet`` (one LeNet-5 epoch, 4,000 random 28x28 images, batch 64), ``resnet18-train`` /
``mobilenet_v2-train`` (one SGD step at batch 8), ``resnet18-infer`` / ``mobilenet_v2-infer``
(batch 8), with random weights; one untimed call first (compilation), then ``--repeats``.
``top`` reads py-spy's raw (collapsed) stacks of the timed calls only (not the setup) and
prints, per function (or per line, ``--lines``), the share of samples in it (self: the
frame running, including the native code it called, e.g. a BLAS product or a Numba kernel)
and under it (total).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

LINE = re.compile(r":\d+\)$")
WORKLOADS = ("lenet", "resnet18-train", "resnet18-infer", "mobilenet_v2-train", "mobilenet_v2-infer")


def build(name: str, workdir: Path):
    import side_ours

    side_ours.init(2)
    weights = workdir / "weights.npz"
    if name == "lenet":
        model = side_ours.cf.models.LeNet5()
        np.savez(weights, **model.state_dict())
        spec = {"what": "lenet", "images": 4000, "batch": 64, "lr": 0.01, "seed": 0, "weights": str(weights)}
    else:
        model_name, mode = name.rsplit("-", 1)
        np.savez(weights, **side_ours._our_model(model_name).state_dict())
        spec = {"what": "model", "model": model_name, "batch": 8, "seed": 0, "weights": str(weights)}
        spec["mode"] = "train" if mode == "train" else "inference"
    return side_ours.build(spec, workdir)


def run(name: str, repeats: int, threads: int) -> None:
    import side_ours

    with tempfile.TemporaryDirectory() as tmp:
        workload = build(name, Path(tmp))
        side_ours.init(threads)
        (workload.prime or workload.call)()
        timed_calls(name, workload, repeats)


def timed_calls(name: str, workload, repeats: int) -> None:
    """The calls ``top`` counts (it keeps only the samples under this function)."""
    for _ in range(repeats):
        start = time.perf_counter()
        workload.call()
        print(f"{name}: {time.perf_counter() - start:.3f} s", file=sys.stderr)


def top(path: Path, limit: int, lines: bool) -> None:
    own: Counter = Counter()
    under: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "timed_calls (" not in stack:  # setup, imports and compilation are not counted
            continue
        frames = stack.split(";")
        if not lines:
            frames = [LINE.sub(")", f) for f in frames]  # per function, not per line
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            under[frame] += n
    print(f"{total} samples; self % | total % | function (file)")
    for frame, n in own.most_common(limit):
        print(f"{100 * n / total:6.1f} | {100 * under[frame] / total:6.1f} | {frame}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run a workload (under py-spy)")
    run_parser.add_argument("workload", choices=WORKLOADS)
    run_parser.add_argument("--repeats", type=int, default=3)
    run_parser.add_argument("--threads", type=int, default=2)
    top_parser = commands.add_parser("top", help="hot spots of a py-spy raw profile")
    top_parser.add_argument("profile", type=Path)
    top_parser.add_argument("--limit", type=int, default=25)
    top_parser.add_argument("--lines", action="store_true", help="per source line, not per function")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.workload, args.repeats, args.threads)
    else:
        top(args.profile, args.limit, args.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
