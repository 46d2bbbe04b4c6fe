"""Every case of every rule, as (label, record): the one place that knows where the cases live.

The cases sit beside their rules (``detections/rules/<id>.cases.jsonl``); differential tests of the compile
targets (EventBridge, SQL) run every one of them through the engine and the target's independent oracle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from detections.rule import Detection
from detections.rule_files import cases_path_of, load_cases


def catalogue_case_records(
    detections: Iterable[Detection] | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(label, record)`` for each case of ``detections`` (default: the built-in catalogue)."""
    if detections is None:
        from detections.catalogue import CATALOGUE

        detections = CATALOGUE
    for detection in detections:
        for case in load_cases(cases_path_of(Path(detection.source))):
            yield f"{detection.id} {case.expect}: {case.case}", case.record
