"""What a name and a serial may be: visible characters only, in every field that names
something; a serial in one canonical form (NFKC, trimmed, upper-case, no spaces), unique in
that form, kept so by the database."""

import uuid
from importlib import import_module

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from groups.models import AuditEntry, Device, VoiceprintGroup
from groups.text import canonical_serial, invisible_character

INVISIBLE = {
    "zero-width space": "\u200b",
    "right-to-left override": "\u202e",
    "left-to-right mark": "\u200e",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "Hangul filler": "\u3164",
    "Mongolian vowel separator": "\u180e",
}


def new_device(client, **fields):
    return client.post("/devices/new/", {"name": "Car", "serial": "CAR-7", **fields})


def new_group(client, device, **fields):
    data = {"name": "Family", "desc": "", "device": device.pk, "submission": str(uuid.uuid4())}
    return client.post("/groups/new/", {**data, **fields})


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("field", ["name", "serial", "location"])
def test_a_device_named_with_an_invisible_character_is_refused(operator_client, field, char):
    response = new_device(operator_client, **{field: f"SPK{char}01"})
    assert response.status_code == 200 and not Device.objects.exists()
    assert "Invisible or direction-changing characters are not allowed" in response.content.decode()
    assert f"U+{ord(char):04X}" in response.content.decode()
    entry = AuditEntry.objects.get(action="device.create")
    assert entry.outcome == "refused"
    assert entry.explanation == (
        f"Not valid: {field}: contains invisible or direction-changing characters."
    )


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("field", ["name", "desc"])
def test_a_group_named_with_an_invisible_character_never_reaches_coze(
    operator_client, device, coze_sim, field, char
):
    response = new_group(operator_client, device, **{field: f"Fam{char}ily"})
    assert response.status_code == 200 and not VoiceprintGroup.objects.exists()
    assert "Invisible or direction-changing characters are not allowed" in response.content.decode()
    assert not coze_sim.requests


def test_a_group_named_only_a_zero_width_space_is_refused(operator_client, device, coze_sim):
    response = new_group(operator_client, device, name="\u200b")
    assert response.status_code == 200 and not coze_sim.requests


@pytest.mark.parametrize("blank", [" ", "\u3000", "\u00a0 \u2003", "\t"])
def test_a_name_of_whitespace_alone_is_required(operator_client, device, coze_sim, blank):
    assert "This field is required." in new_device(operator_client, name=blank).content.decode()
    assert "This field is required." in new_device(operator_client, serial=blank).content.decode()
    group = new_group(operator_client, device, name=blank)
    assert "This field is required." in group.content.decode()
    assert not Device.objects.exclude(pk=device.pk).exists() and not coze_sim.requests


def test_names_are_trimmed(operator_client):
    new_device(operator_client, name="\u3000 Car \u00a0", location=" garage ")
    device = Device.objects.get()
    assert (device.name, device.location) == ("Car", "garage")


@pytest.mark.parametrize("emoji", ["👩‍💻", "👨‍👩‍👧", "🏳️‍🌈", "👍🏽", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "❤️"])
def test_an_emoji_drawn_with_joiners_is_visible(operator_client, device, coze_sim, emoji):
    assert invisible_character(emoji) is None
    new_group(operator_client, device, name=f"Team {emoji}")
    assert VoiceprintGroup.objects.get().name == f"Team {emoji}"


def test_a_joiner_outside_an_emoji_is_invisible():
    assert invisible_character("ab\u200dcd") == "\u200d"
    assert invisible_character("\u200d👩") == "\u200d"
    assert invisible_character("tag\U000e0067") == "\U000e0067"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("SER-001", "SER-001"),
        ("ser-001", "SER-001"),
        ("  Ser-001\u3000", "SER-001"),
        ("ＳＥＲ－００１", "SER-001"),
        ("ｓｅｒ-001", "SER-001"),
        ("straße-1", "STRASSE-1"),
    ],
)
def test_a_serial_is_stored_in_its_one_form(operator_client, typed, stored):
    response = new_device(operator_client, serial=typed)
    assert response.status_code == 302
    assert Device.objects.get().serial == stored


@pytest.mark.parametrize(
    "twin", ["SPK-001", "spk-001", "ＳＰＫ-００１", " Spk-001 ", "ｓｐｋ－００１"]
)
def test_a_serial_typed_another_way_is_already_used(operator_client, device, twin):
    response = new_device(operator_client, name="Twin", serial=twin)
    assert response.status_code == 200 and Device.objects.count() == 1
    assert "This serial is already used by another device." in response.content.decode()
    entry = AuditEntry.objects.get(action="device.create")
    assert (entry.outcome, entry.explanation) == ("refused", "Not valid: serial: is already used.")


def test_already_used_is_said_in_the_readers_language(operator_client, device):
    response = operator_client.post(
        "/devices/new/", {"name": "Twin", "serial": "spk-001"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "这个序列号已被另一台设备使用。" in response.content.decode()


def test_a_serial_has_no_spaces_inside(operator_client):
    response = new_device(operator_client, serial="SER 001")
    assert "A serial has no spaces" in response.content.decode()
    assert not Device.objects.exists()


def test_editing_a_device_keeps_its_own_serial(operator_client, device):
    response = operator_client.post(
        f"/devices/{device.pk}/edit/", {"name": "Speaker", "serial": "spk-001"}
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert (device.name, device.serial) == ("Speaker", "SPK-001")


def test_every_save_stores_the_serial_in_its_one_form(db):
    assert Device.objects.create(name="Car", serial=" car-7 ").serial == "CAR-7"
    assert Device.objects.bulk_create([Device(name="Van", serial="ｖａｎ-1")])[0].serial == "VAN-1"
    assert Device.objects.get(name="Van").serial == "VAN-1"


@pytest.mark.parametrize("stored", ["spk-001", "", "SPK 001"])
def test_the_database_refuses_a_serial_in_another_form(device, stored):
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.filter(pk=device.pk).update(serial=stored)


def test_the_canonical_form_is_stable():
    for text in ["ǰ-1", "ﬁx", "ß", "Ⅻ", "ｶﾀｶﾅ", "㍻", "ǅ"]:
        serial = canonical_serial(text)
        assert canonical_serial(serial) == serial == serial.upper()


MIGRATION = "0011_device_serial_canonical"
BEFORE = ("groups", "0010_sign_in_and_accounts")
AFTER = ("groups", MIGRATION)


@pytest.fixture
def then_latest():
    """Leave the database at the latest migration again, as the later tests need it."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("then_latest")
def test_the_migration_rewrites_existing_serials_in_their_one_form():
    old = migrate(BEFORE).get_model("groups", "Device")
    old.objects.create(name="Car", serial=" ser-001 ")
    old.objects.create(name="Kiosk", serial="ＫＳＫ\u200b-42")
    old.objects.create(name="Van", serial="VAN 9")
    migrate(AFTER)
    assert sorted(Device.objects.values_list("serial", flat=True)) == [
        "KSK-42",
        "SER-001",
        "VAN9",
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("then_latest")
def test_the_migration_stops_and_names_serials_that_would_collide():
    old = migrate(BEFORE).get_model("groups", "Device")
    old.objects.create(name="Car", serial="SER-001")
    old.objects.create(name="Truck", serial="ser-001")
    collide = import_module(f"groups.migrations.{MIGRATION}").SerialsCollide
    with pytest.raises(collide, match=r"'Car' \(serial 'SER-001'\) and #\d+ 'Truck'"):
        migrate(AFTER)
    assert sorted(old.objects.values_list("serial", flat=True)) == ["SER-001", "ser-001"]
    old.objects.filter(name="Truck").update(serial="SER-002")
    migrate(AFTER)
    assert sorted(Device.objects.values_list("serial", flat=True)) == ["SER-001", "SER-002"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("then_latest")
def test_the_migration_stops_on_a_serial_that_would_grow_too_long():
    old = migrate(BEFORE).get_model("groups", "Device")
    old.objects.create(name="Radio", serial="㎒" + "x" * 98)  # NFKC: ㎒ is MHz
    collide = import_module(f"groups.migrations.{MIGRATION}").SerialsCollide
    with pytest.raises(collide, match=r"'Radio'.*longer than 100 characters"):
        migrate(AFTER)
    old.objects.filter(name="Radio").update(serial="MHZ-1")
    migrate(AFTER)


def test_no_form_lets_the_browser_cut_a_name(administrator_client, client, device, coze_sim):
    # Browsers count maxlength in UTF-16 units: 15 emoji would be cut to 10 before sending.
    group = VoiceprintGroup.objects.create(coze_id="7001", name="Family", device=device)
    for path in [
        "/devices/new/",
        f"/devices/{device.pk}/edit/",
        "/groups/new/",
        f"/groups/{group.pk}/edit/",
    ]:
        page = administrator_client.get(path).content.decode()
        assert "<form" in page and "maxlength" not in page, path
    for path in ["/accounts/login/"]:  # /admin/login/ sends here
        page = client.get(path).content.decode()
        assert "<form" in page and "maxlength" not in page, path


def test_the_limits_are_in_the_help_text_and_counted_in_characters(operator_client, device):
    page = operator_client.get("/devices/new/").content.decode()
    assert "At most 100 characters" in page and "at most 200 characters" in page
    assert new_device(operator_client, name="🎤" * 100).status_code == 302
    response = new_device(operator_client, name="🎤" * 101, serial="CAR-8")
    assert "at most 100 characters (it has 101)" in response.content.decode()
