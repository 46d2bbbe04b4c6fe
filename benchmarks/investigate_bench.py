"""``investigate`` over local trail files, as a ratio to only parsing the same records (target >= 0.5).

``python -m benchmarks.investigate_bench [--records N]``

Same seeded data as benchmarks.replay_bench (N records, default 200,000, of 2024-05-02, as gzip delivery
files of 1,000 records). Measured in this one run, alternating, best of ``--rounds``:

(a) parse only: ``detections.replay.iter_records`` over the folder, counting records;
(b) the whole command in-process (``detections.cli_investigate.investigate``: argument handling, the compiled
    filter pattern, the time check, rows, the page's summarizer, the table) for two questions: the seed's
    (``--event-name``, few matches) and the pivot's (``--principal``, many matches: every row is formatted).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.replay_bench import generate_trail_files, time_parse_only
from detections.cli_investigate import add_arguments, investigate

TARGET_RATIO = 0.5
RANGE = ["--since", "2024-05-02T00:00:00Z", "--until", "2024-05-03T00:00:00Z"]
QUESTIONS = {
    "--event-name StopLogging": ["--event-name", "StopLogging"],
    "--principal alice": ["--principal", "alice"],
}


def time_investigate(folder: Path, question: list[str]) -> tuple[float, int]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([*question, *RANGE, str(folder)])
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = investigate(args, out=out, err=err)
    elapsed = time.perf_counter() - started
    assert code == 0, err.getvalue()
    rows = out.getvalue().count("\n2024-05-02T")
    return elapsed, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.investigate_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--records", type=int, default=200_000, help="records to generate (default 200,000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating timing rounds; best is kept")
    args = parser.parse_args(argv)
    worst = float("inf")
    with tempfile.TemporaryDirectory(prefix="investigate-bench-") as tmp:
        folder = Path(tmp)
        files = generate_trail_files(folder, args.records)
        print(f"generated {args.records:,} records in {len(files)} gzip files")
        parse_times: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in QUESTIONS}
        rows: dict[str, int] = {}
        for _ in range(args.rounds):
            elapsed, count = time_parse_only(files)
            assert count == args.records
            parse_times.append(elapsed)
            for name, question in QUESTIONS.items():
                elapsed, rows[name] = time_investigate(folder, question)
                times[name].append(elapsed)
        parse_rate = args.records / min(parse_times)
        print(f"parse only            : {parse_rate:,.0f} records/s")
        for name in QUESTIONS:
            rate = args.records / min(times[name])
            ratio = rate / parse_rate
            worst = min(worst, ratio)
            print(f"investigate {name:<26}: {rate:,.0f} records/s, {rows[name]:,} rows; ratio {ratio:.2f}")
    print(f"worst ratio investigate/parse: {worst:.2f}   (target >= {TARGET_RATIO})")
    return 0 if worst >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
