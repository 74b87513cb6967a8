"""The interface in English and Simplified Chinese."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from groups.models import AuditEntry, Job, SignInLock, VoiceprintGroup

from .. import factories


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", ["Dashboard", "Audit log", "Quota"]), ("zh-hans", ["仪表盘", "审计日志", "配额"])],
)
def test_the_dashboard_follows_the_browser_language(viewer_client, language, expected):
    page = viewer_client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert all(text in page for text in expected)


def test_the_switcher_changes_the_language(viewer_client):
    response = viewer_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/groups/"})
    assert response["Location"] == "/groups/"
    assert "声纹组" in viewer_client.get("/groups/").content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_switcher_names_each_language_in_that_language(client, db, language):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', page)
    assert options == [("en", "English"), ("zh-hans", "简体中文")]
    assert f'<option value="{language}" selected>' in page


class VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes and labelling attributes (not code, such
    as a command to run)."""

    LABELS = {"placeholder", "aria-label", "title", "alt"}

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title", "code"):
            self.hidden += 1
        self.parts += [value for name, value in attrs if name in self.LABELS and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title", "code"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


# Names, codes and data that stay as they are in Chinese pages.
NOT_WORDS = {
    "vpadmin",
    "Coze",
    "HTTP",
    "logid",
    "ID",
    "CSV",
    "English",
    "COZE_API_TOKEN",
    "API",  # kept as it is in Chinese too (API 令牌)
    "api",  # in the paths /api/ and /api/docs/
    "docs",
    "http",
    "ada",
    "SPK",
    "KIOSK",
    "mallory",
    "WAV",  # audio formats, as the files are named
    "FLAC",
    "OGG",
    "WebM",
    "UTF",  # a CSV file's encoding, Excel's name for it, its byte order mark
    "Excel",
    "BOM",
}
MAIN_PAGES = [
    "/",
    "/devices/",
    "/devices/{device}/",
    "/devices/{device}/edit/",
    "/devices/new/",
    "/imports/new/",
    "/devices/{device}/delete/",
    "/groups/",
    "/groups/?device=none",
    "/groups/new/",
    "/groups/{group}/",
    "/groups/{group}/edit/",
    "/groups/{group}/delete/",
    "/audit/",
    "/quota/",
    "/team/",
    "/team/new/",
    "/team/{person}/",
    "/me/",
    "/jobs/",
    "/jobs/{job}/",
    "/jobs/{running}/",
    "/accounts/login/",
    "/people/",
    "/people/new/",
    "/people/{person_in_force}/",
    "/people/{person_in_force}/edit/",
    "/people/{person_in_force}/consent/",
    "/people/{person_withdrawn}/",
    "/people/{person_in_force}/withdraw/",
    "/jobs/{deletions}/",
    "/identify/",
    "/identify/?device={device}",
    "/identify/?q=客厅",
]


def test_no_english_is_left_on_the_main_pages_in_chinese(
    administrator_client, administrator, device, settings
):
    settings.COZE_SIMULATED = True  # the banner too
    group = VoiceprintGroup.objects.create(coze_id="1", name="客厅", desc="家人", device=device)
    VoiceprintGroup.objects.create(coze_id="2", name="书房")
    AuditEntry.objects.create(
        action="group.create",
        outcome="failure",
        device=device,
        sent_name="书房",
        coze_code=4101,
        coze_logid="202506091635425D49D29729AD9",
        http_status=200,
        actor_username="ada",
    )
    device.name, device.location = "客厅音箱", "客厅"
    device.save()
    SignInLock.objects.create(  # the team page's locks, in Chinese too
        kind="username",
        key="mallory",
        failures=5,
        window_started_at=timezone.now(),
        locked_until=timezone.now() + timedelta(minutes=15),
    )
    AuditEntry.objects.create(
        action="account.create",
        outcome="success",
        actor_username="ada",
        facts={"say": "account_created", "username": "ada", "role": "Operator"},
    )
    synced = Job.objects.create(  # a finished sync, with a row per page of Coze's list
        kind="sync",
        state="succeeded",
        user=administrator,
        username="ada",
        done=1,
        total=1,
        results=[{"outcome": "success", "facts": {"say": "listed_page", "page": 1, "groups": 2}}],
        summary={
            "say": "synced",
            "counts": {"imported": 2, "updated": 0, "gone": 0, "resolved": 0},
            "total": 2,
            "calls": 1,
        },
    )
    running = Job.objects.create(  # resumed after its worker stopped, and waiting for one
        kind="sync",
        state="queued",
        username="ada",
        attempts=1,
        created_at=timezone.now() - timedelta(hours=1),
        summary={"say": "job_resumed", "why": "silent", "seconds": 60},
    )
    child = factories.enrollee("王小明", reference="2026-01")  # enrolled, a guardian consented
    factories.consent_for(
        child,
        given_by="guardian",
        guardian_name="李娜",
        guardian_relation="母亲",
        purpose="识别声音",
        recorded_by_name="ada",
    )
    # Its keeping date comes within 30 days: on the dashboard.
    factories.voiceprint(
        group, "王小明", person=child, keep_until=timezone.localdate() + timedelta(days=10)
    )
    withdrawn = factories.enrollee("张伟")
    factories.consent_for(
        withdrawn,
        withdrawn_at=timezone.now(),
        withdrawn_by_name="ada",
        withdrawal_method="phone",
        purpose="识别",
        recorded_by_name="ada",
    )
    requested = {"deletion_requested_at": timezone.now(), "deletion_reason": "withdrawal"}
    factories.voiceprint(  # Coze was down: tried again later
        group,
        "张伟",
        person=withdrawn,
        deletion_next_try_at=timezone.now(),
        deletion_attempts=2,
        deletion_error="timeout",
        **requested,
    )
    factories.voiceprint(  # a colleague's: only its maker can delete it
        group, "张伟 2", person=withdrawn, deletion_error="not_the_maker", **requested
    )
    factories.voiceprint(  # done, with the proof
        group,
        "张伟 3",
        person=withdrawn,
        state="deleted",
        ended_at=timezone.now(),
        logid="202612070404394E7FC23696C5C2987354",
        **requested,
    )
    deletions = Job.objects.create(
        kind="deletions",
        state="succeeded",
        username="ada",
        done=1,
        total=1,
        results=[
            {
                "outcome": "failure",
                "facts": {
                    "say": "deletion_retry",
                    "name": "张伟",
                    "person": "张伟",
                    "reason": "timeout",
                    "seconds": 10,
                    "attempts": 1,
                },
            }
        ],
        summary={"say": "deletions_run", "deleted": 0, "waiting": 1, "stuck": 0},
    )
    AuditEntry.objects.create(  # a test on the device: its page lists it
        action="voiceprint.identify",
        outcome="success",
        device=device,
        target_type="voiceprintgroup",
        target_id=str(group.pk),
        target_label=group.name,
        actor_username="ada",
        coze_logid="202612070404394E7FC23696C5C2987354",
        facts={
            "say": "identified",
            "clip_seconds": 5.2,
            "threshold": 40,
            "top": {"feature_id": "7", "name": "王小明", "person": "王小明", "person_id": child.pk,
                    "score": 81.5, "recognised": True},
            "scores": [{"feature_id": "7", "score": 81.5}],
            "count": 1,
        },
    )  # fmt: skip
    administrator_client.post(f"/people/{child.pk}/edit/", {"name": "王小明", "notes": "二年级"})
    administrator_client.post(f"/people/{child.pk}/consent/", {"given_by": "guardian"})  # refused
    administrator_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    leftovers = {}
    for page in MAIN_PAGES:
        path = page.format(
            device=device.pk,
            group=group.pk,
            person=administrator.pk,
            job=synced.pk,
            running=running.pk,
            person_in_force=child.pk,
            person_withdrawn=withdrawn.pk,
            deletions=deletions.pk,
        )
        response = administrator_client.get(path)
        assert response.status_code == 200, path
        parser = VisibleText()
        parser.feed(response.content.decode())
        words = set(re.findall(r"[A-Za-z_]{3,}", " ".join(parser.parts))) - NOT_WORDS
        if words:
            leftovers[path] = sorted(words)
    assert leftovers == {}


def test_the_switcher_works_before_signing_in(client, db):
    response = client.post(
        "/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/?next=/groups/"}
    )
    assert response["Location"] == "/accounts/login/?next=/groups/"
    assert "登录 vpadmin" in client.get("/accounts/login/").content.decode()


def test_an_identification_result_is_in_chinese(operator_client, coze_sim, device):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from groups import coze
    from tests import audio

    audio.need_espeak()
    coze_id = coze.get_client().create_group("客厅").data["id"]
    group = VoiceprintGroup.objects.create(coze_id=coze_id, name="客厅", device=device)
    known, unknown = coze_sim.seed_voiceprints(coze_id, 2)
    factories.voiceprint(group, "妈妈", coze_id=known, person=factories.enrollee("妈妈"))
    device.name, device.identify_threshold = "客厅音箱", 1  # every voiceprint recognised
    device.save()
    operator_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

    response = operator_client.post(
        "/identify/",
        {"group": group.pk, "top_k": "", "audio": SimpleUploadedFile("a.wav", audio.speech())},
    )

    result = response.context["result"]
    assert result is not None
    parser = VisibleText()
    parser.feed(response.content.decode())
    text = " ".join(parser.parts).replace(result.logid, "")  # hex, whose letters are no words
    words = set(re.findall(r"[A-Za-z_]{3,}", text)) - NOT_WORDS
    # The operator's username, and the name Coze gave the voiceprint not in the register.
    assert words == {"olga", "remote", "voiceprint"}
