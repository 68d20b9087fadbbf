"""Benchmark ``constructs_lib.archives`` against a plain copy and ``tar czf``.

Builds a synthetic model directory (a few large random "safetensors" shards plus small JSON
files), then times, each in a fresh subprocess that reports its own wall time and peak RSS:

* ``copy``: every file copied to a temp dir three ways (``sendfile`` as ``shutil.copyfile``
  does, ``copy_file_range``, a read/write loop); the fastest of the three in each round is the
  floor (the bytes must be read and written once whatever the format);
* ``tar czf``: system tar + gzip of the same directory (today's hand-made packaging);
* ``pack (cold)``: :func:`package_model_directory` into an empty cache;
* ``pack (warm)``: the same call again (cache hit: what a re-synth pays);
* ``re-synth``: a fresh CDK app with an ``aws_s3_assets.Asset`` of the cached archive
  (``AssetHashType.CUSTOM``), timing the packaging call and the whole synth.

Usage::

    .venv/bin/python benchmarks/bench_packaging.py [--size-gib 2] [--workdir DIR] [--repeat 5] [--output FILE]
    .venv/bin/python benchmarks/bench_packaging.py --quick     # 0.25 GiB smoke run

The page cache is left warm (the source files were just written); ``os.sync()`` runs before
every measurement so that write-back of the previous step's output does not throttle the
next one. Copy and cold pack runs alternate. Wall times are the median of ``--repeat`` runs
(``tar czf`` runs ``--tar-repeat`` times, default once, as it is slow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO / "benchmarks" / ".work" / "packaging"

TARGET_COPY_RATIO = 2.0  # cold pack at most 2x the time of a plain copy
TARGET_TAR_SPEEDUP = 4.0  # at least 4x faster than tar czf
TARGET_WARM_S = 1.0  # a cache hit under one second

_COPY = """
import json, os, resource, shutil, sys, time
src, dst, method = sys.argv[1], sys.argv[2], sys.argv[3]


def copy(source, target):
    if method == "sendfile":  # what shutil.copyfile does on Linux with Python 3.11
        shutil.copyfile(source, target)
    elif method == "copy_file_range":
        with open(source, "rb") as a, open(target, "wb") as b:
            size = os.fstat(a.fileno()).st_size
            while size > 0:
                size -= os.copy_file_range(a.fileno(), b.fileno(), size)
    else:  # read/write through one 8 MiB buffer
        buffer = bytearray(8 << 20)
        view = memoryview(buffer)
        with open(source, "rb", buffering=0) as a, open(target, "wb", buffering=0) as b:
            while n := a.readinto(buffer):
                b.write(view[:n])


start = time.perf_counter()
for root, _dirs, files in os.walk(src):
    target = os.path.join(dst, os.path.relpath(root, src))
    os.makedirs(target, exist_ok=True)
    for name in files:
        copy(os.path.join(root, name), os.path.join(target, name))
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "rss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}))
"""
COPY_METHODS = ("sendfile", "copy_file_range", "readwrite")
COPY_LABEL = "plain copy (fastest of sendfile, copy_file_range, read/write)"

_TAR = """
import json, resource, subprocess, sys, time
src, dst = sys.argv[1], sys.argv[2]
start = time.perf_counter()
subprocess.run(["tar", "czf", dst, "-C", src, "."], check=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "rss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}))
"""

_PACK = """
import json, resource, sys, time
from constructs_lib.archives import package_model_directory
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
packed = package_model_directory(sys.argv[1], cache_dir=sys.argv[2])
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
print(json.dumps({"seconds": seconds, "rss_kib": usage.ru_maxrss, "cpu": cpu,
                  "from_cache": packed.from_cache, "size": packed.size, "asset_hash": packed.asset_hash}))
"""

_SYNTH = """
import json, resource, sys, tempfile, time
import aws_cdk as cdk
from aws_cdk import aws_s3_assets as s3_assets
from constructs_lib.archives import package_model_directory
outdir = tempfile.mkdtemp(prefix="bench-synth-", dir=sys.argv[3])
start = time.perf_counter()
app = cdk.App(outdir=outdir)
stack = cdk.Stack(app, "BenchStack")
step = time.perf_counter()
packed = package_model_directory(sys.argv[1], cache_dir=sys.argv[2])
packaging_s = time.perf_counter() - step
s3_assets.Asset(stack, "Model", path=str(packed.path), asset_hash=packed.asset_hash,
                asset_hash_type=cdk.AssetHashType.CUSTOM)
app.synth()
synth_s = time.perf_counter() - start
print(json.dumps({"seconds": packaging_s, "synth_seconds": synth_s, "from_cache": packed.from_cache,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


@dataclass
class Measurement:
    """Median wall time (timed inside the child), process wall time and peak RSS of one step."""

    name: str
    seconds: float
    process_seconds: float
    rss_mib: float
    runs: list[float]
    cpu_seconds: float
    extra: dict[str, Any]


def build_model(directory: Path, size_gib: float) -> None:
    """Write the synthetic model (skipped when a matching one is already there)."""
    total = int(size_gib * 1024**3)
    shards = max(1, min(4, round(size_gib * 2)))
    marker = directory / ".bench-spec.json"
    spec = {"total": total, "shards": shards, "version": 1}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    per_shard = total // shards
    weight_map: dict[str, str] = {}
    for index in range(1, shards + 1):
        name = f"model-{index:05d}-of-{shards:05d}.safetensors"
        with (directory / name).open("wb") as handle:
            header = json.dumps({"__metadata__": {"format": "pt"}}).encode()
            handle.write(len(header).to_bytes(8, "little") + header)
            remaining = per_shard - 8 - len(header)
            while remaining > 0:
                chunk = os.urandom(min(remaining, 16 << 20))
                handle.write(chunk)
                remaining -= len(chunk)
        weight_map[f"layers.{index}.weight"] = name
    (directory / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}, indent=2))
    (directory / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "num_hidden_layers": 16}, indent=2)
    )
    (directory / "generation_config.json").write_text(json.dumps({"do_sample": True, "temperature": 0.6}))
    (directory / "special_tokens_map.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>"}))
    vocab = {f"tok{i}": i for i in range(60_000)}
    (directory / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": vocab}}, indent=2))
    (directory / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 4096}))
    marker.write_text(json.dumps(spec))


def run_child(script: str, args: list[str]) -> tuple[dict[str, Any], float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    env.setdefault("NODE_NO_WARNINGS", "1")
    os.sync()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1]), wall


def measure(name: str, repeat: int, step: Any) -> Measurement:
    """Run ``step()`` (returning a child's report and wall time) ``repeat`` times."""
    return summarize(name, [step() for _ in range(repeat)])


def measure_interleaved(steps: dict[str, tuple[str, Any]], repeat: int) -> dict[str, Measurement]:
    """Run the steps in turn, ``repeat`` rounds, so that drift in the machine's disk or CPU
    speed during the run weighs on all of them alike (the copy/pack ratio compares them)."""
    reports: dict[str, list[tuple[dict[str, Any], float]]] = {key: [] for key in steps}
    for _ in range(repeat):
        for key, (_, step) in steps.items():
            reports[key].append(step())
    return {key: summarize(name, reports[key]) for key, (name, _) in steps.items()}


def summarize(name: str, reports: list[tuple[dict[str, Any], float]]) -> Measurement:
    """The median run of a step and its peak RSS over all runs."""
    runs = [report["seconds"] for report, _ in reports]
    median = statistics.median(runs)
    chosen, wall = min(reports, key=lambda item: abs(item[0]["seconds"] - median))
    extra = {key: value for key, value in chosen.items() if key not in ("seconds", "rss_kib", "cpu")}
    cpu = statistics.median(report.get("cpu", float("nan")) for report, _ in reports)
    rss = max(report["rss_kib"] for report, _ in reports) / 1024
    print(f"  {name}: {', '.join(f'{run:.2f}' for run in runs)} s", file=sys.stderr)
    return Measurement(name, median, wall, rss, runs, cpu, extra)


def fmt(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def render(results: dict[str, Measurement], args: argparse.Namespace, model: Path, archive_size: int) -> str:
    copy, tar, cold, warm, synth = (results[key] for key in ("copy", "tar", "cold", "warm", "synth"))
    model_bytes = sum(path.stat().st_size for path in model.iterdir() if path.name != ".bench-spec.json")
    gib = model_bytes / 1024**3
    lines = [
        f"Synthetic model: {gib:.2f} GiB in {sum(1 for _ in model.iterdir()) - 1} files; workdir `{args.workdir}`;",
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, zlib {zlib.ZLIB_RUNTIME_VERSION}, "
        f"{time.strftime('%Y-%m-%d')}; page cache warm, `os.sync()` before each step; "
        "copy and cold pack alternate; median of runs.",
        f"Load average (1 min) at start / end: {args.load_start:.1f} / {os.getloadavg()[0]:.1f} "
        "(anything well above the CPU count means other work shared the machine).",
        "",
        "| step | wall s (median) | runs s | CPU s (user+sys) | process wall s | peak RSS MiB | throughput MB/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in (copy, tar, cold, warm):
        throughput = model_bytes / item.seconds / 1e6 if item.seconds > 0 else float("inf")
        shown = f"{throughput:.0f}" if item is not warm else "-"
        runs = ", ".join(fmt(run) for run in item.runs)
        cpu = fmt(item.cpu_seconds)
        cells = [item.name, fmt(item.seconds), runs, cpu, fmt(item.process_seconds), f"{item.rss_mib:.0f}", shown]
        lines.append("| " + " | ".join(cells) + " |")
    synth_runs = ", ".join(fmt(run) for run in synth.runs)
    lines.append(
        f"| re-synth: packaging step | {fmt(synth.seconds)} | {synth_runs} | | {fmt(synth.process_seconds)} | "
        f"{synth.rss_mib:.0f} | - |"
    )
    lines.append(
        f"| re-synth: whole `app.synth()` incl. asset staging | {fmt(synth.extra['synth_seconds'])} | | | | | |"
    )
    copy_ratio = cold.seconds / copy.seconds
    tar_speedup = tar.seconds / cold.seconds
    warm_step = max(synth.seconds, warm.seconds)

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines.append("")
    lines.append(
        "Copy methods in the median copy run: "
        + ", ".join(f"{method} {copy.extra[method]:.3f} s" for method in COPY_METHODS)
        + f" (floor: {copy.extra['method']})."
    )
    lines += [
        "",
        f"Archive: {archive_size / 1024**3:.3f} GiB ({archive_size / model_bytes:.5f} x the input; stored deflate).",
        "",
        "| target | measured | pass |",
        "|---|---|---|",
        f"| cold pack / copy <= {TARGET_COPY_RATIO:g} | {copy_ratio:.2f} | "
        f"{verdict(copy_ratio <= TARGET_COPY_RATIO)} |",
        f"| tar czf / cold pack >= {TARGET_TAR_SPEEDUP:g} | {tar_speedup:.1f} | "
        f"{verdict(tar_speedup >= TARGET_TAR_SPEEDUP)} |",
        f"| (fastest runs: cold pack / copy) | {min(cold.runs) / min(copy.runs):.2f} | info |",
        f"| (CPU time: cold pack / copy; tar / cold pack) | {cold.cpu_seconds / copy.cpu_seconds:.2f}; "
        f"{tar.cpu_seconds / cold.cpu_seconds:.1f} | info |",
        f"| warm re-synth packaging step < {TARGET_WARM_S:g} s | {fmt(synth.seconds)} s "
        f"(warm call {fmt(warm.seconds)} s) | {verdict(warm_step < TARGET_WARM_S)} |",
        f"| cold pack peak RSS independent of size | {cold.rss_mib:.0f} MiB for {gib:.1f} GiB | "
        f"{verdict(cold.rss_mib < 256)} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-gib", type=float, default=2.0, help="size of the synthetic model (default 2)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"default {DEFAULT_WORKDIR}")
    parser.add_argument("--repeat", type=int, default=5, help="runs per step, median reported (default 5)")
    parser.add_argument("--tar-repeat", type=int, default=1, help="runs of tar czf (default 1: it is slow)")
    parser.add_argument("--output", type=Path, help="also write the markdown table to this file")
    parser.add_argument("--quick", action="store_true", help="smoke run: 0.25 GiB, one run per step")
    args = parser.parse_args(argv)
    if args.quick:
        args.size_gib, args.repeat, args.tar_repeat = 0.25, 1, 1
    args.workdir = args.workdir.resolve()
    args.load_start = os.getloadavg()[0]

    model = args.workdir / "model"
    print(f"building {args.size_gib:g} GiB synthetic model in {model} ...", file=sys.stderr)
    build_model(model, args.size_gib)
    scratch = args.workdir / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    cache = scratch / "cache"

    def copy_step() -> tuple[dict[str, Any], float]:
        # The floor is the fastest way to copy the bytes in this round: on some VMs one kernel
        # path (sendfile, copy_file_range) is slow for minutes at a time while another is not.
        runs = {}
        for method in COPY_METHODS:
            target = Path(tempfile.mkdtemp(prefix="copy-", dir=scratch))
            try:
                runs[method] = run_child(_COPY, [str(model), str(target), method])
            finally:
                shutil.rmtree(target)
        best = min(runs, key=lambda method: runs[method][0]["seconds"])
        report, wall = runs[best]
        return {**report, "method": best, **{m: r["seconds"] for m, (r, _) in runs.items()}}, wall

    def tar_step() -> tuple[dict[str, Any], float]:
        target = scratch / "model.tar.gz"
        try:
            return run_child(_TAR, [str(model), str(target)])
        finally:
            target.unlink(missing_ok=True)

    def cold_step() -> tuple[dict[str, Any], float]:
        shutil.rmtree(cache, ignore_errors=True)
        report, wall = run_child(_PACK, [str(model), str(cache)])
        assert not report["from_cache"], "cold pack hit the cache"
        return report, wall

    def warm_step() -> tuple[dict[str, Any], float]:
        report, wall = run_child(_PACK, [str(model), str(cache)])
        assert report["from_cache"], "warm pack missed the cache"
        return report, wall

    def synth_step() -> tuple[dict[str, Any], float]:
        report, wall = run_child(_SYNTH, [str(model), str(cache), str(scratch)])
        assert report["from_cache"], "re-synth missed the cache"
        for leftover in scratch.glob("bench-synth-*"):
            shutil.rmtree(leftover)
        return report, wall

    results = measure_interleaved(
        {"copy": (COPY_LABEL, copy_step), "cold": ("pack, cold cache", cold_step)}, args.repeat
    )
    results |= {
        "tar": measure("tar czf", args.tar_repeat, tar_step),
        "warm": measure("pack, warm cache (call only)", args.repeat, warm_step),
        "synth": measure("re-synth", args.repeat, synth_step),
    }
    archive_size = int(results["cold"].extra["size"])
    table = render(results, args, model, archive_size)
    shutil.rmtree(scratch, ignore_errors=True)
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
