"""The routing stamp (see RoutingStamp) and the triggers that change it.

Any INSERT, UPDATE or DELETE of agents' skills, certifications or queues sets a new random token
in its own statement, so an agent's routing facts cached by any process are seen to be stale at
its next routing decision, whoever wrote the change (the app, a bulk update, SQL by hand).
PostgreSQL fires once per statement (TRUNCATE too); SQLite has row triggers only.
"""

from django.db import migrations, models

TABLES = ("workforce_agentskill", "workforce_certification", "work_queue")

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION work_routing_changed() RETURNS trigger AS $$
    BEGIN
        INSERT INTO work_routingstamp (id, token)
        VALUES (1, floor((random() - 0.5) * 9.2e18)::bigint)
        ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    *(
        f"CREATE TRIGGER {table}_routing_changed "
        f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION work_routing_changed()"
        for table in TABLES
    ),
]
PG_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {table}_routing_changed ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS work_routing_changed()",
]
SQLITE_FORWARD = [
    f"CREATE TRIGGER {table}_routing_changed_{event.lower()} AFTER {event} ON {table} "  # noqa: S608
    "BEGIN INSERT OR REPLACE INTO work_routingstamp (id, token) VALUES (1, random()); END"
    for table in TABLES
    for event in ("INSERT", "UPDATE", "DELETE")
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {table}_routing_changed_{event.lower()}"
    for table in TABLES
    for event in ("INSERT", "UPDATE", "DELETE")
]


def forward(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in PG_FORWARD if postgresql else SQLITE_FORWARD:
        schema_editor.execute(statement, params=None)
    # A random first token too: a database migrated afresh never matches what a running
    # process kept from the one before.
    token = "floor((random() - 0.5) * 9.2e18)::bigint" if postgresql else "random()"
    schema_editor.execute(
        f"INSERT INTO work_routingstamp (id, token) VALUES (1, {token})",  # noqa: S608
        params=None,
    )


def reverse(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in PG_REVERSE if postgresql else SQLITE_REVERSE:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("work", "0008_item_channel"),
        ("workforce", "0002_skills_languages_waiting"),
    ]

    operations = [
        migrations.CreateModel(
            name="RoutingStamp",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(forward, reverse),
    ]
