"""Device serials in their one canonical form (groups.text): NFKC-normalised, trimmed,
upper-case, with no whitespace, control or invisible character inside; and a check that
keeps them so.

Existing serials are rewritten to that form. If two devices would then share a serial
(`ser-001` and `SER-001`), or a serial would be empty or too long, nothing is changed and the migration
stops, naming them: give them distinct serials with the previous release, then migrate.
"""

import unicodedata

import django.db.models.functions.text
from django.db import migrations, models

import groups.models

# A frozen copy of groups.text's rules, as they stood for this migration.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180b\u180c\u180d\u180f\u17b4\u17b5")


def canonical(serial):
    text = unicodedata.normalize("NFKC", serial).strip().upper()
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        char
        for char in text
        if not char.isspace()
        and char not in BLANKS
        and unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp")
    )


SERIAL_MAX = 100


class SerialsCollide(RuntimeError):
    pass


def to_canonical(apps, schema_editor):
    Device = apps.get_model("groups", "Device")
    devices = list(Device.objects.using(schema_editor.connection.alias).order_by("pk"))
    owners, problems = {}, []
    for device in devices:
        serial = canonical(device.serial)
        if not serial:
            problems.append(f"device #{device.pk} {device.name!r}: serial {device.serial!r} is empty")
        elif len(serial) > SERIAL_MAX:  # NFKC can lengthen a serial (㎒ is MHz)
            problems.append(
                f"device #{device.pk} {device.name!r}: serial {device.serial!r} would be "
                f"longer than {SERIAL_MAX} characters"
            )
        elif serial in owners:
            first = owners[serial]
            problems.append(
                f"devices #{first.pk} {first.name!r} (serial {first.serial!r}) and "
                f"#{device.pk} {device.name!r} (serial {device.serial!r}) would both be {serial!r}"
            )
        else:
            owners[serial] = device
    if problems:
        raise SerialsCollide(
            "Device serials are now stored in one form (upper case, no spaces, no invisible "
            "characters), and these cannot be: give them distinct serials (with the previous "
            "release), then run migrate again. Nothing was changed.\n  " + "\n  ".join(problems)
        )
    for serial, device in owners.items():
        if device.serial != serial:
            Device.objects.using(schema_editor.connection.alias).filter(pk=device.pk).update(
                serial=serial
            )


class Migration(migrations.Migration):
    dependencies = [("groups", "0010_sign_in_and_accounts")]

    operations = [
        migrations.RunPython(to_canonical, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="device",
            name="serial",
            field=groups.models.SerialField(
                error_messages={"unique": "This serial is already used by another device."},
                help_text="The device's own identifier.",
                max_length=100,
                unique=True,
                verbose_name="serial",
            ),
        ),
        migrations.AddConstraint(
            model_name="device",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("serial", django.db.models.functions.text.Upper("serial")),
                    models.Q(("serial", ""), _negated=True),
                    models.Q(("serial__contains", " "), _negated=True),
                ),
                name="device_serial_canonical",
                violation_error_code="invalid",
                violation_error_message=(
                    "A serial is stored in upper case, without spaces, and is never empty."
                ),
            ),
        ),
    ]
