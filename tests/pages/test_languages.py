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
    "http",
    "ada",
    "SPK",
    "KIOSK",
    "mallory",
}
MAIN_PAGES = [
    "/",
    "/devices/",
    "/devices/{device}/",
    "/devices/{device}/edit/",
    "/devices/new/",
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
    factories.voiceprint(group, "王小明", person=child)
    withdrawn = factories.enrollee("张伟")
    factories.consent_for(
        withdrawn, withdrawn_at=timezone.now(), purpose="识别", recorded_by_name="ada"
    )
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
