"""Process-pool backtest vs the single-process replay, side by side in one run (target: >= 1.7x on 2 cores).

Usage: python -m benchmarks.backtest_bench [--records 200000] [--workers N] [--rounds 5]. Same data as
replay_bench: records in gzip trail files of 1,000 records each, seeded. One unmeasured warm-up round of each,
then the two are measured alternately, ``--rounds`` each, so a burst of load from other processes hits both
alike. Two ratios: best against best, and the median of the rounds' own ratios (a round's single run against
the pool run right after it). The machine's load average (os.getloadavg) is printed before and after: on a
shared machine the ratio is only as good as the idle cores.

Also printed, to explain the ratio: the pool's fixed cost (start the workers, run one empty task, shut down),
the bytes pickled back per task (a run of consecutive files, one summary), and the peak RSS of a worker.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.replay_bench import generate_trail_files
from detections.backtest import _init_worker, backtest_local, batches, default_workers, summarize_files
from detections.catalogue import CATALOGUE
from detections.cli_catalogue import replay

TARGET_RATIO = 1.7


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _cpu_seconds() -> float:
    """User + system CPU of this process and its reaped children (the pool's workers, once shut down)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _pool_fixed_cost(workers: int) -> float:
    started = time.perf_counter()
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(tuple(CATALOGUE),)
    ) as pool:
        list(pool.map(abs, range(workers)))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    load_before = _load()
    single_times: list[float] = []
    pooled_times: list[float] = []
    single_cpu: list[float] = []
    pooled_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        files = generate_trail_files(Path(folder), args.records)
        # Warm-up, not measured: the first seconds of load on an idle virtual machine run measurably slower.
        _single_replay(folder)
        backtest_local([folder], args.workers)
        for _ in range(args.rounds):
            started, cpu = time.perf_counter(), _cpu_seconds()
            _single_replay(folder)
            single_times.append(time.perf_counter() - started)
            single_cpu.append(_cpu_seconds() - cpu)
            started, cpu = time.perf_counter(), _cpu_seconds()
            result = backtest_local([folder], args.workers)
            pooled_times.append(time.perf_counter() - started)
            pooled_cpu.append(_cpu_seconds() - cpu)
        fixed = _pool_fixed_cost(args.workers)
        first_task = batches([str(path) for path in files], args.workers)[0]
        pickled = len(pickle.dumps(summarize_files(first_task)))
    load_after = _load()
    single, pooled = min(single_times), min(pooled_times)
    ratio = single / pooled
    paired = statistics.median(s / p for s, p in zip(single_times, pooled_times, strict=True))
    print(f"{args.records:,} records in {len(files)} files, {args.workers} worker(s), best of {args.rounds}")
    print(f"before: {load_before}")
    print(f"single-process replay (match --summary): {single:.2f} s  (rounds: {_seconds(single_times)})")
    print(f"process-pool backtest:                   {pooled:.2f} s  (rounds: {_seconds(pooled_times)})")
    print(f"ratio {ratio:.2f}x (target >= {TARGET_RATIO}x): {'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    print(f"median of the rounds' own ratios: {paired:.2f}x")
    # Equal CPU seconds mean the pool adds no work; then wall time is bounded by the cores it actually got.
    best = pooled_times.index(pooled)
    print(
        f"CPU seconds (user+sys): single {single_cpu[single_times.index(single)]:.2f}, "
        f"pool {pooled_cpu[best]:.2f} (parent + workers); cores the pool got: {pooled_cpu[best] / pooled:.2f}"
    )
    print(f"pool fixed cost (start, one empty task each, shut down): {fixed:.3f} s")
    print(f"pickled per task ({len(first_task)} file(s)): {pickled:,} bytes")
    print(f"peak RSS of a worker: {result.peak_worker_rss_kib / 1024:.1f} MiB")
    print(f"after:  {load_after}")
    return 0


def _single_replay(folder: str) -> None:
    replay([folder], output_format="json", summary=True, out=io.StringIO(), err=io.StringIO())


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    raise SystemExit(main())
