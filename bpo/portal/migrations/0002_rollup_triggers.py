# ruff: noqa: S608 (the SQL is built from constants of this file, never from input)
"""The triggers that keep the dashboards' rollups exact (see bpo.portal.models.RollupMark).

Every write that can change a figure leaves a mark with its service and the instants it touches,
whoever writes it (the app, a bulk insert by COPY, an import, SQL typed by hand):

- an item inserted, deleted, or updated in what the figures read (state, resolution, tags,
  channel, contact, reopenings): its creation and resolution instants, before and after, and
  when its state or tags change the decision instants of its SLA clocks (they may now be left
  out, or counted again);
- an SLA clock whose stop, outcome or breach changes: its decision instants before and after;
- a work session of a resolved item: the item's resolution (its handle time counts there);
- a survey answered or changed: its answer's instant.

An UPDATE that changes none of those columns (an assignment, a due time) leaves no mark, so get
next pays nothing for them. SQLite's table rebuilds drop triggers: a later migration that
rebuilds one of these tables must create them again (bpo/portal/tests/test_rollups.py checks).
"""

from django.db import migrations


MARK = "INSERT INTO portal_rollupmark (client_id, service_id, at, repeat)"

ITEM_COLUMNS = (
    "state",
    "resolved_at",
    "tags",
    "channel",
    "service_id",
    "contact_id",
    "created_at",
    "reopened_count",
)
CLOCK_COLUMNS = ("stopped_at", "met", "breached_at", "item_id")
SESSION_COLUMNS = ("started_at", "last_seen_at", "ended_at", "item_id")
SURVEY_COLUMNS = ("answered_at", "rating", "recommend", "service_id")


def changed(columns, distinct):
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)


# --- PostgreSQL: one function per table, row triggers -------------------------------------------

PG_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION portal_mark_item() RETURNS trigger AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            {MARK} VALUES (OLD.client_id, OLD.service_id, OLD.created_at,
                           OLD.contact_id IS NOT NULL);
            IF OLD.resolved_at IS NOT NULL THEN
                {MARK} VALUES (OLD.client_id, OLD.service_id, OLD.resolved_at, false);
            END IF;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {MARK} VALUES (NEW.client_id, NEW.service_id, NEW.created_at,
                           NEW.contact_id IS NOT NULL);
            IF NEW.resolved_at IS NOT NULL THEN
                {MARK} VALUES (NEW.client_id, NEW.service_id, NEW.resolved_at, false);
            END IF;
        END IF;
        IF TG_OP = 'UPDATE' AND (OLD.state IS DISTINCT FROM NEW.state
                                 OR OLD.tags IS DISTINCT FROM NEW.tags) THEN
            {MARK} SELECT NEW.client_id, NEW.service_id, COALESCE(c.breached_at, c.stopped_at), false
            FROM work_slaclock c
            WHERE c.item_id = NEW.id AND COALESCE(c.breached_at, c.stopped_at) IS NOT NULL;
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION portal_mark_clock() RETURNS trigger AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            {MARK} SELECT w.client_id, w.service_id, t, false
            FROM work_workitem w, unnest(ARRAY[OLD.stopped_at, OLD.breached_at]) AS t
            WHERE w.id = OLD.item_id AND t IS NOT NULL;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {MARK} SELECT w.client_id, w.service_id, t, false
            FROM work_workitem w, unnest(ARRAY[NEW.stopped_at, NEW.breached_at]) AS t
            WHERE w.id = NEW.item_id AND t IS NOT NULL;
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION portal_mark_session() RETURNS trigger AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            {MARK} SELECT w.client_id, w.service_id, w.resolved_at, false FROM work_workitem w
            WHERE w.id = OLD.item_id AND w.resolved_at IS NOT NULL;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {MARK} SELECT w.client_id, w.service_id, w.resolved_at, false FROM work_workitem w
            WHERE w.id = NEW.item_id AND w.resolved_at IS NOT NULL;
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION portal_mark_survey() RETURNS trigger AS $$
    BEGIN
        IF TG_OP <> 'INSERT' AND OLD.answered_at IS NOT NULL THEN
            {MARK} VALUES (OLD.client_id, OLD.service_id, OLD.answered_at, false);
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.answered_at IS NOT NULL THEN
            {MARK} VALUES (NEW.client_id, NEW.service_id, NEW.answered_at, false);
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
]
PG_TABLES = (
    ("work_workitem", "portal_mark_item", ITEM_COLUMNS),
    ("work_slaclock", "portal_mark_clock", CLOCK_COLUMNS),
    ("work_worksession", "portal_mark_session", SESSION_COLUMNS),
    ("portal_survey", "portal_mark_survey", SURVEY_COLUMNS),
)
for table, function, columns in PG_TABLES:
    PG_FORWARD += [
        f"CREATE TRIGGER {table}_rollup_insert_delete AFTER INSERT OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {table}_rollup_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
        f"FOR EACH ROW WHEN ({changed(columns, 'IS DISTINCT FROM')}) "
        f"EXECUTE FUNCTION {function}()",
    ]
PG_REVERSE = [
    *(
        f"DROP TRIGGER IF EXISTS {table}_rollup_{kind} ON {table}"
        for table, _, _ in PG_TABLES
        for kind in ("insert_delete", "update")
    ),
    *(f"DROP FUNCTION IF EXISTS {function}()" for _, function, _ in PG_TABLES),
]

# --- SQLite: row triggers with their statements written out -------------------------------------


def _item_marks(row, repeat):
    return [
        f"{MARK} SELECT {row}.client_id, {row}.service_id, {row}.created_at, {repeat};",
        f"{MARK} SELECT {row}.client_id, {row}.service_id, {row}.resolved_at, 0 "
        f"WHERE {row}.resolved_at IS NOT NULL;",
    ]


def _clock_marks(row):
    return [
        f"{MARK} SELECT w.client_id, w.service_id, {row}.{column}, 0 FROM work_workitem w "
        f"WHERE w.id = {row}.item_id AND {row}.{column} IS NOT NULL;"
        for column in ("stopped_at", "breached_at")
    ]


def _session_marks(row):
    return [
        f"{MARK} SELECT w.client_id, w.service_id, w.resolved_at, 0 FROM work_workitem w "
        f"WHERE w.id = {row}.item_id AND w.resolved_at IS NOT NULL;"
    ]


def _survey_marks(row):
    return [
        f"{MARK} SELECT {row}.client_id, {row}.service_id, {row}.answered_at, 0 "
        f"WHERE {row}.answered_at IS NOT NULL;"
    ]


ITEM_CLOCKS = (
    f"{MARK} SELECT NEW.client_id, NEW.service_id, COALESCE(c.breached_at, c.stopped_at), 0 "
    "FROM work_slaclock c WHERE c.item_id = NEW.id "
    "AND COALESCE(c.breached_at, c.stopped_at) IS NOT NULL "
    "AND (OLD.state IS NOT NEW.state OR OLD.tags IS NOT NEW.tags);"
)
SQLITE_TABLES = {
    "work_workitem": (
        ITEM_COLUMNS,
        _item_marks("NEW", "NEW.contact_id IS NOT NULL"),
        _item_marks("OLD", "OLD.contact_id IS NOT NULL"),
        [ITEM_CLOCKS],
    ),
    "work_slaclock": (CLOCK_COLUMNS, _clock_marks("NEW"), _clock_marks("OLD"), []),
    "work_worksession": (SESSION_COLUMNS, _session_marks("NEW"), _session_marks("OLD"), []),
    "portal_survey": (SURVEY_COLUMNS, _survey_marks("NEW"), _survey_marks("OLD"), []),
}
SQLITE_FORWARD = []
for table, (columns, new, old, extra) in SQLITE_TABLES.items():
    SQLITE_FORWARD += [
        f"CREATE TRIGGER {table}_rollup_insert AFTER INSERT ON {table} "
        f"BEGIN {' '.join(new)} END",
        f"CREATE TRIGGER {table}_rollup_delete AFTER DELETE ON {table} "
        f"BEGIN {' '.join(old)} END",
        f"CREATE TRIGGER {table}_rollup_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
        f"WHEN {changed(columns, 'IS NOT')} BEGIN {' '.join(old + new + extra)} END",
    ]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {table}_rollup_{kind}"
    for table in SQLITE_TABLES
    for kind in ("insert", "delete", "update")
]


def forward(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in PG_FORWARD if postgresql else SQLITE_FORWARD:
        schema_editor.execute(statement, params=None)


def reverse(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in PG_REVERSE if postgresql else SQLITE_REVERSE:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("work", "0011_reopened_count"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
