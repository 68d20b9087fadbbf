#!/usr/bin/env python3
"""Run every benchmark in ``benchmarks/`` one after another; ``./run.sh bench`` calls this.

Each ``benchmarks/bench_<name>.py`` runs in its own process with ``--output benchmarks/results/<name>.md``, so
a full run refreshes every committed result. The scripts run sequentially: they time things, and two of
them at once would measure each other.

    python benchmarks/run_all.py                  # everything
    python benchmarks/run_all.py --only synth     # bench_synth.py only
    python benchmarks/run_all.py --quick          # smoke run: --quick goes to the scripts that accept it
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

# Extra runs of a script with other settings, each with its own result file: {script: {result name: args}}.
EXTRA_RUNS: dict[str, dict[str, list[str]]] = {
    # What the constructs themselves cost, without aws-cdk-lib's CloudFormation validation (a fixed cost per synth).
    "bench_synth.py": {"synth-no-validation": ["--cdk-validation", "off"]},
}


def discover() -> list[Path]:
    """The benchmark scripts, in name order."""
    return sorted(HERE.glob("bench_*.py"))


def accepts(script: Path, option: str) -> bool:
    """Whether ``script --help`` lists ``option``."""
    result = subprocess.run(
        [sys.executable, str(script), "--help"], check=False, capture_output=True, text=True, timeout=120
    )
    return result.returncode == 0 and option in result.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmarks/bench_*.py, results in benchmarks/results/.")
    parser.add_argument("--only", action="append", help="a benchmark name (bench_<name>.py); repeatable")
    parser.add_argument("--quick", action="store_true", help="pass --quick to the scripts that accept it")
    args = parser.parse_args(argv)

    scripts = discover()
    if args.only:
        wanted = set(args.only)
        scripts = [script for script in scripts if script.stem.removeprefix("bench_") in wanted]
        missing = wanted - {script.stem.removeprefix("bench_") for script in scripts}
        if missing:
            parser.error(f"no benchmarks/bench_<name>.py for: {', '.join(sorted(missing))}")
    RESULTS.mkdir(exist_ok=True)
    failed: list[str] = []
    for script in scripts:
        quick = args.quick and accepts(script, "--quick")
        if args.quick and not quick:
            print(f"== {script.name} has no --quick: full run", flush=True)
        runs = {script.stem.removeprefix("bench_"): [], **EXTRA_RUNS.get(script.name, {})}
        for name, extra in runs.items():
            command = [sys.executable, str(script), *extra, "--output", str(RESULTS / f"{name}.md")]
            if quick:
                command.append("--quick")
            print(f"== {' '.join(command)}", flush=True)
            began = time.perf_counter()
            returncode = subprocess.run(command, check=False).returncode
            print(f"== {name}: exit {returncode} after {time.perf_counter() - began:.0f} s", flush=True)
            if returncode != 0:
                failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
