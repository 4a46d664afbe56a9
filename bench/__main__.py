"""The benchmark runner: a fresh database, migrated, then one benchmark module; figures last."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

from bench import Figure, Options, benchmark_names, progress

QUICK_RUNS = 2
FULL_RUNS = 5
# Environment that would make the server differ from production (test or debug settings).
NOT_PRODUCTION = ("PYTEST_VERSION", "OPENBPO_DEBUG")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: NAME [--db sqlite|postgresql] [--quick] [--runs N]."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=benchmark_names(), help="the benchmark module to run")
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="sqlite: a fresh file in a temporary folder (default); postgresql: a "
        "fresh database on the server of DATABASE_URL, dropped afterwards",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument(
        "--runs", type=int, help=f"runs per figure (default {FULL_RUNS}, {QUICK_RUNS} with --quick)"
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.db == "postgresql" and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error(
            "--db postgresql needs DATABASE_URL=postgres://user@host:port/name "
            "(the server where a throwaway benchmark database is created)"
        )
    return args


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    """A fresh SQLite file in the scratch folder (removed with it)."""
    yield f"sqlite:///{workdir / 'bench.sqlite3'}"


@contextmanager
def postgresql_database(server_url: str) -> Iterator[str]:
    """A fresh database ``openbpo_bench_<pid>`` on the server of ``server_url``, dropped after."""
    import psycopg
    from psycopg import sql

    name = f"openbpo_bench_{os.getpid()}"
    server = urlsplit(server_url)

    def admin_connection() -> psycopg.Connection:
        # The maintenance database first (the named one may not exist yet), as Django does.
        try:
            return psycopg.connect(urlunsplit(server._replace(path="/postgres")), autocommit=True)
        except psycopg.OperationalError:
            return psycopg.connect(server_url, autocommit=True)

    with admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    progress(f"created database {name} on {server.hostname}:{server.port or 5432}")
    try:
        yield urlunsplit(server._replace(path=f"/{name}"))
    finally:
        with admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        progress(f"dropped database {name}")


def run_benchmark(args: argparse.Namespace, workdir: Path, database_url: str) -> list[Figure]:
    """Point Django at the bench database, migrate it and run the benchmark module."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["OPENBPO_VAR_DIR"] = str(workdir)  # never var/: its own secret key and static root
    os.environ["DJANGO_SETTINGS_MODULE"] = "bpo.settings"
    for name in NOT_PRODUCTION:
        os.environ.pop(name, None)

    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    try:
        progress(f"migrating the {args.db} benchmark database")
        call_command("migrate", interactive=False, verbosity=0)
        module = importlib.import_module(f"bench.{args.name}")
        options = Options(
            db=args.db,
            quick=args.quick,
            workdir=workdir,
            runs=args.runs or (QUICK_RUNS if args.quick else FULL_RUNS),
        )
        figures: list[Figure] = module.run(options)
        return figures
    finally:
        connections.close_all()


def _terminate(signum: int, frame: object) -> NoReturn:
    """Turn SIGTERM into an exit, so servers are stopped and databases dropped on the way out."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run one benchmark and print its figures, one JSON object a line."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    with tempfile.TemporaryDirectory(prefix="openbpo-bench-") as tmp:
        workdir = Path(tmp)
        database = (
            postgresql_database(os.environ["DATABASE_URL"])
            if args.db == "postgresql"
            else sqlite_database(workdir)
        )
        with database as database_url:
            figures = run_benchmark(args, workdir, database_url)
    for figure in figures:
        print(json.dumps(figure.as_json(bench=args.name, db=args.db)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
