"""Count each item's reopenings (first-contact resolution needs them), from its timeline."""

from collections import Counter

from django.db import migrations, models


def count_reopenings(apps, schema_editor):
    """Items reopened before this migration: their 'resolved → open' state changes."""
    Event = apps.get_model("work", "Event")
    WorkItem = apps.get_model("work", "WorkItem")
    reopened = Counter(
        item_id
        for item_id, data in Event._base_manager.filter(kind="state_changed")
        .values_list("item_id", "data")
        .iterator(chunk_size=5000)
        if isinstance(data, dict) and data.get("before") == "resolved" and data.get("after") == "open"
    )
    for item_id, count in reopened.items():
        WorkItem._base_manager.filter(pk=item_id).update(reopened_count=count)


class Migration(migrations.Migration):
    dependencies = [
        ("work", "0010_agent_load_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="workitem",
            name="reopened_count",
            field=models.PositiveIntegerField(
                default=0,
                db_default=0,
                help_text="Times the item was reopened after a resolution (FCR counts it).",
            ),
        ),
        migrations.RunPython(count_reopenings, migrations.RunPython.noop),
    ]
