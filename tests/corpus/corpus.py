"""Access to ../shared/corpus (reference data outside the repo), with a visible skip when it is absent."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# BASELINE_CORPUS_DIR: where the corpus is when the checkout is not next to it (e.g. a git worktree).
CORPUS_DIR = Path(os.environ.get("BASELINE_CORPUS_DIR") or REPO_ROOT.parent / "shared" / "corpus")


@dataclass(frozen=True)
class CorpusRecord:
    """One corpus line; ``record_id`` is "<file stem>:<line number>", stable while the file is unchanged."""

    record_id: str
    source: str
    label: dict[str, Any]
    event: dict[str, Any]


def corpus_file(name: str) -> Path:
    path = CORPUS_DIR / name
    if not path.is_file():
        pytest.skip(
            f"corpus file {path} not found (the shared corpus lives outside the repo; see tests/corpus)"
        )
    return path


def load(name: str) -> list[CorpusRecord]:
    return list(iter_corpus(corpus_file(name)))


def iter_corpus(path: Path) -> Iterator[CorpusRecord]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                data = json.loads(line)
                yield CorpusRecord(f"{path.stem}:{number}", data["source"], data["label"], data["event"])


def all_corpus_files() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"shared corpus {CORPUS_DIR} not found (it lives outside the repo)")
    return sorted(CORPUS_DIR.glob("*.jsonl"))
