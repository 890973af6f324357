"""convforge against PyTorch on this CPU: forward, grad input and grad weight of real layers.

Usage::

    .venv/bin/python benchmarks/run.py [--group G ...] [--quick] [--json PATH] [--threads N]

Every case is timed in one process against torch with the same thread count
(``torch.set_num_threads`` = ours), float32, as the median of alternating repeats (ours,
torch, ours, torch, ...) after one warm-up call each (which also compiles the Numba
kernels). Our side runs the kernel that ``algorithm='auto'`` picks (``kernels/select.py``),
called on plain arrays like torch's ``aten`` ops, so autograd bookkeeping is not timed on
either side; the ``train`` group times whole training epochs instead. Reported per call: time,
GFLOP/s (2 x multiply-adds / time), the share of the measured sgemm peak, the ratio
torch_time / our_time (above 1: we are faster) and the peak extra memory of our call
(tracemalloc, measured in a separate untimed call). Geomeans are per group, forward and
backward (grad input + grad weight per case) apart.

The script prints a table and writes everything to a JSON file. It asserts nothing about
time: the targets of issue 5 are compared and reported, not enforced.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402  (benchmarks may import torch; src/ never does)
import torch.nn.functional as TF  # noqa: E402

import convforge as cf  # noqa: E402
from convforge import backend  # noqa: E402
from convforge.kernels import select  # noqa: E402
from convforge.spec import conv_spec, conv_transpose_spec  # noqa: E402

MIB = 1 << 20
DIRECTIONS = ("forward", "grad_input", "grad_weight")
# targets of issue 5, per group: (forward geomean, backward geomean)
TARGETS = {
    "resnet18": 1.0,
    "mobilenet-depthwise": 1.5,
    "mobilenet-pointwise": 1.0,
    "grouped": 1.0,
    "large": 3.0,
    "odd": 1.0,
    "train": 1.0,
}
WORST_ALLOWED = 0.5
SMALL_MACS = 20_000_000  # per sample: below this a layer is "small" and runs at batch 16


# --------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One layer: ``c_in`` -> ``c_out`` channels over ``spatial``, torch's argument meaning."""

    group: str
    name: str
    spatial: tuple[int, ...]
    c_in: int
    c_out: int
    kernel: int | tuple[int, ...]
    stride: int | tuple[int, ...] = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    transposed: bool = False
    quick: bool = False
    subgroup: str = ""

    @property
    def n(self) -> int:
        return len(self.spatial)

    def tup(self, value) -> tuple[int, ...]:
        return (value,) * self.n if isinstance(value, int) else tuple(value)

    def weight_shape(self) -> tuple[int, ...]:
        if self.transposed:  # (C_in, C_out/groups, *k)
            return (self.c_in, self.c_out // self.groups, *self.tup(self.kernel))
        return (self.c_out, self.c_in // self.groups, *self.tup(self.kernel))

    def spec(self, batch: int):
        in_shape = (batch, self.c_in, *self.spatial)
        s, p, d = self.tup(self.stride), self.tup(self.padding), self.tup(self.dilation)
        if self.transposed:
            op = f"conv_transpose{self.n}d"
            return conv_transpose_spec(op, in_shape, self.weight_shape(), self.n, s, p, 0, self.groups, d)
        return conv_spec(f"conv{self.n}d", in_shape, self.weight_shape(), self.n, s, p, d, self.groups)

    def batches(self) -> tuple[int, int]:
        return (1, 16) if self.spec(1).macs < SMALL_MACS else (1, 8)

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"

    @property
    def target_group(self) -> str:
        return self.subgroup or self.group


def _resnet18() -> list[Case]:
    g = "resnet18"
    return [
        Case(g, "stem 7x7/2 3->64 @224", (224, 224), 3, 64, 7, 2, 3),
        Case(g, "3x3 64 @56", (56, 56), 64, 64, 3, 1, 1, quick=True),
        Case(g, "3x3/2 64->128 @56", (56, 56), 64, 128, 3, 2, 1),
        Case(g, "1x1/2 64->128 @56", (56, 56), 64, 128, 1, 2, 0),
        Case(g, "3x3 128 @28", (28, 28), 128, 128, 3, 1, 1),
        Case(g, "3x3/2 128->256 @28", (28, 28), 128, 256, 3, 2, 1),
        Case(g, "1x1/2 128->256 @28", (28, 28), 128, 256, 1, 2, 0),
        Case(g, "3x3 256 @14", (14, 14), 256, 256, 3, 1, 1, quick=True),
        Case(g, "3x3/2 256->512 @14", (14, 14), 256, 512, 3, 2, 1),
        Case(g, "1x1/2 256->512 @14", (14, 14), 256, 512, 1, 2, 0),
        Case(g, "3x3 512 @7", (7, 7), 512, 512, 3, 1, 1),
    ]


def _mobilenet() -> list[Case]:
    g, dw, pw = "mobilenet", "mobilenet-depthwise", "mobilenet-pointwise"
    depthwise = [(32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1)]
    depthwise += [(192, 28, 2), (384, 14, 1), (576, 14, 1), (576, 14, 2), (960, 7, 1)]
    cases = [
        Case(
            g,
            f"dw3x3/{s} {c} @{size}",
            (size, size),
            c,
            c,
            3,
            s,
            1,
            groups=c,
            subgroup=dw,
            quick=(c, s) == (144, 1),
        )
        for c, size, s in depthwise
    ]
    pointwise = [(32, 16, 112), (16, 96, 112), (144, 24, 56), (24, 144, 56), (192, 32, 28)]
    pointwise += [(64, 384, 14), (384, 64, 14), (960, 160, 7), (160, 960, 7), (320, 1280, 7)]
    cases += [
        Case(
            g, f"pw1x1 {ci}->{co} @{size}", (size, size), ci, co, 1, subgroup=pw, quick=(ci, co) == (24, 144)
        )
        for ci, co, size in pointwise
    ]
    return cases


def _grouped() -> list[Case]:
    g = "grouped"
    return [
        Case(g, "resnext 3x3 g32 128 @56", (56, 56), 128, 128, 3, 1, 1, groups=32),
        Case(g, "resnext 3x3/2 g32 256 @56", (56, 56), 256, 256, 3, 2, 1, groups=32),
        Case(g, "resnext 3x3 g32 256 @28", (28, 28), 256, 256, 3, 1, 1, groups=32, quick=True),
        Case(g, "resnext 3x3 g32 512 @14", (14, 14), 512, 512, 3, 1, 1, groups=32),
        Case(g, "resnext 3x3 g32 1024 @7", (7, 7), 1024, 1024, 3, 1, 1, groups=32),
        Case(g, "shufflenet 1x1 g3 240->60 @28", (28, 28), 240, 60, 1, groups=3, quick=True),
        Case(g, "shufflenet 1x1 g3 60->240 @28", (28, 28), 60, 240, 1, groups=3),
        Case(g, "shufflenet 1x1 g3 480->120 @14", (14, 14), 480, 120, 1, groups=3),
        Case(g, "shufflenet 1x1 g3 120->480 @14", (14, 14), 120, 480, 1, groups=3),
        Case(g, "shufflenet 1x1 g8 384->96 @28", (28, 28), 384, 96, 1, groups=8),
    ]


def _large() -> list[Case]:
    g = "large"
    return [
        Case(g, "dw31x31 128 @56", (56, 56), 128, 128, 31, 1, 15, groups=128),
        Case(g, "dw13x13 128 @56", (56, 56), 128, 128, 13, 1, 6, groups=128, quick=True),
        Case(g, "dense 7x7 64 @56", (56, 56), 64, 64, 7, 1, 3),
        Case(g, "dense 11x11 32 @56", (56, 56), 32, 32, 11, 1, 5),
        Case(g, "conv1d k65 16 @16384", (16384,), 16, 16, 65, 1, 32, quick=True),
    ]


def _odd() -> list[Case]:
    g = "odd"
    return [
        Case(g, "dilated 3x3 d2 128 @28", (28, 28), 128, 128, 3, 1, 2, dilation=2, quick=True),
        Case(g, "dilated 3x3 d4 128 @28", (28, 28), 128, 128, 3, 1, 4, dilation=4),
        Case(g, "conv3d 3x3x3 64 @16x28x28", (16, 28, 28), 64, 64, 3, 1, 1),
        Case(g, "convT 4x4/2 512->256 @4", (4, 4), 512, 256, 4, 2, 1, transposed=True),
        Case(g, "convT 4x4/2 256->128 @8", (8, 8), 256, 128, 4, 2, 1, transposed=True, quick=True),
        Case(g, "convT 4x4/2 128->64 @16", (16, 16), 128, 64, 4, 2, 1, transposed=True),
        Case(g, "convT 4x4/2 64->3 @32", (32, 32), 64, 3, 4, 2, 1, transposed=True),
        Case(g, "3x3 stride (2,1) 64 @56", (56, 56), 64, 64, 3, (2, 1), 1),
        Case(g, "lenet conv1 5x5 1->6 @28", (28, 28), 1, 6, 5, 1, 2, quick=True),
        Case(g, "lenet conv2 5x5 6->16 @14", (14, 14), 6, 16, 5),
    ]


GROUPS = {
    "resnet18": _resnet18,
    "mobilenet": _mobilenet,
    "grouped": _grouped,
    "large": _large,
    "odd": _odd,
}
ALL_GROUPS = (*GROUPS, "train")


# --------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------
@dataclass
class Timing:
    ours: float
    torch: float
    repeats: int


def time_pair(ours, theirs, *, min_repeats: int, max_repeats: int, budget: float) -> Timing:
    """Median seconds of ``ours()`` and ``theirs()``, alternated so load hits both alike."""
    ours()  # warm-up: compile, allocate, fill caches
    theirs()
    ours_times, torch_times = [], []
    started = time.perf_counter()
    while len(ours_times) < max_repeats:
        t0 = time.perf_counter()
        ours()
        t1 = time.perf_counter()
        theirs()
        t2 = time.perf_counter()
        ours_times.append(t1 - t0)
        torch_times.append(t2 - t1)
        if len(ours_times) >= min_repeats and time.perf_counter() - started > budget:
            break
    return Timing(statistics.median(ours_times), statistics.median(torch_times), len(ours_times))


def peak_extra_memory(call) -> int:
    """Bytes allocated at the peak of ``call()`` beyond what was allocated before (its result
    included)."""
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


def sgemm_gflops(repeats: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    b = rng.standard_normal((1024, 1024), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * 1024**3 / statistics.median(times) / 1e9


# --------------------------------------------------------------------------------------
# one case
# --------------------------------------------------------------------------------------
def _calls(case: Case, batch: int, rng):
    """({direction: our call}, {direction: torch call}, spec, {direction: output bytes})."""
    spec = case.spec(batch)
    kernel = select.kernel_for(spec)
    w = rng.standard_normal(case.weight_shape(), dtype=np.float32)
    s, p, d = list(case.tup(case.stride)), list(case.tup(case.padding)), list(case.tup(case.dilation))
    zeros = [0] * case.n
    backward = torch.ops.aten.convolution_backward
    if case.transposed:
        # ours: the transposed op's forward is grad_input of the matching convolution
        x = rng.standard_normal(spec.out_shape, dtype=np.float32)  # (N, C_in of convT, *in)
        gy = rng.standard_normal(spec.in_shape, dtype=np.float32)
        ours = {
            "forward": lambda: kernel.grad_input(x, w, spec, spec.in_shape),
            "grad_input": lambda: kernel.forward(gy, w, spec),
            "grad_weight": lambda: kernel.grad_weight(gy, x, spec, w.shape),
        }
        conv = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}[case.n]
        out_bytes = {"forward": gy.nbytes, "grad_input": x.nbytes, "grad_weight": w.nbytes}
    else:
        x = rng.standard_normal(spec.in_shape, dtype=np.float32)
        gy = rng.standard_normal(spec.out_shape, dtype=np.float32)
        ours = {
            "forward": lambda: kernel.forward(x, w, spec),
            "grad_input": lambda: kernel.grad_input(gy, w, spec, x.shape),
            "grad_weight": lambda: kernel.grad_weight(x, gy, spec, w.shape),
        }
        conv = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[case.n]
        out_bytes = {"forward": gy.nbytes, "grad_input": x.nbytes, "grad_weight": w.nbytes}
    xt, wt, gyt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(gy)
    if case.transposed:

        def torch_forward():
            return conv(xt, wt, None, s, p, zeros, case.groups, d)
    else:

        def torch_forward():
            return conv(xt, wt, None, s, p, d, case.groups)

    def torch_backward(mask):
        return lambda: backward(gyt, xt, wt, None, s, p, d, case.transposed, zeros, case.groups, mask)

    theirs = {
        "forward": torch_forward,
        "grad_input": torch_backward([True, False, False]),
        "grad_weight": torch_backward([False, True, False]),
    }
    algorithms = dict(zip(DIRECTIONS, kernel.names))
    return ours, theirs, spec, out_bytes, algorithms


def run_case(case: Case, batch: int, settings: dict, rng) -> list[dict]:
    ours, theirs, spec, out_bytes, algorithms = _calls(case, batch, rng)
    flops = 2 * spec.macs
    rows = []
    for direction in DIRECTIONS:
        with torch.no_grad():
            timing = time_pair(
                ours[direction],
                theirs[direction],
                min_repeats=settings["min_repeats"],
                max_repeats=settings["max_repeats"],
                budget=settings["budget"],
            )
        extra = peak_extra_memory(ours[direction])
        limit = max(64 * MIB, out_bytes[direction]) + cf.backends.workspace_limit
        gflops = flops / timing.ours / 1e9
        rows.append(
            {
                "group": case.group,
                "target_group": case.target_group,
                "case": case.name,
                "batch": batch,
                "direction": direction,
                "algorithm": algorithms[direction],
                "ours_ms": timing.ours * 1e3,
                "torch_ms": timing.torch * 1e3,
                "repeats": timing.repeats,
                "gflops": gflops,
                "torch_gflops": flops / timing.torch / 1e9,
                "pct_sgemm": 100 * gflops / settings["sgemm_gflops"],
                "ratio": timing.torch / timing.ours,
                "peak_extra_mib": extra / MIB,
                "memory_limit_mib": limit / MIB,
                "memory_ok": extra <= limit,
            }
        )
    return rows


# --------------------------------------------------------------------------------------
# the train group: one epoch of `convforge train`'s default LeNet, and the same in torch
# --------------------------------------------------------------------------------------
def _torch_lenet(model):
    """The convforge LeNet5 rebuilt in torch with the same weights."""
    layers = []
    for module in [*model.features, *model.classifier]:
        kind = type(module).__name__
        if kind == "Conv2d":
            layer = torch.nn.Conv2d(
                module.in_channels, module.out_channels, module.kernel_size, padding=module.padding
            )
        elif kind == "Linear":
            layer = torch.nn.Linear(module.in_features, module.out_features)
        elif kind == "MaxPool2d":
            layers.append(torch.nn.MaxPool2d(module.kernel_size))
            continue
        elif kind in ("ReLU", "Flatten"):
            layers.append(getattr(torch.nn, kind)())
            continue
        else:
            raise TypeError(f"train benchmark: no torch equivalent for {kind}")
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(module.weight.data))
            layer.bias.copy_(torch.from_numpy(module.bias.data))
        layers.append(layer)
    return torch.nn.Sequential(*layers)


def run_train(settings: dict) -> list[dict]:
    """Seconds per training epoch, as `convforge train` runs it (defaults), and in torch."""
    from convforge import cli
    from convforge.data import DataLoader, TensorDataset

    cf.manual_seed(0)
    train_x, train_y, *_ = cli._load_dataset(None, cli.DIGITS_UPSCALE)
    mean, std = float(train_x.mean()), float(train_x.std()) or 1.0
    train_x = cli._standardize(train_x, mean, std)
    model = cli._build_model("lenet", train_x.shape[1], train_x.shape[-1], int(train_y.max()) + 1)
    optimizer = cli._make_optimizer("sgd", model.parameters(), 0.05)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True, seed=0)
    batches = list(loader)  # the same batches, in the same order, for both
    torch_model = _torch_lenet(model)
    torch_optimizer = torch.optim.SGD(torch_model.parameters(), lr=0.05, momentum=0.9)
    torch_loss = torch.nn.CrossEntropyLoss()
    loss_fn = cf.nn.CrossEntropyLoss()
    torch_batches = [(torch.from_numpy(x.data), torch.from_numpy(y.data).long()) for x, y in batches]

    def ours_epoch():  # the loop body of convforge.train.fit
        model.train()
        for images, labels in batches:
            loss = loss_fn(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def torch_epoch():
        torch_model.train()
        for images, labels in torch_batches:
            loss = torch_loss(torch_model(images), labels)
            torch_optimizer.zero_grad()
            loss.backward()
            torch_optimizer.step()

    timing = time_pair(
        ours_epoch,
        torch_epoch,
        min_repeats=settings["train_repeats"],
        max_repeats=settings["train_repeats"],
        budget=0,
    )
    steps, samples = len(batches), sum(len(y) for _, y in batches)
    return [
        {
            "group": "train",
            "target_group": "train",
            "case": f"lenet epoch ({steps} steps, {samples} digits 16x16, batch 32)",
            "batch": 32,
            "direction": "epoch",
            "algorithm": "auto",
            "ours_ms": timing.ours * 1e3,
            "torch_ms": timing.torch * 1e3,
            "repeats": timing.repeats,
            "ratio": timing.torch / timing.ours,
        }
    ]


# --------------------------------------------------------------------------------------
# machine facts, summary, output
# --------------------------------------------------------------------------------------
def machine_facts(threads: int) -> dict:
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS so threadpoolctl lists it)

    try:
        from threadpoolctl import threadpool_info

        blas = [
            {k: info.get(k) for k in ("internal_api", "architecture", "version", "num_threads", "filepath")}
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        ]
    except ImportError:
        blas = []
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor()
    )
    flags = next((ln for ln in lines if ln.startswith("flags")), "")
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "avx512f": " avx512f" in flags,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "convforge": getattr(cf, "__version__", "?"),
        "blas": blas,
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "NUMBA_"))},
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "workspace_limit_mib": cf.backends.workspace_limit / MIB,
    }


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def summarize(rows: list[dict]) -> dict:
    """Geomean ratio per target group: forward, and backward (grad input + grad weight)."""
    by_key: dict = {}
    for row in rows:
        by_key.setdefault((row["target_group"], row["case"], row["batch"]), {})[row["direction"]] = row
    summary: dict = {}
    for (group, _, _), rows_of_case in by_key.items():
        entry = summary.setdefault(group, {"forward": [], "backward": []})
        if "epoch" in rows_of_case:
            entry["forward"].append(rows_of_case["epoch"]["ratio"])
            continue
        entry["forward"].append(rows_of_case["forward"]["ratio"])
        gi, gw = rows_of_case["grad_input"], rows_of_case["grad_weight"]
        entry["backward"].append((gi["torch_ms"] + gw["torch_ms"]) / (gi["ours_ms"] + gw["ours_ms"]))
    result = {}
    for group, entry in summary.items():
        target = TARGETS.get(group, 1.0)
        fwd, bwd = geomean(entry["forward"]), geomean(entry["backward"]) if entry["backward"] else None
        result[group] = {
            "forward": fwd,
            "backward": bwd,
            "target": target,
            "cases": len(entry["forward"]),
            "met": fwd >= target and (bwd is None or bwd >= target),
        }
    return result


def print_row(row: dict) -> None:
    if row["direction"] == "epoch":
        print(
            f"{row['group']:<10} {row['case'][:38]:<38} {row['batch']:>3} {'epoch':<11} {'auto':<11} "
            f"{row['ours_ms']:>9.1f} {row['torch_ms']:>9.1f} {'':>7} {'':>6} {row['ratio']:>6.2f}x",
            flush=True,
        )
        return
    flag = "" if row["memory_ok"] else " MEM!"
    print(
        f"{row['group']:<10} {row['case'][:38]:<38} {row['batch']:>3} {row['direction']:<11} "
        f"{row['algorithm']:<11} {row['ours_ms']:>9.2f} {row['torch_ms']:>9.2f} {row['gflops']:>7.1f} "
        f"{row['pct_sgemm']:>5.1f}% {row['ratio']:>6.2f}x {row['peak_extra_mib']:>7.1f}{flag}",
        flush=True,
    )


HEADER = (
    f"{'group':<10} {'case':<38} {'N':>3} {'direction':<11} {'algorithm':<11} {'ours ms':>9} "
    f"{'torch ms':>9} {'GFLOP/s':>7} {'%sgemm':>6} {'ratio':>7} {'peakMiB':>7}"
)


def print_summary(summary: dict, rows: list[dict]) -> None:
    print("\ngeomean ratio torch_time / our_time (above 1: convforge is faster)")
    print(f"{'group':<22} {'forward':>8} {'backward':>9} {'target':>7}  met")
    for group, entry in summary.items():
        bwd = "-" if entry["backward"] is None else f"{entry['backward']:.2f}x"
        print(
            f"{group:<22} {entry['forward']:>7.2f}x {bwd:>9} {entry['target']:>6.1f}x  "
            f"{'yes' if entry['met'] else 'NO'}"
        )
    worst = sorted((r for r in rows if r["ratio"] < WORST_ALLOWED), key=lambda r: r["ratio"])
    print(f"\ncases below {WORST_ALLOWED}x torch: {len(worst)}")
    for r in worst:
        print(
            f"  {r['group']}/{r['case']} N={r['batch']} {r['direction']} ({r['algorithm']}): {r['ratio']:.2f}x"
        )
    over = [r for r in rows if r.get("memory_ok") is False]
    print(f"calls over the memory limit: {len(over)}")
    for r in over:
        print(f"  {r['group']}/{r['case']} N={r['batch']} {r['direction']}: {r['peak_extra_mib']:.0f} MiB")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--group", action="append", choices=ALL_GROUPS, help="run only these groups (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="a small subset with few repeats (development)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the results here (default: none)")
    parser.add_argument(
        "--threads", type=int, default=backend.get_num_threads(), help="threads for both sides (default: all)"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads < 1:
        raise SystemExit(f"--threads must be positive, but got {args.threads}")
    cf.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    groups = args.group or list(ALL_GROUPS)
    settings = {
        "min_repeats": 2 if args.quick else 3,
        "max_repeats": 3 if args.quick else 25,
        "budget": 0.0 if args.quick else 0.6,
        "train_repeats": 1 if args.quick else 3,
    }
    load_start = os.getloadavg()
    settings["sgemm_gflops"] = sgemm_gflops(5 if args.quick else 20)
    facts = machine_facts(args.threads)
    print(f"convforge benchmark, {facts['date_utc']}")
    print(
        f"cpu: {facts['cpu']} ({facts['cpu_count']} cpus, avx512f={facts['avx512f']}), threads={args.threads}"
    )
    for blas in facts["blas"]:
        print(
            f"blas: {blas['internal_api']} {blas['version']} core={blas['architecture']} ({blas['filepath']})"
        )
    print(f"OPENBLAS_CORETYPE={facts['OPENBLAS_CORETYPE']} OPENBLAS_L2_SIZE={facts['OPENBLAS_L2_SIZE']}")
    print(f"numpy {facts['numpy']}, torch {facts['torch']}, python {facts['python']}")
    print(f"sgemm 1024^3: {settings['sgemm_gflops']:.0f} GFLOP/s; load average at start: {load_start}")
    print(f"mode: {'quick' if args.quick else 'full'}; groups: {', '.join(groups)}\n")
    print(HEADER)
    rng = np.random.default_rng(0)
    rows: list[dict] = []
    started = time.perf_counter()
    for group in groups:
        if group == "train":
            new = run_train(settings)
            rows += new
            for row in new:
                print_row(row)
            continue
        for case in GROUPS[group]():
            if args.quick and not case.quick:
                continue
            for batch in case.batches():
                for row in run_case(case, batch, settings, rng):
                    rows.append(row)
                    print_row(row)
    load_end = os.getloadavg()
    summary = summarize(rows)
    print_summary(summary, rows)
    elapsed = time.perf_counter() - started
    print(f"\nload average at end: {load_end}; wall time {elapsed:.0f} s")
    if args.json:
        report = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": facts,
            "settings": settings,
            "load_average_start": load_start,
            "load_average_end": load_end,
            "seconds": elapsed,
            "summary": summary,
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
