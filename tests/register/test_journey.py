"""Issue 3's acceptance journey: a new install adopts 450 groups made elsewhere."""

from io import StringIO

from django.core.management import call_command

from groups.models import AuditEntry, VoiceprintGroup


def sync_command():
    out = StringIO()
    call_command("sync_coze_groups", stdout=out)
    return out.getvalue()


def test_a_new_install_adopts_groups_made_elsewhere(
    coze_sim, operator_client, administrator_client, device
):
    coze_sim.seed_groups(450)

    assert "imported 450" in sync_command()
    assert VoiceprintGroup.objects.active().filter(device=None).count() == 450
    dashboard = operator_client.get("/").content.decode()
    assert "<strong>450</strong> / 1,000" in dashboard
    assert "Coze reported 450 groups" in dashboard
    unassigned = operator_client.get("/groups/?device=none")
    assert unassigned.context["page"].paginator.count == 450

    first, second, third = VoiceprintGroup.objects.order_by("coze_id")[:3]
    for group, name in [(first, first.name), (second, "renamed")]:
        response = operator_client.post(
            f"/groups/{group.pk}/edit/", {"name": name, "desc": group.desc, "device": device.pk}
        )
        assert response.status_code == 302
    assert coze_sim.groups[second.coze_id]["name"] == "renamed"
    assert administrator_client.post(f"/groups/{third.pk}/delete/").status_code == 302

    assert "No changes." in sync_command()
    assert VoiceprintGroup.objects.filter(device=device).count() == 2
    assert VoiceprintGroup.objects.active().count() == 449
    log = list(
        AuditEntry.objects.order_by("id").values_list("action", "outcome", "actor_username", "via")
    )
    assert [row for row in log if row[0].startswith("group.")] == [
        ("group.sync", "success", "", "command"),
        ("group.update", "success", "olga", "web"),
        ("group.update", "success", "olga", "web"),
        ("group.delete", "success", "ada", "web"),
        ("group.sync", "success", "", "command"),
    ]
    assert AuditEntry.objects.order_by("-id").first().explanation.startswith("no changes")
