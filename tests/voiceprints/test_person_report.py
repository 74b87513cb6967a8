"""What vpadmin holds about a person (/people/<id>/report.csv, and their page): their record,
consents and withdrawals, voiceprints, and each deletion with Coze's logid; one CSV for
spreadsheets, in the reader's language, audited, in a constant number of queries."""

import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups import coze
from groups.models import AuditEntry, Voiceprint, VoiceprintGroup
from tests import audio, factories

KINDS = ["person", "consent", "withdrawal", "voiceprint", "deletion"]


@pytest.fixture
def living_room(coze_sim, device):
    answer = coze.get_client().create_group("living room")
    return VoiceprintGroup.objects.create(
        coze_id=answer.data["id"], name="living room", device=device
    )


def enrolled(group, person, consent, name):
    """`person`'s voiceprint, enrolled on Coze by vpadmin's token."""
    answer = coze.get_client().create_voiceprint(group.coze_id, name, audio.wav(12.0))
    return Voiceprint.objects.create(
        coze_id=answer.data["id"],
        group=group,
        name=name,
        person=person,
        consent=consent,
        keep_until=consent.keep_until,
        enrolled_by_name="olga",
        audio_sha256="ab" * 32,
        duration=12.0,
    )


@pytest.fixture
def mum(living_room, operator):
    """Mum: recorded, a signed consent, then a withdrawn one, and a voiceprint."""
    person = factories.enrollee(
        "Mum", reference="HH-1", notes="Evening shift.", created_by=operator
    )
    first = factories.consent_for(person, recorded_by_name="olga", method="in_person")
    factories.consent_for(
        person,
        recorded_by_name="olga",
        withdrawn_at=timezone.now(),
        withdrawn_by_name="olga",
        withdrawal_method="phone",
        withdrawal_note="Asked by phone.",
    )
    enrolled(living_room, person, first, "Mum")
    return person


def download(client, person, **headers):
    response = client.get(f"/people/{person.pk}/report.csv", **headers)
    assert response.status_code == 200 and response.streaming
    return response, b"".join(response.streaming_content)


def report(client, person, **headers):
    """The report's rows as {header: cell} dicts."""
    _response, body = download(client, person, **headers)
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def of_kind(rows, kind):
    return [row for row in rows if row["kind"] == kind]


def delete_on_page(client, voiceprint):
    client.post(f"/voiceprints/{voiceprint.pk}/delete/")
    voiceprint.refresh_from_db()


# What it holds


def test_it_holds_the_person_their_consents_and_withdrawal_and_their_voiceprint(viewer_client, mum):
    rows = report(viewer_client, mum)

    assert [row["kind"] for row in rows] == [
        "person",
        "consent",
        "consent",
        "withdrawal",
        "voiceprint",
    ]
    [person] = of_kind(rows, "person")
    assert (person["vpadmin id"], person["name"], person["reference"], person["notes"]) == (
        str(mum.pk),
        "Mum",
        "HH-1",
        "Evening shift.",
    )
    assert person["recorded by"] == "olga"
    first, second = mum.consents.order_by("recorded_at", "pk")
    consent = of_kind(rows, "consent")[0]
    assert consent["vpadmin id"] == str(first.pk)
    assert (consent["given by"], consent["how it was given"], consent["recorded by"]) == (
        "the person",
        "in person",
        "olga",
    )
    assert consent["given on"] == first.given_on.isoformat()
    assert consent["kept until"] == first.keep_until.isoformat()
    assert consent["purpose as shown to them"] == first.purpose
    [withdrawal] = of_kind(rows, "withdrawal")
    assert withdrawal["consent"] == str(second.pk)
    assert (withdrawal["withdrawal recorded by"], withdrawal["how they asked"]) == (
        "olga",
        "by phone",
    )
    assert withdrawal["withdrawal note"] == "Asked by phone."
    assert withdrawal["withdrawn at"] == timezone.localtime(second.withdrawn_at).isoformat(
        timespec="seconds"
    )
    [voiceprint] = of_kind(rows, "voiceprint")
    stored = mum.voiceprints.get()
    assert voiceprint["consent"] == str(first.pk)
    assert (voiceprint["device"], voiceprint["group"], voiceprint["Coze id"]) == (
        "Living room speaker",
        "living room",
        stored.coze_id,
    )
    assert (voiceprint["name"], voiceprint["state"], voiceprint["enrolled by"]) == (
        "Mum",
        "active",
        "olga",
    )
    assert voiceprint["audio SHA-256"] == "ab" * 32 and voiceprint["duration (s)"] == "12.0"
    assert voiceprint["kept until"] == first.keep_until.isoformat()


def test_each_deletion_is_there_with_its_time_and_cozes_logid(
    administrator_client, viewer_client, mum, coze_sim
):
    voiceprint = mum.voiceprints.get()
    coze_sim.add_fault("http", method="DELETE")
    delete_on_page(administrator_client, voiceprint)
    coze_sim.clear_faults()
    delete_on_page(administrator_client, voiceprint)

    rows = report(viewer_client, mum)

    failed, done = of_kind(rows, "deletion")  # every attempt, oldest first, marked
    proof = AuditEntry.objects.get(action="voiceprint.delete", outcome="success")
    assert (done["outcome"], done["Coze logid"], done["vpadmin id"]) == (
        "success",
        voiceprint.logid,
        str(proof.pk),
    )
    assert done["Coze logid"] == proof.coze_logid != ""
    assert done["time"] == timezone.localtime(proof.created_at).isoformat(timespec="seconds")
    assert (done["voiceprint"], done["Coze id"], done["actor"]) == (
        str(voiceprint.pk),
        voiceprint.coze_id,
        "ada",
    )
    assert failed["outcome"] == "failure" and "failed" in failed["detail"]
    [listed] = of_kind(rows, "voiceprint")
    assert listed["state"] == "deleted" and listed["gone or deleted at"]


def test_a_voiceprint_deleted_with_its_group_has_the_groups_deletion_as_proof(
    administrator_client, viewer_client, mum, living_room, coze_sim
):
    voiceprint = mum.voiceprints.get()
    # Other rows about the voiceprint and its group are not deletions.
    for action, outcome, target_type, target in [
        ("voiceprint.update", "success", "voiceprint", voiceprint.pk),
        ("group.update", "success", "voiceprintgroup", living_room.pk),
        ("group.delete", "failure", "voiceprintgroup", living_room.pk),
    ]:
        AuditEntry.objects.create(
            action=action, outcome=outcome, target_type=target_type, target_id=str(target)
        )
    administrator_client.post(f"/groups/{living_room.pk}/delete/")

    [deletion] = of_kind(report(viewer_client, mum), "deletion")

    proof = AuditEntry.objects.get(action="group.delete", outcome="success")
    assert (deletion["outcome"], deletion["Coze logid"], deletion["vpadmin id"]) == (
        "success",
        proof.coze_logid,
        str(proof.pk),
    )
    assert deletion["detail"].startswith("Deleted with its group “living room”.")


def test_a_groups_deletion_after_the_voiceprints_own_is_not_counted_twice(
    administrator_client, viewer_client, mum, living_room, coze_sim
):
    delete_on_page(administrator_client, mum.voiceprints.get())
    administrator_client.post(f"/groups/{living_room.pk}/delete/")

    [deletion] = of_kind(report(viewer_client, mum), "deletion")
    assert deletion["Coze logid"] == mum.voiceprints.get().logid


def test_it_holds_nothing_of_anyone_else(administrator_client, viewer_client, mum, living_room):
    dad = factories.enrollee("Dad")
    dads_voice = enrolled(living_room, dad, factories.consent_for(dad), "Dad")
    delete_on_page(administrator_client, dads_voice)

    rows = report(viewer_client, mum)

    assert "Dad" not in {cell for row in rows for cell in row.values()}
    assert not of_kind(rows, "deletion")
    assert [row["kind"] for row in report(viewer_client, dad)] == [
        "person",
        "consent",
        "voiceprint",
        "deletion",
    ]


def test_someone_with_nothing_recorded_has_their_person_row_alone(viewer_client):
    rows = report(viewer_client, factories.enrollee("New"))
    assert [(row["kind"], row["name"]) for row in rows] == [("person", "New")]


# A file for spreadsheets


def test_it_is_one_csv_named_for_the_person_in_utf8_with_a_bom(viewer_client):
    person = factories.enrollee("王小明")

    response, body = download(viewer_client, person)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == f'attachment; filename="person-{person.pk}-report.csv"'
    )
    assert body.startswith("\ufeff".encode())
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert header[0] == "kind" and len(header) == len(set(header))
    assert "王小明" in body.decode("utf-8")


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_no_cell_runs_as_a_formula_in_a_spreadsheet(viewer_client, living_room, start):
    evil = f'{start}HYPERLINK("https://evil.example","x")'
    person = factories.enrollee(evil, reference=f"{start}1+1", notes=evil)
    consent = factories.consent_for(person, purpose=evil, recorded_by_name=f"{start}cmd")
    factories.voiceprint(living_room, f"{start}cmd|' /C calc'!A0", person=person, consent=consent)

    rows = report(viewer_client, person)

    cells = [cell for row in rows for cell in row.values() if cell]
    assert all(not cell.startswith(start) for cell in cells)
    assert of_kind(rows, "person")[0]["name"] == f"'{evil}"
    assert of_kind(rows, "voiceprint")[0]["name"].startswith(f"'{start}cmd")


# In the reader's language


CHINESE_HEADER = [
    "类型",
    "vpadmin 编号",
    "同意",
    "声纹",
    "名称",
    "编号",
    "备注",
    "同意人",
    "监护人姓名",
    "与监护人的关系",
    "同意方式",
    "向其说明的用途",
    "同意日期",
    "保存至",
    "登记时间",
    "登记人",
    "撤回时间",
    "撤回登记人",
    "提出方式",
    "撤回备注",
    "设备",
    "声纹组",
    "Coze ID",
    "状态",
    "录入时间",
    "录入人",
    "音频时间",
    "音频 SHA-256",
    "时长（秒）",
    "消失或删除时间",
    "删除原因",
    "时间",
    "结果",
    "执行人",
    "Coze logid",
    "详情",
]


@pytest.mark.parametrize("how", ["accept-language", "cookie"])
def test_headers_and_words_are_in_the_readers_language(
    administrator_client, viewer_client, mum, coze_sim, how
):
    delete_on_page(administrator_client, mum.voiceprints.get())
    if how == "cookie":
        viewer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        headers = {}
    else:
        headers = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}

    _response, body = download(viewer_client, mum, **headers)

    header, *rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert header == CHINESE_HEADER
    assert [row[0] for row in rows] == ["人员", "同意", "同意", "撤回", "声纹", "删除"]
    cells = {cell for row in rows for cell in row}
    assert {"本人", "当面", "电话", "已删除", "成功"} <= cells


# Who may take it, and the log of who did


@pytest.mark.parametrize("role", ["Viewer", "Operator", "Administrator"])
def test_every_role_that_sees_people_may_take_it_and_each_download_is_audited(
    make_user, client, mum, role
):
    user = make_user("reader", role)
    client.force_login(user)

    report(client, mum)

    [entry] = AuditEntry.objects.filter(action="person.report")
    assert (entry.outcome, entry.actor, entry.target_type, entry.target_id) == (
        "success",
        user,
        "person",
        str(mum.pk),
    )
    assert entry.target_label == "Mum"
    assert entry.explanation == (
        "Report downloaded, holding 2 consents, 1 withdrawal, 1 voiceprint, 0 deletions."
    )
    page = client.get(f"/people/{mum.pk}/").content.decode()
    assert "download a person&#x27;s report" in page  # in their history


def test_someone_without_a_role_gets_403_and_an_audit_row(make_user, client, mum):
    client.force_login(make_user("nobody"))

    response = client.get(f"/people/{mum.pk}/report.csv")

    assert response.status_code == 403
    [entry] = AuditEntry.objects.filter(action="permission.denied")
    assert f"/people/{mum.pk}/report.csv" in entry.explanation
    assert not AuditEntry.objects.filter(action="person.report").exists()


def test_signed_out_it_asks_to_sign_in(client, mum):
    response = client.get(f"/people/{mum.pk}/report.csv")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("n", ["0", "999999", "9" * 19, "-1", "abc"])
def test_a_person_who_does_not_exist_is_404(viewer_client, n):
    assert viewer_client.get(f"/people/{n}/report.csv").status_code == 404
    assert not AuditEntry.objects.filter(action="person.report").exists()


# On the person's page


def test_the_persons_page_shows_the_deletions_and_links_to_the_report(
    administrator_client, viewer_client, mum, coze_sim
):
    voiceprint = mum.voiceprints.get()
    delete_on_page(administrator_client, voiceprint)

    page = viewer_client.get(f"/people/{mum.pk}/").content.decode()

    section = page.split("What vpadmin holds")[1].split("History")[0]
    assert f'href="/people/{mum.pk}/report.csv"' in section
    assert voiceprint.logid in section and "success" in section
    assert not AuditEntry.objects.filter(action="person.report").exists()  # only on download


def test_the_persons_page_says_when_nothing_was_deleted(viewer_client, mum):
    page = viewer_client.get(f"/people/{mum.pk}/").content.decode()
    assert "None of their voiceprints has been deleted." in page


# Cost


def voices_with_deletions(person, consent, device, n, offset):
    """`n` voiceprints of `person`, each with a failed and a successful deletion, and a
    deleted group that took one more with it."""
    group = factories.group(device)
    voiceprints = [
        factories.voiceprint(group, f"v{offset + i}", person=person, consent=consent)
        for i in range(n)
    ]
    for voiceprint in voiceprints:
        for outcome in ("failure", "success"):
            factories.audit_row(
                "voiceprint.delete",
                outcome,
                target_type="voiceprint",
                target_id=str(voiceprint.pk),
                coze_logid=f"LOG-{voiceprint.pk}-{outcome}",
            )
    gone = factories.group(device, state="deleted")
    factories.voiceprint(gone, f"g{offset}", person=person, state="deleted")
    factories.audit_row(
        "group.delete", target_type="voiceprintgroup", target_id=str(gone.pk), coze_logid="G"
    )


def queries_of(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["/people/{pk}/report.csv", "/people/{pk}/"])
def test_its_queries_do_not_grow_with_voiceprints_and_deletions(viewer_client, device, page):
    person = factories.enrollee("Busy")
    consent = factories.consent_for(person)
    factories.consent_for(person, withdrawn_at=timezone.now() - timedelta(days=1))
    voices_with_deletions(person, consent, device, 1, 0)
    path = page.format(pk=person.pk)

    few = queries_of(viewer_client, path)
    voices_with_deletions(person, consent, device, 30, 100)
    many = queries_of(viewer_client, path)

    assert many == few
    if path.endswith(".csv"):
        assert len(of_kind(report(viewer_client, person), "deletion")) == 2 * 31 + 2
