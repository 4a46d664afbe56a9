"""Every benchmark in bench/ still runs: ``python -m bench NAME --quick`` on this run's database.

No timings are asserted (they belong in docs/benchmarks.md), only that each benchmark finishes
and ends with well-formed figures. The benchmark sets up its own database, so these tests use
no pytest-django database; on the PostgreSQL run, DATABASE_URL names the server it uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from bench import benchmark_names

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "bench",
    "figure",
    "value",
    "unit",
    "baseline",
    "baseline_value",
    "ratio",
    "runs",
    "db",
    "scale",
}
TIMEOUT_SECONDS = 180
# Counts of things that must not happen: rightly 0 (their baseline says how many were checked).
ZERO_GOOD = {"mismatches", "double_assignments"}


def database_kind() -> str:
    """The database this test run is on, in the runner's words."""
    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def test_there_are_benchmarks() -> None:
    assert "api" in benchmark_names()


@pytest.mark.bench
@pytest.mark.parametrize("name", benchmark_names())
def test_benchmark_runs_quick_and_prints_figures(name: str) -> None:
    db = database_kind()
    command = [sys.executable, "-m", "bench", name, "--quick", "--db", db]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the runner stops its server and drops its database on SIGTERM
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"{' '.join(command)} took over {TIMEOUT_SECONDS} s\n{err}")
    assert proc.returncode == 0, f"{' '.join(command)} exited {proc.returncode}\n{err}"

    figures = []
    for line in reversed(out.strip().splitlines()):
        if not line.startswith("{"):
            break
        figures.append(json.loads(line))
    assert figures, f"no figures at the end of the output:\n{out}\n{err}"
    for figure in figures:
        assert set(figure) == KEYS, figure
        assert figure["bench"] == name
        assert figure["db"] == db
        assert figure["runs"] >= 1
        for key in ("value", "baseline_value", "ratio"):
            assert isinstance(figure[key], int | float), figure
        assert figure["baseline_value"] > 0, figure
        if figure["figure"] not in ZERO_GOOD:
            assert figure["value"] > 0 and figure["ratio"] > 0, figure
