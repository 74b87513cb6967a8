"""The pages name the Coze account where it matters, and only when there are several."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups.models import CozeAccount, VoiceprintGroup
from groups.services import create_group

from .. import factories


@pytest.fixture
def two(coze_accounts):
    return coze_accounts(default=3, cn2=2)


def made(n, account, device=True):
    return VoiceprintGroup.objects.create(
        coze_id=str(n),
        name=f"group {n}",
        account=CozeAccount.named(account),
        device=factories.device(f"Device {n}", f"DEV-{n}", account=CozeAccount.named(account))
        if device
        else None,
    )


def queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_group_list_shows_and_filters_the_account(two, viewer_client):
    made(1, "default"), made(2, "cn2"), made(3, "cn2")

    page = viewer_client.get("/groups/").content.decode()
    only_cn2 = viewer_client.get("/groups/?account=cn2").content.decode()

    assert "Coze account" in page and 'href="/groups/?account=cn2">cn2</a>' in page
    assert "group 2" in only_cn2 and "group 3" in only_cn2 and "group 1" not in only_cn2


def test_the_group_list_queries_do_not_grow_with_accounts_rows(two, viewer_client):
    made(1, "default")
    few = queries(viewer_client, "/groups/")
    for n in range(2, 12):
        made(n, "cn2" if n % 2 else "default")
    assert queries(viewer_client, "/groups/") == few


def test_one_account_shows_no_account_anywhere(coze_sim, viewer_client, operator):
    device = factories.device("Kiosk", "K-1")
    group = create_group(
        factories.actor(operator), name="g", desc="", device=device, submission=uuid.uuid4()
    )

    for path in ["/groups/", f"/groups/{group.pk}/", f"/devices/{device.pk}/", "/quota/", "/"]:
        assert "Coze account" not in viewer_client.get(path).content.decode(), path


def test_the_group_and_device_pages_name_the_account(two, viewer_client):
    group = made(1, "cn2")

    group_page = viewer_client.get(f"/groups/{group.pk}/").content.decode()
    device_page = viewer_client.get(f"/devices/{group.device.pk}/").content.decode()

    assert '<dt>Coze account</dt><dd><span class="account">cn2</span>' in group_page
    assert '<dt>Coze account</dt><dd><span class="account">cn2</span>' in device_page


def test_quota_and_dashboard_show_each_accounts_gauge_and_the_total(two, viewer_client):
    made(1, "cn2"), made(2, "cn2"), made(3, "default")

    for path in ["/quota/", "/"]:
        page = viewer_client.get(path).content.decode()
        assert "3 of 5 groups used" in page, path  # the total
        assert "1 of 3 groups used" in page and "2 of 2 groups used" in page, path
        assert 'href="/groups/?account=cn2">cn2</a></h3>' in page, path


def test_audit_rows_name_their_account(two, operator, viewer_client):
    device = factories.device("Kiosk", "K-1")
    create_group(
        factories.actor(operator),
        name="g",
        desc="",
        device=device,
        submission=uuid.uuid4(),
        account="cn2",
    )

    page = viewer_client.get("/audit/").content.decode()
    filtered = viewer_client.get("/audit/?account=default").content.decode()

    assert '<span class="account">cn2</span>' in page
    assert '<span class="account">cn2</span>' not in filtered


def test_sync_with_coze_starts_a_job_per_account_and_shows_the_jobs(two, administrator_client):
    response = administrator_client.post("/groups/sync/", follow=True)

    assert response.redirect_chain[-1][0] == "/jobs/"
    assert "Sync with Coze started for 2 accounts" in response.content.decode()


def test_the_jobs_pages_name_a_syncs_account(two, administrator_client, viewer_client):
    administrator_client.post("/groups/sync/")

    listed = viewer_client.get("/jobs/").content.decode()

    assert listed.count('<span class="account">') == 2
    assert '<span class="account">cn2</span>' in listed


def test_the_default_accounts_audit_rows_include_those_older_than_several_accounts(
    two, viewer_client, administrator_client
):
    # Final audit rows are never rewritten: those of calls made before there were several
    # accounts name none, and were the default account's.
    factories.audit_row("group.create", target_label="made before accounts")
    factories.audit_row("voiceprint.identify", target_label="tested before accounts")
    factories.audit_row(
        "group.create", target_label="made in cn2", account=CozeAccount.named("cn2")
    )
    factories.audit_row("group.update", target_label="renamed", account=CozeAccount.default())
    factories.audit_row("auth.login", target_label="signed in")  # no account's call

    def listed(query):
        page = viewer_client.get(f"/audit/?{query}").content.decode()
        labels = ["made before", "tested before", "made in cn2", "renamed", "signed in"]
        return [label for label in labels if label in page]

    assert listed("account=default") == ["made before", "tested before", "renamed"]
    assert listed("account=cn2") == ["made in cn2"]
    exported = administrator_client.get("/audit/export.csv?account=default")
    assert "made before accounts" in b"".join(exported.streaming_content).decode("utf-8-sig")
