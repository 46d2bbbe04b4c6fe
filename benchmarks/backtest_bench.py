"""Process-pool backtest vs the single-process replay, side by side in one run (target: >= 1.7x on 2 cores).

Usage: python -m benchmarks.backtest_bench [--records 200000] [--workers N]. Same data as replay_bench:
records in gzip trail files of 1,000 records each, seeded.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from benchmarks.replay_bench import generate_trail_files
from detections.backtest import backtest_local, default_workers
from detections.cli_catalogue import replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        files = generate_trail_files(Path(folder), args.records)
        started = time.perf_counter()
        replay([folder], output_format="json", summary=True, out=io.StringIO(), err=io.StringIO())
        single = time.perf_counter() - started
        started = time.perf_counter()
        result = backtest_local([folder], args.workers)
        pooled = time.perf_counter() - started
    print(f"{args.records:,} records in {len(files)} files, {args.workers} worker(s)")
    print(f"single-process replay (match --summary): {single:.2f} s")
    print(f"process-pool backtest:                   {pooled:.2f} s   ratio {single / pooled:.2f}x")
    print(f"peak RSS of a worker: {result.peak_worker_rss_kib / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
