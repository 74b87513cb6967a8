"""A Coze account taken out of the settings while the register still holds its groups and
devices: nothing is sent with it, and every page and audit row says so plainly."""

import uuid

import pytest
from django.utils import translation

from groups.models import AuditEntry, CozeAccount, VoiceprintGroup
from groups.wording import render

from .. import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cn2_removed(coze_accounts, settings):
    """A device served from cn2 with a group there, then cn2 taken out of the settings."""
    coze_accounts(default=3, cn2=2)
    device = factories.device("Hall", "HALL-1")
    device.account = CozeAccount.named("cn2")
    device.save(update_fields=["account"])
    group = factories.group(device, name="hall", account=device.account)
    settings.COZE_ACCOUNTS = {
        name: account for name, account in settings.COZE_ACCOUNTS.items() if name != "cn2"
    }
    return group


def test_renaming_a_group_of_an_unconfigured_account_leaves_no_pending_row(
    cn2_removed, operator_client
):
    group = cn2_removed
    data = {"name": "hall two", "desc": "", "device": group.device_id}

    response = operator_client.post(f"/groups/{group.pk}/edit/", data)

    assert response.status_code == 200
    rows = AuditEntry.objects.filter(action="group.update")
    assert [row.outcome for row in rows] == ["failure"]
    assert VoiceprintGroup.objects.get(pk=group.pk).name == "hall"
    with translation.override("zh-hans"):
        said = render(rows.get().facts)
    assert "not_configured" not in said, said


def test_the_group_form_takes_any_device_text_in_its_address(coze_accounts, operator_client):
    coze_accounts(default=3, cn2=2)

    for device in ("²", "x", "-1", "99999999999999999999"):
        assert operator_client.get("/groups/new/", {"device": device}).status_code == 200
        posted = operator_client.post("/groups/new/", {"name": "hall", "device": device})
        assert posted.status_code == 200, device


def test_a_new_group_for_a_device_of_an_unconfigured_account_says_so(cn2_removed, operator_client):
    device = cn2_removed.device
    data = {"name": "second", "desc": "", "device": device.pk, "submission": str(uuid.uuid4())}

    page = operator_client.post("/groups/new/", data).content.decode()

    assert "The Coze account cn2 is no longer configured" in page
    assert "is full" not in page
    assert VoiceprintGroup.objects.filter(name="second").count() == 0
