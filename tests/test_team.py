"""People and roles: the team page (Administrators) and everyone's own activity."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups.models import AuditEntry


def act(user, n, action="device.create"):
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action=action,
            outcome="success",
            actor=user,
            actor_username=user.username,
            target_label=f"{user.username} #{i}",
        )
        for i in range(n)
    )


def test_the_team_page_lists_people_roles_and_latest_actions(
    administrator_client, administrator, operator, viewer, make_user
):
    make_user("nobody")
    act(operator, 5)
    page = administrator_client.get("/team/")
    rows = {row["person"].username: row for row in page.context["rows"]}
    assert [str(role) for role in rows["olga"]["roles"]] == ["Operator"]
    assert [str(role) for role in rows["ada"]["roles"]] == ["Administrator"]
    assert rows["nobody"]["roles"] == []
    assert len(rows["olga"]["latest"]) == 3
    assert [e.target_label for e in rows["olga"]["latest"]][0] == "olga #4"
    html = page.content.decode()
    assert "no role" in html and "/audit/?user=olga" in html


def test_the_team_page_costs_the_same_queries_for_more_people(administrator_client, make_user):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert administrator_client.get("/team/").status_code == 200
        return len(captured)

    for n in range(3):
        act(make_user(f"p{n}", "Viewer"), 4)
    few = queries()
    for n in range(3, 30):
        act(make_user(f"p{n}", "Operator"), 4)
    assert queries() == few


def test_only_administrators_see_the_team(operator_client, viewer_client):
    assert operator_client.get("/team/").status_code == 403
    assert viewer_client.get("/team/").status_code == 403
    assert 'href="/team/"' not in operator_client.get("/").content.decode()


def test_everyone_sees_their_own_activity(make_user, operator):
    from django.test import Client

    nobody = make_user("nobody")  # no role at all
    act(nobody, 2, action="permission.denied")
    act(operator, 2)
    client = Client()
    client.force_login(nobody)
    page = client.get("/me/")
    assert page.status_code == 200
    labels = [e.target_label for e in page.context["page"] if e.target_label]  # not sign-ins
    assert labels[:2] == ["nobody #1", "nobody #0"]
    assert not any(label.startswith("olga") for label in labels)


def test_the_administrator_role_brings_admin_access(make_user):
    from django.contrib.auth.models import Group

    person = make_user("newadmin", "Administrator")
    person.refresh_from_db()
    assert person.is_staff
    person.groups.set([Group.objects.get(name="Operator")])
    person.refresh_from_db()
    assert not person.is_staff
