"""The API with several Coze accounts: an optional account on creation and sync, the
account (by name) on groups, devices, voiceprints, audit rows and jobs, and as a filter."""

import pytest

from groups.models import CozeAccount, VoiceprintGroup

from .. import factories


@pytest.fixture
def two(coze_accounts):
    return coze_accounts(default=3, cn2=2)


def test_a_group_may_be_created_in_a_chosen_account(operator_api, two, device):
    made = operator_api.post(
        "/api/groups/", {"name": "hall", "device": device.pk, "account": "cn2"}
    )

    assert made.status_code == 201 and made.json()["account"] == "cn2"
    assert made.json()["coze_id"] in two["cn2"].groups
    assert operator_api.get(f"/api/devices/{device.pk}/").json()["account"] == "cn2"


def test_without_an_account_the_most_free_one_is_taken(operator_api, two, device):
    VoiceprintGroup.objects.create(coze_id="1", name="a", account=CozeAccount.default())
    VoiceprintGroup.objects.create(coze_id="2", name="b", account=CozeAccount.default())

    made = operator_api.post("/api/groups/", {"name": "hall", "device": device.pk})

    assert made.json()["account"] == "cn2"


def test_an_unknown_account_or_another_than_the_devices_is_refused(operator_api, two, device):
    unknown = operator_api.post("/api/groups/", {"name": "a", "device": device.pk, "account": "xx"})
    operator_api.post("/api/groups/", {"name": "b", "device": device.pk, "account": "cn2"})
    other = operator_api.post(
        "/api/groups/", {"name": "c", "device": device.pk, "account": "default"}
    )

    assert unknown.status_code == 400
    assert unknown.json()["codes"] == {"account": ["invalid_choice"]}
    assert other.status_code == 400
    assert other.json()["codes"] == {"account": ["other_account"]}
    assert not two["default"].groups and len(two["cn2"].groups) == 1


def test_all_accounts_full_is_refused_naming_each(operator_api, two, db):
    for n in range(5):
        device = factories.device(f"D{n}", f"D-{n}")
        assert (
            operator_api.post("/api/groups/", {"name": "g", "device": device.pk}).status_code == 201
        )
    sixth = factories.device("D6", "D-6")

    refused = operator_api.post("/api/groups/", {"name": "g", "device": sixth.pk})

    assert refused.json()["code"] == "quota_full"
    assert "All Coze accounts are full: default 3 of 3, cn2 2 of 2." in refused.json()["message"]


def test_a_group_cannot_serve_a_device_of_another_account(operator_api, two, db):
    here, there = factories.device("Here", "H-1"), factories.device("There", "T-1")
    group = operator_api.post("/api/groups/", {"name": "g", "device": here.pk, "account": "cn2"})
    operator_api.post("/api/groups/", {"name": "g", "device": there.pk, "account": "default"})

    moved = operator_api.patch(f"/api/groups/{group.json()['id']}/", {"device": there.pk})

    assert moved.status_code == 409 and moved.json()["code"] == "other_account"
    assert VoiceprintGroup.objects.get(pk=group.json()["id"]).device == here


def test_lists_are_filtered_by_account(operator_api, two, db):
    for n, account in enumerate(["cn2", "default", "cn2"]):
        device = factories.device(f"D{n}", f"D-{n}")
        operator_api.post("/api/groups/", {"name": "g", "device": device.pk, "account": account})

    groups = operator_api.get("/api/groups/?account=cn2").json()["results"]
    devices = operator_api.get("/api/devices/?account=default").json()["results"]
    audit = operator_api.get("/api/audit/?account=cn2&action=group.create").json()["results"]

    assert [group["account"] for group in groups] == ["cn2", "cn2"]
    assert [device["name"] for device in devices] == ["D1"]
    assert len(audit) == 2 and {row["account"] for row in audit} == {"cn2"}


def test_the_quota_is_given_per_account_and_in_total(viewer_api, two, db):
    VoiceprintGroup.objects.create(coze_id="1", name="a", account=CozeAccount.named("cn2"))

    quota = viewer_api.get("/api/quota/").json()

    assert (quota["used"], quota["limit"]) == (1, 5)
    assert [(a["account"], a["used"], a["limit"]) for a in quota["accounts"]] == [
        ("default", 0, 3),
        ("cn2", 1, 2),
    ]


def test_a_sync_starts_one_job_per_account_or_the_one_asked_for(administrator_api, two):
    every = administrator_api.post("/api/sync/")
    again = administrator_api.post("/api/sync/", {"account": "cn2"})
    unknown = administrator_api.post("/api/sync/", {"account": "xx"})

    assert every.status_code == 202
    assert [job["account"] for job in every.json()["jobs"]] == ["default", "cn2"]
    assert every.json()["id"] == every.json()["jobs"][0]["id"]
    assert again.status_code == 200  # under way already: that job
    assert [job["id"] for job in again.json()["jobs"]] == [every.json()["jobs"][1]["id"]]
    assert unknown.status_code == 400
