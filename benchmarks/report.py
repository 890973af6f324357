"""Turn a ``run.py --json`` file into ``benchmarks/RESULTS.md``.

Usage::

    .venv/bin/python benchmarks/report.py results.json [--out benchmarks/RESULTS.md]

Without ``--out`` the Markdown goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CONTROL_TOLERANCE  # noqa: E402

EARLIER = """\
**Earlier figures were measured interleaved, and were too kind.** Until this benchmark,
`run.py` alternated our call and torch's call by call, on kernels called with plain arrays.
After each of our calls, OpenBLAS and Numba worker threads kept spinning for a while, and
torch's OpenMP threads then shared the two cores with them: torch ran up to ~40 % slower than
it runs alone (3x3 64@56 batch 8 forward: median 76 ms interleaved, 54 ms alone), so the ratios
came out high (0.93x interleaved against 0.52x alone for that layer). The kernel-level timing
also skipped the functional API, autograd, the layers, the loss and the optimizer that every
user's code goes through. The figures below time each library alone, in its own block of
calls and its own process, through the public API; the ResNet-18 "met" of the earlier
`RESULTS.md` does not hold under this measurement."""

METHOD = """\
Each measurement is three blocks: torch (A), convforge, torch again (B), each a warm-up and
then repeats, in its own worker process (`--isolation process`), with a short pause between
blocks. Ratio = torch time / convforge time (above 1: convforge is faster), from the minima
and from the medians, torch's over both of its blocks. The control is torch A / torch B
(minima): outside 1.00 +/- {tol:.2f} a measurement is too noisy to keep (marked *noisy*).
Outputs are compared with torch's (largest |difference|, relative to the largest |torch|
value); the peak extra memory of one of our calls (tracemalloc) is checked against the
workspace bound."""


def _f(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def machine_lines(report: dict) -> list[str]:
    m = report["machine"]
    ours, theirs = m["ours"], m["torch"]
    end = m.get("ours_end", ours)
    lines = [
        f"- date: {m['date_utc']}; command: `{report['command']}`; wall time {report['seconds']:.0f} s; "
        f"isolation: {m['isolation']}",
        f"- CPU: {m['cpu']}, {m['cpu_count']} cpus, vector ISA **{m['isa']}**",
        f"- threads: `--threads {m['threads']}`; convforge: Numba {ours['numba_threads']} "
        f"(threading layer {end['numba_threading_layer']}); torch: {theirs['threads']} "
        f"(interop {theirs['interop_threads']}, ATen CPU capability {theirs['cpu_capability']})",
        f"- numpy {ours['numpy']}, numba {ours['numba']}, torch {theirs['torch']}, Python {m['python']}, "
        f"convforge {ours['convforge']}",
        f"- OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE={m['OPENBLAS_L2_SIZE']}",
    ]
    for side, facts in (("convforge", end), ("torch", theirs)):
        for pool in facts["threadpools"]:
            lines.append(
                f"- {side} process thread pool: {pool.get('user_api')} `{pool.get('internal_api')}` "
                f"{pool.get('version')}, core `{pool.get('architecture')}`, {pool.get('num_threads')} threads"
            )
    lines.append(
        f"- sgemm 1024^3: NumPy {ours['sgemm_gflops']:.0f} GFLOP/s, torch.mm {theirs['sgemm_gflops']:.0f} GFLOP/s"
    )
    start, stop = m["load_average_start"], m["load_average_end"]
    lines.append(
        f"- load average (1, 5, 15 min) at start {', '.join(_f(v) for v in start)}; "
        f"at end {', '.join(_f(v) for v in stop)}"
    )
    return lines


def target_table(summary: dict) -> list[str]:
    lines = [
        "| target | goal | ratio (min) | ratio (median) | cases | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for t in summary["targets"]:
        name = t["target"] + (f" ({t['which']})" if "which" in t else "")
        noisy = f" ({t['noisy']} noisy)" if t["noisy"] else ""
        met = "yes" if t["met"] else "**no**"
        lines.append(
            f"| {name} | {t['goal']:.1f}x | {t['ratio_min']:.2f}x | {t['ratio_median']:.2f}x | "
            f"{t['cases']}{noisy} | {met} |"
        )
    return lines


def row_table(rows: list[dict], level: str) -> list[str]:
    lines = [
        "| group | case | N | mode | torch ms (min / med) | ours ms (min / med) | ratio min | ratio med "
        "| control | max diff (rel) | peak MiB (bound) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["level"] != level:
            continue
        if "error" in r:
            lines.append(f"| {r['group']} | {r['case']} | {r['batch']} | {r['mode']} | error: {r['error']} |")
            continue
        ratio = f"{r['ratio_min']:.2f}x"
        ratio = f"**{ratio}**" if r["ratio_min"] < 0.7 else ratio
        control = f"{r['control']:.2f}" + (" *noisy*" if r["noisy"] else "")
        check = f"{r['check']['max_abs']:.1e} ({r['check']['max_rel']:.0e})"
        if r["check"]["max_rel"] > r["tolerance"]:
            check += " **mismatch**"
        memory = ""
        if "peak_extra_mib" in r:
            memory = f"{r['peak_extra_mib']:.0f} ({r['memory_limit_mib']:.0f})"
            memory += " **over**" if not r["memory_ok"] else ""
        lines.append(
            f"| {r['group']} | {r['case']} | {r['batch']} | {r['mode']} | "
            f"{r['torch_min_ms']:.2f} / {r['torch_median_ms']:.2f} | {r['ours_min_ms']:.2f} / "
            f"{r['ours_median_ms']:.2f} | {ratio} | {r['ratio_median']:.2f}x | {control} | {check} | {memory} |"
        )
    return lines


def render(report: dict, note: str = "") -> str:
    summary = report["summary"]
    control = summary["control_geomean"]
    keep = abs(control - 1.0) <= CONTROL_TOLERANCE
    label = []
    if report["quick"] or not keep:
        label = [
            f"> **Development run, not the quiet run of record**: {'quick mode' if report['quick'] else 'full'}"
            f", control {control:.3f}{' (too noisy to keep)' if not keep else ''}, load average "
            f"{report['machine']['load_average_start'][0]:.1f} at start on {report['machine']['cpu_count']} "
            "cpus. Compare nothing to these figures but the ratios of the same run."
            + (f" {note}" if note else ""),
            "",
        ]
    sections = [
        ["# Benchmark results: convforge vs PyTorch, each alone (issue 12)", "", *label, EARLIER],
        [
            "## How it is measured",
            "",
            METHOD.format(tol=CONTROL_TOLERANCE),
            "",
            "```bash",
            report["command"],
            "```",
        ],
        ["## Machine", "", *machine_lines(report)],
        [
            "## Control",
            "",
            f"torch block A / torch block B, geomean over {summary['measurements']} measurements: "
            f"**{control:.3f}** ({'within' if keep else 'outside'} 1.00 +/- {CONTROL_TOLERANCE}); "
            f"{summary['control_noisy']} measurements outside it individually.",
        ],
        [
            "## Against the targets of issue 12 (2 threads)",
            "",
            *target_table(summary),
            "",
            f"Memory: {len(summary['memory_over'])} calls over the workspace bound (goal: none). Image "
            "filtering against `scipy.ndimage.correlate` is measured by `bench_dask.py` "
            "([`RESULTS_DASK.md`](RESULTS_DASK.md)), not here.",
        ],
    ]
    titles = {"layers": "Layers", "models": "Models (224x224)", "training": "Training"}
    for level, title in titles.items():
        if any(r["level"] == level for r in report["rows"]):
            sections.append([f"## {title}", "", *row_table(report["rows"], level)])
    problems = []
    for key, title in (
        ("errors", "Errors"),
        ("check_failures", "Outputs not equal"),
        ("memory_over", "Over memory"),
    ):
        problems.append(f"- {title}: {len(summary[key])}" + "".join(f"\n  - {x}" for x in summary[key]))
    sections.append(["## Checks", "", *problems])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json_file", type=Path)
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    parser.add_argument("--note", default="", help="a sentence to add to a development run's label")
    args = parser.parse_args(argv)
    text = render(json.loads(args.json_file.read_text()), args.note)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
