"""What the audit log and the pages say: stored as data, read in the reader's language,
with numbers and lists written the reader's way."""

import re
import uuid

from django.test import Client

from groups.models import AuditEntry, Device, VoiceprintGroup


def in_chinese(client):
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    return client


def test_a_row_caused_in_english_reads_in_chinese(operator_client, administrator, device, coze_sim):
    operator_client.post(
        "/groups/new/",
        {"name": "x" * 21, "device": device.pk, "submission": str(uuid.uuid4())},
    )
    entry = AuditEntry.objects.get(action="group.create")
    assert entry.detail == ""  # no sentence is stored, only what happened
    assert entry.facts["errors"]["name"][0]["code"] == "max_length"
    assert entry.explanation == "Not valid: name: is too long (at most 20 characters)."

    reader = Client()
    reader.force_login(administrator)
    in_chinese(reader)
    page = reader.get("/audit/").content.decode()
    assert "无效：名称：过长（最多 20 个字符）。" in page
    export = b"".join(reader.get("/audit/export.csv").streaming_content).decode()
    assert "无效：名称：过长（最多 20 个字符）。" in export


def test_a_permission_refusal_reads_in_the_readers_language(viewer_client, administrator):
    viewer_client.post("/devices/new/", {"name": "x", "serial": "y"})
    reader = Client()
    reader.force_login(administrator)
    in_chinese(reader)
    page = reader.get("/audit/").content.decode()
    assert "不允许：POST /devices/new/ 需要“groups.add_device”权限。" in page


def test_the_quota_refusal_says_what_to_do_and_groups_its_numbers(
    operator_client, device, coze_sim, settings
):
    settings.COZE_GROUP_QUOTA = 1000
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=str(n), name=f"g{n}") for n in range(1000)
    )
    response = operator_client.post(
        "/groups/new/", {"name": "one more", "device": device.pk, "submission": uuid.uuid4()}
    )
    page = response.content.decode()
    assert "1,000 of 1,000 groups are in use" in page
    assert "Delete a group you no longer need first" in page
    assert "1000 of 1000" not in page
    refused = AuditEntry.objects.get(action="group.create")
    assert refused.explanation == "The Coze account was full: 1,000 of 1,000 groups in use."


def test_one_attempt_is_singular(coze_sim, administrator_client, device, operator, run_jobs):
    [coze_id] = coze_sim.seed_groups(1, name_prefix="solo")
    AuditEntry.objects.create(
        action="group.create",
        outcome="unknown",
        device=device,
        actor=operator,
        sent_name="solo 1",
        created_at=VoiceprintGroup._meta.get_field("created_at").default(),
    )
    job_page = administrator_client.post("/groups/sync/")["Location"]
    run_jobs()
    page = administrator_client.get(job_page).content.decode()
    assert "1 attempt resolved" in page
    assert "1 attempts" not in page


def test_a_deleted_devices_history_has_its_deletion_and_its_name(administrator_client, device):
    pk = device.pk
    administrator_client.post(f"/devices/{pk}/delete/")
    assert not Device.objects.filter(pk=pk).exists()

    page = administrator_client.get(f"/audit/?device={pk}")

    entries = list(page.context["page"])
    assert [entry.action for entry in entries] == ["device.delete"]
    assert entries[0].explanation == "Device “Living room speaker” (serial SPK-001) deleted."
    assert page.context["device"]["name"] == "Living room speaker (SPK-001) (deleted)"
    assert "deleted device #" not in page.content.decode()


def test_every_sentence_the_log_can_say_is_in_chinese():
    from django.utils import translation

    from groups import wording

    tables = [wording.SENTENCES, wording.COZE_REASONS, wording.FORM_ERRORS, wording.FIELDS]
    with translation.override("en"):  # whatever an earlier test left active
        english = [{key: str(text) for key, text in table.items()} for table in tables]
    missing = []
    with translation.override("zh-hans"):
        for table, words in zip(tables, english, strict=True):
            missing += [key for key, text in table.items() if str(text) == words[key]]
    assert missing == []


def test_several_form_errors_read_as_one_sentence(operator_client):
    """Each error is a sentence of its own: joined, they read "….; …" (issue 11, item 18)."""
    operator_client.post("/devices/new/", {"name": "", "serial": "", "identify_threshold": 40})
    entry = AuditEntry.objects.get(action="device.create")
    assert entry.explanation.startswith("Not valid: ")
    assert ".;" not in entry.explanation and entry.explanation.count(";") == 1


def test_the_quota_page_groups_the_digits_of_its_counts(viewer_client, settings):
    settings.COZE_GROUP_QUOTA = 2000
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=str(n), name=f"g{n}") for n in range(1002)
    )
    page = viewer_client.get("/quota/").content.decode()
    assert "1,002 created in this period; busiest day: 1,002." in page
    for path in ["/quota/", "/"]:  # counts (the group list shows Coze ids, not counts)
        text = re.sub(r"<[^>]*>", " ", viewer_client.get(path).content.decode())
        text = re.sub(r"\b20\d\d\b", "", text)  # the years of dates
        assert not re.search(r"(?<![\d,.])\d{4,}(?![\d,.])", text), path


def test_a_sync_is_named_as_an_administrators_to_those_who_cannot_start_it(
    operator_client, viewer_client, device, coze_sim, settings
):
    """Operators and Viewers were told to wait for a sync that only an Administrator can
    start (issue 11, item 19): they get what they can do, or whose sync it is."""
    coze_sim.add_fault("drop", times=2)  # the creation, and the lookup after it
    told = operator_client.post(
        "/groups/new/",
        {"name": "lost", "device": device.pk, "submission": str(uuid.uuid4())},
        follow=True,
    ).content.decode()
    assert "Check now" in told and "sync" not in told.split("Coze did not answer")[1][:400]

    waiting = viewer_client.get("/").content.decode()
    assert "An Administrator’s sync with Coze will tell" in waiting
    assert "Check now" in operator_client.get("/").content.decode()

    settings.COZE_GROUP_QUOTA = 3
    VoiceprintGroup.objects.bulk_create(
        VoiceprintGroup(coze_id=str(n), name=f"g{n}") for n in range(3)
    )
    full = operator_client.post(
        "/groups/new/", {"name": "more", "device": device.pk, "submission": str(uuid.uuid4())}
    ).content.decode()
    assert "ask an Administrator to sync with Coze" in full
