"""Management commands a newcomer meets through `make run`."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_ensure_admin_creates_one_administrator_once(db):
    first = run("ensure_admin")
    password = first.split("password: ")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.check_password(password) and user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Administrator"]
    second = run("ensure_admin")
    assert "already exists" in second and "password" not in second
    assert get_user_model().objects.count() == 1


def test_every_command_has_a_test():
    """A new management command fails here until some test runs it by name."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    commands = Path(root.parent, "groups", "management", "commands")
    names = {path.stem for path in commands.glob("*.py") if path.stem != "__init__"}
    sources = "".join(path.read_text() for path in root.rglob("test_*.py"))
    untested = {
        name for name in names if f'"{name}"' not in sources and f"manage.py {name}" not in sources
    }
    assert untested == set()


def test_enforce_retention_with_nothing_to_delete_says_so(db):
    assert "Nothing was changed." in run("enforce_retention", "--dry-run")
    printed = run("enforce_retention")
    assert "0 past their keeping date" in printed and "deleted 0" in printed


def test_api_token_creates_lists_and_revokes(db):
    from groups.models import ApiToken, AuditEntry

    get_user_model().objects.create_user("robot")
    created = run("api_token", "create", "robot", "--name", "line 2", "--expires-days", "30")
    secret = next(word for word in created.split() if word.startswith("vpa_"))
    token = ApiToken.objects.get()
    assert token.prefix == secret[4:12] and not token.read_only and token.expires_at
    assert token.shown in run("api_token", "list", "robot")
    assert "Revoked" in run("api_token", "revoke", token.prefix)
    assert ApiToken.objects.get().revoked_at is not None
    actions = set(AuditEntry.objects.values_list("action", "via"))
    assert actions == {("token.create", "command"), ("token.revoke", "command")}
