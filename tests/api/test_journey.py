"""The issue's script: a read-write token made by the command creates a device and its
group through the API, gets the group's Coze id and logid, and the audit log shows the
token's owner acting `api`."""

from io import StringIO

from django.core.management import call_command

from groups.models import ApiToken, AuditEntry, VoiceprintGroup

from .conftest import Api


def test_a_script_provisions_a_device_and_its_group(operator, coze_sim):
    out = StringIO()
    call_command("api_token", "create", "olga", "--name", "factory line", stdout=out)
    secret = next(word for word in out.getvalue().split() if word.startswith("vpa_"))
    assert ApiToken.objects.get(user__username="olga").read_only is False  # read-write
    api = Api(secret)

    device = api.post("/api/devices/", {"name": "Kiosk 7", "serial": "kio-007"})
    assert device.status_code == 201, device.json()
    assert device.json()["serial"] == "KIO-007"  # the form's canonical serial

    answer = api.post("/api/groups/", {"name": "kiosk 7", "device": device.json()["id"]})
    assert answer.status_code == 201, answer.json()
    group = answer.json()
    stored = VoiceprintGroup.objects.get(pk=group["id"])
    assert group["coze_id"] == stored.coze_id and stored.coze_id in coze_sim.groups
    assert group["logid"] and group["logid"] == stored.logid
    assert group["device"] == device.json()["id"] and group["creator"] == "olga"

    row = AuditEntry.objects.get(action="group.create", outcome="success")
    assert (row.actor_username, row.via, row.coze_logid) == ("olga", "api", group["logid"])
    assert row.actor == stored.creator and row.target_id == str(stored.pk)
    made = AuditEntry.objects.get(action="device.create")
    assert (made.actor_username, made.via, made.outcome) == ("olga", "api", "success")

    listed = api.get(f"/api/groups/?device={device.json()['id']}").json()
    assert [g["coze_id"] for g in listed["results"]] == [group["coze_id"]]
