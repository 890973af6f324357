"""The fair benchmark: convforge against PyTorch 2.13 through the public API, each library alone.

Usage::

    .venv/bin/python benchmarks/run.py [--quick] [--level L ...] [--group G ...] [--threads N]
                                       [--json PATH] [--lenet-images N] [--isolation process|inprocess]

Three levels: ``layers`` (``F.conv*`` forward under ``no_grad``, and forward+backward through
autograd), ``models`` (ResNet-18 and MobileNetV2 inference at batch 1 and 8, one SGD step at
batch 8, with torch's weights) and ``training`` (a LeNet-5 epoch on random 28x28 images, and
``convforge train``'s own epoch, each against the same model and loop in torch).

Every measurement is three blocks of calls, never interleaved call by call: torch (block A),
convforge, torch again (block B). Each block is a warm-up, then repeats; min and median are
reported, ratio = torch time / our time (above 1: convforge is faster), with torch's time
taken over both of its blocks. The control A/B (min over min) must read 1.00 +/- 0.05;
outside that the measurement is flagged as too noisy to keep. By default each library runs
in its own worker process (``worker.py``), so the idle thread pools of one (OpenBLAS, Numba,
OpenMP) cannot spin on the cores the other is using; ``--isolation inprocess`` runs both in
this process, to measure what that costs. Outputs are checked equal (max difference printed).
Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cases  # noqa: E402
from cases import Layer  # noqa: E402

LEVELS = ("layers", "models", "training")
FILTER_NOTE = (
    "image filtering (cf.dask.filter / convforge filter vs scipy.ndimage.correlate, 3x3 and 5x5): "
    "measured by benchmarks/bench_dask.py (RESULTS_DASK.md), not here"
)
MIB = 1 << 20


# --------------------------------------------------------------------------------------
# the two sides: a worker process each, or both in this process
# --------------------------------------------------------------------------------------
class ProcessSide:
    """A ``worker.py`` process running one library; jobs go in and answers come out as JSON lines.
    A worker that dies (a crash in compiled code) is restarted, and its job reported as an error."""

    def __init__(self, name: str, threads: int, workdir: Path) -> None:
        self.command = [sys.executable, str(HERE / "worker.py"), "--side", name]
        self.command += ["--threads", str(threads), "--workdir", str(workdir)]
        self.name = name
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, job: dict) -> dict:
        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if line:
            return json.loads(line)
        status = self.process.wait()
        self.process = self._start()
        return {"error": f"WorkerDied: the {self.name} worker exited with status {status}; restarted"}

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


class LocalSide:
    """The same jobs, run in this process (``--isolation inprocess``)."""

    def __init__(self, name: str, threads: int, workdir: Path) -> None:
        import worker

        self.name = name
        self.runner = worker.Runner(worker.load_side(name, threads), workdir)

    def run(self, job: dict) -> dict:
        import traceback

        try:
            return self.runner.handle(job)
        except Exception:  # noqa: BLE001 - reported like a worker's error
            return {"error": traceback.format_exc()}

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------
# one measurement: torch block A, our block, torch block B
# --------------------------------------------------------------------------------------
def compare(torch_file: Path, ours_file: Path) -> dict:
    """Largest |ours - torch| over the checked outputs, and relative to the largest |torch|."""
    ref, ours = np.load(torch_file), np.load(ours_file)
    worst_abs, worst_rel = 0.0, 0.0
    for key in ref.files:
        a, b = ref[key].astype(np.float64), ours[key].astype(np.float64)
        if a.shape != b.shape:
            return {"max_abs": math.inf, "max_rel": math.inf, "note": f"{key}: shape {b.shape} != {a.shape}"}
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        scale = float(np.max(np.abs(a))) if a.size else 1.0
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(scale, 1e-30))
    return {"max_abs": worst_abs, "max_rel": worst_rel}


def error_line(trace: str) -> str:
    """The exception line of a traceback (Numba's end with context lines, not the error)."""
    lines = trace.strip().splitlines()
    errors = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b", ln)]
    return (errors[-1] if errors else lines[-1])[:300]


def measure(sides: dict, build: dict, timing: dict, settle: float, checkdir: Path, tag: str) -> dict:
    """Times one workload in three blocks and returns the row's timing fields."""
    files = {name: checkdir / f"{tag}-{name}.npz" for name in ("torch", "ours")}
    job = {"kind": "time", "build": build, **timing}
    answers = {}
    for block, side, extra in (
        ("torch_a", "torch", {"check": str(files["torch"])}),
        ("ours", "ours", {"check": str(files["ours"]), "memory": True}),
        ("torch_b", "torch", {}),
    ):
        answers[block] = sides[side].run({**job, **extra})
        if "error" in answers[block]:
            return {"error": f"{block}: {error_line(answers[block]['error'])}"}
        time.sleep(settle)  # let the pool that just ran go idle before the other library starts
    a, b, ours = answers["torch_a"]["times"], answers["torch_b"]["times"], answers["ours"]["times"]
    theirs = a + b
    row = {
        "torch_min_ms": 1e3 * min(theirs),
        "torch_median_ms": 1e3 * statistics.median(theirs),
        "ours_min_ms": 1e3 * min(ours),
        "ours_median_ms": 1e3 * statistics.median(ours),
        "torch_a_min_ms": 1e3 * min(a),
        "torch_b_min_ms": 1e3 * min(b),
        "repeats": [len(a), len(ours), len(b)],
        "control": min(a) / min(b),
        "info": answers["ours"].get("info", {}),
    }
    row["ratio_min"] = row["torch_min_ms"] / row["ours_min_ms"]
    row["ratio_median"] = row["torch_median_ms"] / row["ours_median_ms"]
    row["noisy"] = abs(row["control"] - 1.0) > cases.CONTROL_TOLERANCE
    row["check"] = compare(files["torch"], files["ours"])
    if "peak_extra" in answers["ours"]:
        row["peak_extra_mib"] = answers["ours"]["peak_extra"] / MIB
        row["memory_limit_mib"] = answers["ours"]["memory_limit"] / MIB
        row["memory_ok"] = answers["ours"]["peak_extra"] <= answers["ours"]["memory_limit"]
    return row


# --------------------------------------------------------------------------------------
# the three levels
# --------------------------------------------------------------------------------------
def layer_jobs(args) -> list[tuple[Layer, int, str]]:
    jobs = []
    for layer in cases.layers():
        if args.group and layer.group not in args.group:
            continue
        if args.quick and not layer.quick:
            continue
        for batch in cases.BATCHES:
            if args.quick and batch == 1 and layer.name != "3x3 64 @56":
                continue
            jobs += [(layer, batch, mode) for mode in cases.MODES]
    return jobs


def run_layers(sides, args, timing, checkdir, emit) -> None:
    for index, (layer, batch, mode) in enumerate(layer_jobs(args)):
        build = {"what": "layer", "layer": layer.as_dict(), "batch": batch, "mode": mode, "seed": index}
        row = {"level": "layers", "group": layer.group, "case": layer.name, "batch": batch, "mode": mode}
        row |= measure(sides, build, timing, args.settle, checkdir, f"layer{index}")
        if "error" not in row:
            flops = 2 * layer.macs(batch) * (1 if mode == "forward" else 3)
            row["gflops"] = flops / (row["ours_min_ms"] / 1e3) / 1e9
            row["torch_gflops"] = flops / (row["torch_min_ms"] / 1e3) / 1e9
            row["tolerance"] = cases.LAYER_TOLERANCE
        emit(row)


def run_models(sides, args, timing, checkdir, emit) -> None:
    for index, (model, batch, mode, quick) in enumerate(cases.MODELS):
        if args.quick and not quick:
            continue
        weights = checkdir / f"{model}-weights.npz"
        build = {"what": "model", "model": model, "batch": batch, "mode": mode, "seed": 0}
        build["weights"] = str(weights)
        row = {"level": "models", "group": model, "case": f"{model} {mode}", "batch": batch, "mode": mode}
        row |= measure(sides, build, timing, args.settle, checkdir, f"model{index}")
        row["tolerance"] = cases.MODEL_TOLERANCE
        emit(row)


def run_training(sides, args, timing, checkdir, emit) -> None:
    build = {"what": "lenet", "images": args.lenet_images, "batch": 64, "lr": 0.01, "seed": 0}
    build["weights"] = str(checkdir / "lenet-weights.npz")
    row = {"level": "training", "group": "lenet", "mode": "epoch", "batch": 64}
    row["case"] = f"LeNet-5 epoch, {args.lenet_images} random 28x28, batch 64, SGD momentum"
    emit(row | measure(sides, build, timing, args.settle, checkdir, "lenet") | {"tolerance": 1e-4})
    epochs = 30  # the CLI's default: the cosine schedule spans 30 epochs
    build = {"what": "cli_train", "epochs": epochs, "data": str(checkdir / "cli-data.npz")}
    setup = sides["ours"].run({"kind": "setup", "build": build})
    row = {"level": "training", "group": "convforge train", "mode": "epoch", "batch": 32}
    if "error" in setup:
        emit(row | {"case": "convforge train epoch", "error": error_line(setup["error"])})
        return
    row["case"] = f"`convforge train` epoch ({setup['images']} {setup['source']} 16x16, batch 32, + test)"
    emit(row | measure(sides, build, timing, args.settle, checkdir, "cli") | {"tolerance": 1e-4})


# --------------------------------------------------------------------------------------
# machine facts and the summary against the targets
# --------------------------------------------------------------------------------------
def machine(threads: int) -> dict:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), None)
    flags = set(next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), []))
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE/other"
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model or platform.processor(),
        "isa": isa,
        "avx512_flags": sorted(f for f in flags if f.startswith("avx512")),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "load_average_start": os.getloadavg(),
    }


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def summarize(rows: list[dict]) -> dict:
    """Every target of issue 12, section 2, with the measured ratios (min and median)."""
    good = [r for r in rows if "error" not in r]
    targets = []
    for group, target in cases.LAYER_TARGETS.items():
        for mode in cases.MODES:
            sel = [r for r in good if r["level"] == "layers" and r["group"] == group and r["mode"] == mode]
            if sel:
                targets.append(_target(f"layers {group} {mode}", target, sel, geo=True))
    layers = [r for r in good if r["level"] == "layers"]
    if layers:
        worst = min(layers, key=lambda r: r["ratio_min"])
        entry = _target("worst single layer", cases.WORST_LAYER, [worst], geo=False)
        targets.append(entry | {"which": f"{worst['case']} N={worst['batch']} {worst['mode']}"})
    for r in good:
        if r["level"] in ("models", "training"):
            level_target = cases.MODEL_TARGET if r["level"] == "models" else cases.TRAIN_TARGET
            name = f"{r['case']} N={r['batch']}" if r["level"] == "models" else r["case"]
            targets.append(_target(name, level_target, [r], geo=False))
    controls = [r["control"] for r in good]
    return {
        "targets": targets,
        "control_geomean": geomean(controls),
        "control_noisy": sum(r["noisy"] for r in good),
        "measurements": len(good),
        "errors": [f"{r['case']} N={r['batch']} {r['mode']}: {r['error']}" for r in rows if "error" in r],
        "check_failures": [
            f"{r['case']} N={r['batch']} {r['mode']}: rel {r['check']['max_rel']:.2e}"
            for r in good
            if not r["check"]["max_rel"] <= r["tolerance"]
        ],
        "memory_over": [
            f"{r['case']} N={r['batch']} {r['mode']}" for r in good if r.get("memory_ok") is False
        ],
    }


def _target(name: str, target: float, rows: list[dict], geo: bool) -> dict:
    ratio_min = geomean([r["ratio_min"] for r in rows])
    ratio_median = geomean([r["ratio_median"] for r in rows])
    return {
        "target": name,
        "goal": target,
        "ratio_min": ratio_min,
        "ratio_median": ratio_median,
        "cases": len(rows),
        "noisy": sum(r["noisy"] for r in rows),
        "met": ratio_min >= target,
        "geomean": geo,
    }


# --------------------------------------------------------------------------------------
# printing
# --------------------------------------------------------------------------------------
HEADER = (
    f"{'case':<40} {'N':>2} {'mode':<7} {'torch min':>9} {'med':>8} {'ours min':>9} {'med':>8} "
    f"{'ratio min':>9} {'med':>6} {'ctrl':>5} {'maxdiff':>8} {'peakMiB':>8}"
)


def format_row(r: dict) -> str:
    head = f"{r['case'][:40]:<40} {r['batch']:>2} {r['mode']:<7}"
    if "error" in r:
        return f"{head} ERROR {r['error']}"
    noisy = " noisy" if r["noisy"] else ""
    check = "" if r["check"]["max_rel"] <= r["tolerance"] else " MISMATCH"
    memory = "" if "peak_extra_mib" not in r else f"{r['peak_extra_mib']:>8.1f}"
    memory += " MEM!" if r.get("memory_ok") is False else ""
    return (
        f"{head} {r['torch_min_ms']:>9.2f} {r['torch_median_ms']:>8.2f} {r['ours_min_ms']:>9.2f} "
        f"{r['ours_median_ms']:>8.2f} {r['ratio_min']:>8.2f}x {r['ratio_median']:>5.2f}x "
        f"{r['control']:>5.2f} {r['check']['max_abs']:>8.1e}{check} {memory}{noisy}"
    )


def print_summary(summary: dict) -> None:
    print("\nagainst the targets of issue 12 (ratio = torch time / ours; min-based, median-based)")
    for t in summary["targets"]:
        which = f" -- {t['which']}" if "which" in t else ""
        kind = f"geomean of {t['cases']}" if t["geomean"] else "one case"
        noisy = f", {t['noisy']} noisy" if t["noisy"] else ""
        print(
            f"  {t['target']:<62} {t['ratio_min']:>6.2f}x {t['ratio_median']:>6.2f}x  goal {t['goal']:.1f}x "
            f"{'met' if t['met'] else 'NOT met'} ({kind}{noisy}){which}"
        )
    print(f"  memory: calls over the workspace bound: {len(summary['memory_over'])} (goal 0)")
    print(f"  {FILTER_NOTE}")
    verdict = abs(summary["control_geomean"] - 1.0) <= cases.CONTROL_TOLERANCE
    print(
        f"\ncontrol torch A / torch B: geomean {summary['control_geomean']:.3f} "
        f"({'within' if verdict else 'OUTSIDE'} 1.00 +/- {cases.CONTROL_TOLERANCE}); "
        f"{summary['control_noisy']} of {summary['measurements']} measurements too noisy to keep"
    )
    for key, title in (
        ("errors", "errors"),
        ("check_failures", "outputs not equal"),
        ("memory_over", "over memory"),
    ):
        print(f"{title}: {len(summary[key])}")
        for line in summary[key]:
            print(f"  {line}")


def print_machine(facts: dict) -> None:
    ours, theirs = facts["ours"], facts["torch"]
    print(f"convforge fair benchmark, {facts['date_utc']}, isolation: {facts['isolation']}")
    print(f"cpu: {facts['cpu']} ({facts['cpu_count']} cpus), vector ISA {facts['isa']}")
    print(f"OPENBLAS_CORETYPE={facts['OPENBLAS_CORETYPE']} OPENBLAS_L2_SIZE={facts['OPENBLAS_L2_SIZE']}")
    print(f"numpy {ours['numpy']}, numba {ours['numba']}, torch {theirs['torch']}, python {facts['python']}")
    print(
        f"threads: --threads {facts['threads']}; convforge numba {ours['numba_threads']} "
        f"(layer {ours['numba_threading_layer']}); torch {theirs['threads']} "
        f"(interop {theirs['interop_threads']}, capability {theirs['cpu_capability']})"
    )
    for side in ("ours", "torch"):
        for pool in facts[side]["threadpools"]:
            print(
                f"  {side} pool: {pool.get('user_api')} {pool.get('internal_api')} {pool.get('version')} "
                f"core={pool.get('architecture')} threads={pool.get('num_threads')}"
            )
    print(
        f"sgemm 1024^3: numpy {ours['sgemm_gflops']:.0f} GFLOP/s, torch.mm {theirs['sgemm_gflops']:.0f} "
        f"GFLOP/s; load average at start {facts['load_average_start']}"
    )


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a subset with few repeats (~3 minutes)")
    parser.add_argument("--level", action="append", choices=LEVELS, help="run only these levels (repeatable)")
    parser.add_argument(
        "--group", action="append", choices=list(cases.LAYER_TARGETS), help="only these layer groups"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads of each library (default: 2)")
    parser.add_argument("--json", metavar="PATH", help="write everything here")
    parser.add_argument(
        "--lenet-images", type=int, default=None, help="images in the LeNet epoch (4000; --quick: 1024)"
    )
    parser.add_argument(
        "--isolation",
        choices=("process", "inprocess"),
        default="process",
        help="each library in its own worker process (default), or both in this one",
    )
    parser.add_argument("--settle", type=float, default=0.2, help="seconds of quiet between blocks (0.2)")
    args = parser.parse_args(argv)
    if args.lenet_images is None:
        args.lenet_images = 1024 if args.quick else 4000
    if args.threads < 1 or args.lenet_images < 64:
        parser.error("--threads must be >= 1 and --lenet-images >= 64")
    return args


def timings(quick: bool) -> dict:
    """Repeat rules per level (the same for every block of a measurement)."""
    if quick:
        layer = {"warmup": 1, "min_repeats": 3, "max_repeats": 5, "budget": 0.2}
        heavy = {"warmup": 1, "min_repeats": 2, "max_repeats": 2, "budget": 0.0}
    else:
        layer = {"warmup": 2, "min_repeats": 5, "max_repeats": 15, "budget": 0.5}
        heavy = {"warmup": 1, "min_repeats": 3, "max_repeats": 5, "budget": 2.0}
    return {"layers": layer, "models": heavy, "training": heavy}


def main(argv=None) -> int:
    args = parse_args(argv)
    levels = args.level or list(LEVELS)
    facts = machine(args.threads) | {"isolation": args.isolation}
    rows: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cf-bench-") as tmp:
        checkdir = Path(tmp)
        kind = ProcessSide if args.isolation == "process" else LocalSide
        sides = {name: kind(name, args.threads, checkdir) for name in ("torch", "ours")}
        try:
            for name in ("ours", "torch"):
                facts[name] = sides[name].run({"kind": "facts"})
                if "error" in facts[name]:
                    raise SystemExit(f"the {name} side cannot start:\n{facts[name]['error']}")
            print_machine(facts)
            print(f"mode: {'quick' if args.quick else 'full'}; levels: {', '.join(levels)}")

            def emit(row: dict) -> None:
                rows.append(row)
                print(format_row(row), flush=True)

            runners = {"layers": run_layers, "models": run_models, "training": run_training}
            for level in levels:
                print(f"\n== {level} ==\n{HEADER}")
                runners[level](sides, args, timings(args.quick)[level], checkdir, emit)
            end = sides["ours"].run({"kind": "facts"})
            facts["ours_end"] = facts["ours"] if "error" in end else end
        finally:
            for side in sides.values():
                side.close()
    facts["load_average_end"] = os.getloadavg()
    summary = summarize(rows)
    print_summary(summary)
    elapsed = time.perf_counter() - started
    print(f"\nload average at end: {facts['load_average_end']}; wall time {elapsed:.0f} s")
    if args.json:
        report = {
            "command": " ".join(["python", *sys.argv]),
            "quick": args.quick,
            "machine": facts,
            "timing": timings(args.quick),
            "seconds": elapsed,
            "summary": summary,
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
