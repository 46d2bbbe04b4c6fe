"""Run every benchmark in turn: ``python -m benchmarks`` (or ``make bench``)."""

from __future__ import annotations

import sys

from benchmarks import alarm_delay_bench, backtest_bench, forwarder_bench, investigate_bench, replay_bench


def main() -> int:
    failures = 0
    for bench in (replay_bench, backtest_bench, investigate_bench, forwarder_bench, alarm_delay_bench):
        print(f"== {bench.__name__}", flush=True)
        failures += bench.main() != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
