"""Render a ``run.py --json`` file as the Markdown tables of ``RESULTS.md``.

Usage::

    .venv/bin/python benchmarks/report.py benchmarks/results.json > tables.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def machine_lines(report: dict) -> list[str]:
    facts = report["machine"]
    lines = [
        f"- date: {facts['date_utc']}; command: `{report['command']}`; wall time {report['seconds']:.0f} s",
        f"- CPU: {facts['cpu']}, {facts['cpu_count']} cores, AVX-512: {facts['avx512f']}; "
        f"threads: {facts['threads']} (torch: {facts['torch_threads']})",
        f"- numpy {facts['numpy']}, torch {facts['torch']}, Python {facts['python']}",
    ]
    for blas in facts["blas"]:
        lines.append(f"- BLAS: {blas['internal_api']} {blas['version']}, core `{blas['architecture']}`")
    lines.append(
        f"- OPENBLAS_CORETYPE={facts['OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE={facts['OPENBLAS_L2_SIZE']}, "
        f"other variables: {facts['env'] or 'none'}"
    )
    lines.append(f"- sgemm 1024^3 at the start of the run: {report['settings']['sgemm_gflops']:.0f} GFLOP/s")
    start, end = report["load_average_start"], report["load_average_end"]
    lines.append(
        f"- load average (1, 5, 15 min) at start: {', '.join(f'{v:.2f}' for v in start)}; "
        f"at end: {', '.join(f'{v:.2f}' for v in end)}"
    )
    return lines


def summary_table(report: dict) -> list[str]:
    lines = ["| group | forward | backward | target | met |", "|---|---:|---:|---:|---|"]
    for group, entry in report["summary"].items():
        backward = "-" if entry["backward"] is None else f"{entry['backward']:.2f}x"
        met = "yes" if entry["met"] else "**no**"
        lines.append(
            f"| {group} ({entry['cases']} cases) | {entry['forward']:.2f}x | {backward} | "
            f"{entry['target']:.1f}x | {met} |"
        )
    return lines


def case_table(report: dict) -> list[str]:
    lines = [
        "| group | case | N | direction | algorithm | ours ms | torch ms | GFLOP/s | % sgemm | ratio | peak MiB |",
        "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        if r["direction"] == "epoch":
            lines.append(
                f"| {r['group']} | {r['case']} | {r['batch']} | epoch | auto | {r['ours_ms']:.1f} | "
                f"{r['torch_ms']:.1f} | | | {r['ratio']:.2f}x | |"
            )
            continue
        ratio = f"{r['ratio']:.2f}x"
        if r["ratio"] < 0.5:
            ratio = f"**{ratio}**"
        lines.append(
            f"| {r['group']} | {r['case']} | {r['batch']} | {r['direction']} | {r['algorithm']} | "
            f"{r['ours_ms']:.2f} | {r['torch_ms']:.2f} | {r['gflops']:.1f} | {r['pct_sgemm']:.0f} | "
            f"{ratio} | {r['peak_extra_mib']:.1f} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json_file", type=Path)
    args = parser.parse_args(argv)
    report = json.loads(args.json_file.read_text())
    sections = [
        ["## Machine", "", *machine_lines(report)],
        ["## Geomean ratio torch_time / our_time per group", "", *summary_table(report)],
        ["## Every case", "", *case_table(report)],
    ]
    print("\n\n".join("\n".join(section) for section in sections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
