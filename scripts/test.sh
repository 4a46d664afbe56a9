#!/usr/bin/env bash
# The whole test suite, twice: on SQLite and on PostgreSQL, side by side (each pytest is one
# process on one core; the machines have two). Each run's lines are shown prefixed with its database
# and kept in test-artifacts/pytest-<database>.log; the output ends with both summary lines.
# With DATABASE_URL set (postgres://…), the PostgreSQL run uses that server; otherwise a throwaway
# server is started from the local binaries (initdb, pg_ctl; as the postgres user when run as
# root) and removed afterwards. Any failure makes the script exit non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

ensure_chromium() {
    [ -x /usr/bin/chromium ] && return 0
    echo "== Installing Chromium from Debian's packages (browser tests)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

ensure_dovecot() {
    # The IMAP tests fetch mail from a real Dovecot server they start on loopback.
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] && return 0
    echo "== Installing Dovecot from Debian's packages (IMAP tests)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
}

pg_bindir() {
    local initdb
    initdb=$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)
    [ -n "$initdb" ] || { echo "PostgreSQL server binaries (initdb) not found" >&2; return 1; }
    dirname "$(readlink -f "$initdb")"
}

PGTMP=""
stop_postgres() {
    if [ -n "$PGTMP" ] && [ -d "$PGTMP" ]; then
        $PGRUN "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PGTMP"
    fi
}

start_postgres() {
    PGBIN=$(pg_bindir) || return 1
    PGTMP=$(mktemp -d /tmp/openbpo-pg.XXXXXX)
    PGRUN=""
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$PGTMP"
        PGRUN="runuser -u postgres --"
    fi
    local port
    port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    $PGRUN "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust -E UTF8 --no-sync >"$PGTMP/initdb.log" 2>&1 \
        || { cat "$PGTMP/initdb.log"; return 1; }
    $PGRUN "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 \
        -o "-p $port -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$PGTMP/server.log"; return 1; }
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/openbpo"
    echo "== Throwaway PostgreSQL on 127.0.0.1:$port ($PGTMP)"
}

ensure_chromium || { echo "Could not install Chromium" >&2; exit 1; }
ensure_dovecot || { echo "Could not install Dovecot" >&2; exit 1; }
mkdir -p test-artifacts
status=0

echo "== Static checks: ruff, mypy, missing migrations"
.venv/bin/ruff check --quiet . || status=1
.venv/bin/ruff format --check --quiet . || status=1
.venv/bin/mypy --no-error-summary bpo bench tests conftest.py || status=1
env -u DATABASE_URL .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
    || { echo "Model changes without a migration: run manage.py makemigrations" >&2; status=1; }

if [ -z "${DATABASE_URL:-}" ]; then
    trap stop_postgres EXIT
    start_postgres || { echo "Could not start a throwaway PostgreSQL" >&2; exit 1; }
fi

# Both runs import the same modules: let Python keep their bytecode (some shells switch it off).
unset PYTHONDONTWRITEBYTECODE

run_suite() {  # run_suite <name> [env options…] -- [pytest arguments…]
    # Each whole line of the run goes to the terminal under its database's name, and to its log.
    local name=$1; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" .venv/bin/pytest -p no:cacheprovider --basetemp="test-artifacts/tmp-$name" "$@" 2>&1 \
        | tee "test-artifacts/pytest-$name.log" | sed -u "s/^/[$name] /"
    echo "${PIPESTATUS[0]}" >"test-artifacts/pytest-$name.status"
}

echo "== Test suite on SQLite and on PostgreSQL, side by side"
rm -f test-artifacts/pytest-*.status
run_suite sqlite -u DATABASE_URL -- "$@" &
run_suite postgresql -- "$@" &
wait

# The two runs' lines are interleaved above; what failed is repeated here, at the very end, where
# a reader (or a CI page that keeps only the tail) sees it: each failed test's one-line summary.
for name in sqlite postgresql; do
    code=$(cat "test-artifacts/pytest-$name.status" 2>/dev/null || echo 1)
    [ "$code" -eq 0 ] && continue
    grep -E "^(FAILED|ERROR) " "test-artifacts/pytest-$name.log" | sed "s/^/[$name] /" | cut -c1-400
done
for name in sqlite postgresql; do
    code=$(cat "test-artifacts/pytest-$name.status" 2>/dev/null || echo 1)
    [ "$code" -eq 0 ] || status=1
    echo "== $name ($( [ "$code" -eq 0 ] && echo passed || echo "FAILED, exit $code")): $(tail -n 1 "test-artifacts/pytest-$name.log")"
done

exit $status
