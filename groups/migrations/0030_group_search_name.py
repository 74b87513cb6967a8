"""A group's name upper-cased as stored, kept by the database, for the search of the groups
(issue 16: a search of 10,000 names upper-cased each one on every page and count)."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0029_open_creations"),
    ]

    operations = [
        migrations.AddField(
            model_name="voiceprintgroup",
            name="search_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper("name"),
                output_field=models.TextField(),
            ),
        ),
    ]
