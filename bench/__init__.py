"""Benchmarks of OpenBPO: ``python -m bench NAME [--db sqlite|postgresql] [--quick] [--runs N]``.

Each benchmark is a module ``bench/NAME.py`` with ``run(options: Options) -> list[Figure]``. The
runner (``bench/__main__.py``) prepares a fresh database, migrates it, calls ``run`` and prints
one JSON object a line per figure. A figure's value and its baseline are medians of several runs
measured side by side, interleaved, in the same process against the same server.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Options:
    """What the runner hands a benchmark: the database kind, the run count and a scratch folder."""

    db: str
    quick: bool
    runs: int
    workdir: Path


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its baseline, both medians of ``runs`` interleaved runs."""

    figure: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    runs: int
    scale: str

    @property
    def ratio(self) -> float:
        """The value divided by its baseline."""
        return self.value / self.baseline_value

    def as_json(self, *, bench: str, db: str) -> dict[str, object]:
        """The figure in the shape every benchmark prints."""
        return {
            "bench": bench,
            "figure": self.figure,
            "value": round(self.value, 3),
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_value": round(self.baseline_value, 3),
            "ratio": round(self.ratio, 3),
            "runs": self.runs,
            "db": db,
            "scale": self.scale,
        }


def benchmark_names() -> list[str]:
    """Every benchmark module in bench/ (private helpers start with an underscore)."""
    return sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_"))


def progress(message: str) -> None:
    """Tell the person watching what is going on (stderr, so stdout stays machine-readable)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    """The median of the runs' values."""
    return statistics.median(values)
