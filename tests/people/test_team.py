"""People and roles: the team page (everyone with a role reads it, Administrators manage
people there) and everyone's own activity."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

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


def test_every_role_reads_the_team_and_only_administrators_manage_it(
    viewer_client, operator_client, administrator, make_user
):
    for client in (viewer_client, operator_client):
        page = client.get("/team/").content.decode()
        assert "ada" in page and "Add a person" not in page
        assert f'href="/team/{administrator.pk}/"' not in page
        assert 'href="/team/"' in client.get("/").content.decode()
        assert client.get("/team/new/").status_code == 403
        assert client.get(f"/team/{administrator.pk}/").status_code == 403
    nobody = Client()
    nobody.force_login(make_user("nobody"))
    assert nobody.get("/team/").status_code == 403


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


def test_the_administrator_role_brings_no_admin_access(make_user):
    person = make_user("newadmin", "Administrator")
    person.refresh_from_db()
    assert not person.is_staff


def roles_of(username):
    person = get_user_model().objects.get(username=username)
    return person.is_superuser, sorted(person.groups.values_list("name", flat=True))


def rows(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def signs_in(username, password):
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_an_administrator_adds_a_person_with_a_role(administrator_client):
    page = administrator_client.get("/team/new/").content.decode()
    assert 'name="username"' in page and 'name="role"' in page and 'name="password"' in page
    assert 'value="superuser"' not in page  # a superuser's choice only
    response = administrator_client.post(
        "/team/new/", {"username": "wang", "role": "Operator", "password": "Kiosk-Lantern-42"}
    )
    wang = get_user_model().objects.get(username="wang")
    assert response["Location"] == f"/team/{wang.pk}/"
    assert roles_of("wang") == (False, ["Operator"]) and not wang.is_staff
    assert signs_in("wang", "Kiosk-Lantern-42")
    [entry] = rows("account.create")
    assert (entry.outcome, entry.actor_username, entry.target_label) == ("success", "ada", "wang")
    assert entry.detail == "" and entry.explanation == "Added “wang” as Operator."
    assert "Kiosk-Lantern-42" not in repr(list(AuditEntry.objects.values()))
    with translation.override("zh-hans"):
        assert "wang" in entry.explanation and "Operator" not in entry.explanation


def test_adding_refuses_a_taken_username_and_a_weak_password(administrator_client, viewer):
    response = administrator_client.post(
        "/team/new/", {"username": "VERA", "role": "Viewer", "password": "12345678"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Someone has this username already." in page and "too common" in page
    assert get_user_model().objects.count() == 2
    [entry] = rows("account.create")
    assert entry.outcome == "refused" and set(entry.facts["errors"]) == {"username", "password"}


def test_an_administrator_changes_a_role_and_deactivates_and_reactivates(
    administrator_client, operator
):
    url = f"/team/{operator.pk}/"
    page = administrator_client.get(url).content.decode()
    assert 'name="role"' in page and 'name="is_active"' in page
    administrator_client.post(url, {"role": "Viewer", "is_active": "on"})
    assert roles_of("olga") == (False, ["Viewer"])
    administrator_client.post(url, {"role": "Viewer"})  # the box unticked
    assert not signs_in("olga", "pw-olga")
    administrator_client.post(url, {"role": "Viewer", "is_active": "on"})
    assert signs_in("olga", "pw-olga")
    said = [e.explanation for e in rows("account.update")]
    assert said == [
        "Role of “olga” changed from Operator to Viewer.",
        "“olga” deactivated: they can no longer sign in.",
        "“olga” reactivated: they can sign in again.",
    ]


def test_an_administrator_cannot_make_or_change_a_superuser(administrator_client, viewer):
    response = administrator_client.post(
        f"/team/{viewer.pk}/", {"role": "superuser", "is_active": "on"}
    )
    assert response.status_code == 200 and roles_of("vera") == (False, ["Viewer"])
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    response = administrator_client.post(f"/team/{root.pk}/", {"role": "Viewer"})
    assert roles_of("root") == (True, [])
    assert response["Location"] == f"/team/{root.pk}/"
    response = administrator_client.post(
        f"/team/{root.pk}/password/", {"password": "Taken-Over-Now-1"}
    )
    assert signs_in("root", "pw-root") and not signs_in("root", "Taken-Over-Now-1")
    refused = AuditEntry.objects.filter(outcome="refused", target_label="root")
    assert [e.explanation for e in refused.order_by("id")] == [
        "Only a superuser can make or change a superuser."
    ] * 2


def test_a_superuser_makes_a_superuser(viewer):
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    client = Client()
    client.force_login(root)
    client.post(f"/team/{viewer.pk}/", {"role": "superuser", "is_active": "on"})
    assert roles_of("vera") == (True, ["Administrator"])
    [entry] = rows("account.update")
    assert entry.explanation == "Role of “vera” changed from Viewer to superuser."


def test_nobody_changes_their_own_role_or_deactivates_themselves(
    administrator_client, administrator, make_user
):
    make_user("bob", "Administrator")
    for change in ({"role": "Viewer", "is_active": "on"}, {"role": "Administrator"}):
        response = administrator_client.post(f"/team/{administrator.pk}/", change)
        assert response["Location"] == f"/team/{administrator.pk}/"
    administrator.refresh_from_db()
    assert administrator.is_active and roles_of("ada") == (False, ["Administrator"])
    assert [e.facts["say"] for e in rows("account.update")] == ["own_account"] * 2


def test_the_last_active_administrator_is_never_removed(administrator, make_user):
    helper = make_user("hal", "Operator")  # may change people, without being an Administrator
    helper.user_permissions.add(*Group.objects.get(name="Administrator").permissions.all())
    client = Client()
    client.force_login(helper)
    response = client.post(f"/team/{administrator.pk}/", {"role": "Operator"})
    assert response["Location"] == f"/team/{administrator.pk}/"
    administrator.refresh_from_db()
    assert administrator.is_active and roles_of("ada") == (False, ["Administrator"])
    [entry] = rows("account.update")
    assert (entry.outcome, entry.facts["say"]) == ("refused", "last_administrator")
    assert "no active Administrator" in client.get(response["Location"]).content.decode()


def test_an_administrator_sets_a_new_password_for_someone_who_forgot(administrator_client, viewer):
    hers = Client()
    hers.force_login(viewer)
    response = administrator_client.post(
        f"/team/{viewer.pk}/password/", {"password": "Fresh-Morning-77"}
    )
    assert response["Location"] == f"/team/{viewer.pk}/"
    assert signs_in("vera", "Fresh-Morning-77") and not signs_in("vera", "pw-vera")
    assert hers.get("/")["Location"].startswith("/accounts/login/")  # her session ended
    [entry] = rows("account.password")
    assert (entry.outcome, entry.actor_username, entry.target_label) == ("success", "ada", "vera")
    assert entry.explanation == "A new password was set for “vera”."


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/team/new/", {"username": "eve", "role": "Administrator", "password": "Long-Enough-1"}),
        ("/team/{pk}/", {"role": "Administrator", "is_active": "on"}),
        ("/team/{pk}/password/", {"password": "Long-Enough-1"}),
    ],
)
def test_viewers_and_operators_change_nobody(viewer_client, operator_client, operator, path, data):
    for client in (viewer_client, operator_client):
        assert client.post(path.format(pk=operator.pk), data).status_code == 403
    assert roles_of("olga") == (False, ["Operator"]) and signs_in("olga", "pw-olga")
    assert not get_user_model().objects.filter(username="eve").exists()


def test_a_page_offers_no_change_the_reader_may_not_make(administrator_client, administrator, db):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="pw-root-long-enough")
    page = administrator_client.get(f"/team/{root.pk}/").content.decode()
    assert "Only a superuser can make or change a superuser." in page
    assert "Set password" not in page and 'name="role"' not in page
    own = administrator_client.get(f"/team/{administrator.pk}/").content.decode()
    assert 'name="role"' not in own and "/me/password/" in own


def test_an_administrator_cannot_set_their_own_password_without_the_current_one(
    administrator_client, administrator
):
    response = administrator_client.post(
        f"/team/{administrator.pk}/password/", {"password": "a-new-long-password-1"}
    )
    administrator.refresh_from_db()
    assert response.status_code == 302
    assert administrator.check_password("pw-ada")  # unchanged
    refused = AuditEntry.objects.filter(action="account.password").latest("pk")
    assert refused.outcome == "refused"


def test_a_too_short_password_for_someone_shows_the_error_with_the_forms(
    administrator_client, make_user
):
    vera = make_user("vera2", "Viewer")
    response = administrator_client.post(f"/team/{vera.pk}/password/", {"password": "short"})
    page = response.content.decode()
    assert response.status_code == 200 and 'class="field-error"' in page
    assert "Only a superuser" not in page and 'name="role"' in page


def test_a_width_variant_of_a_taken_username_is_refused_not_a_server_error(
    administrator_client, make_user
):
    make_user("bob")
    response = administrator_client.post(
        "/team/new/", {"username": "ｂｏｂ", "role": "Viewer", "password": "long-enough-pass-1"}
    )
    assert response.status_code == 200
    assert "Someone has this username already." in response.content.decode()


def test_only_administrators_see_who_failed_to_sign_in(viewer_client, administrator_client, db):
    from django.utils import timezone

    from groups.models import SignInLock

    SignInLock.objects.create(
        kind="username",
        key="mallory-typed-this",
        username="x",
        failures=2,
        window_started_at=timezone.now(),
    )
    assert "mallory-typed-this" not in viewer_client.get("/team/").content.decode()
    assert "mallory-typed-this" in administrator_client.get("/team/").content.decode()
