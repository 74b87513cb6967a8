"""A voiceprint's Coze id is unique within its account, as a group's (0024), no longer
across accounts: two accounts are two Coze teams, whose ids may meet. The database holds
it per group (a voiceprint never leaves its group), with the id first in the index so a
lookup by Coze id reads it as before; the lookups themselves are within one account."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0032_people_list_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="voiceprint",
            name="coze_id",
            field=models.CharField(max_length=32, verbose_name="Coze id"),
        ),
        migrations.AddConstraint(
            model_name="voiceprint",
            constraint=models.UniqueConstraint(
                fields=("coze_id", "group"), name="voiceprint_coze_id_per_group"
            ),
        ),
    ]
