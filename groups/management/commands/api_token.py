"""`python manage.py api_token create USERNAME --name NAME [--read-only] [--expires-days N]`
prints a new API token once (scripts keep it; vpadmin keeps only its hash);
`api_token revoke PREFIX` revokes one; `api_token list [USERNAME]` shows them. Each issue
and revocation is an audit row, as on /me/."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from groups.actors import Actor
from groups.models import ApiToken
from groups.models.tokens import shown_prefix
from groups.services import tokens


class Command(BaseCommand):
    help = "Issue, revoke or list API tokens (audited)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="issue a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="what the token is for")
        create.add_argument("--read-only", action="store_true", help="only GET requests")
        create.add_argument("--expires-days", type=int, default=None, help="days it works")
        revoke = commands.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix", help="the 8 characters after vpa_ (vpa_ may be given)")
        listing = commands.add_parser("list", help="list tokens (a person's, or everyone's)")
        listing.add_argument("username", nargs="?")

    def handle(self, *args, command, **options):
        getattr(self, command)(**options)

    def create(self, *, username, name, read_only, expires_days, **options):
        user = _user(username)
        if not user.is_active:
            raise CommandError(f"{username} cannot sign in: their token would not work.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be a positive number of days.")
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("--name must hold 1 to 100 characters.")
        token, secret = tokens.create_token(
            Actor.for_command("api_token create"),
            user,
            name=name,
            read_only=read_only,
            expires_days=expires_days,
        )
        scope = "read-only" if read_only else "read-write"
        expires = token.expires_at.date().isoformat() if token.expires_at else "never"
        self.stdout.write(f"API token “{name}” for {username} ({scope}, expires {expires}):")
        self.stdout.write(secret)
        self.stdout.write("It is shown only now: vpadmin keeps only its hash.")

    def revoke(self, *, prefix, **options):
        found = list(ApiToken.objects.select_related("user").filter(prefix=shown_prefix(prefix)))
        if not found:
            raise CommandError(f"No API token starts with vpa_{shown_prefix(prefix)}.")
        if len(found) > 1:
            raise CommandError("Several tokens start with this prefix: revoke it on /team/.")
        token = found[0]
        if tokens.revoke_token(Actor.for_command("api_token revoke"), token):
            self.stdout.write(f"Revoked {token} of {token.user.get_username()}.")
        else:
            self.stdout.write(f"{token} was already revoked.")

    def list(self, *, username=None, **options):
        listed = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if username:
            listed = listed.filter(user=_user(username))
        for token in listed:
            state = "revoked" if token.is_revoked else "expired" if token.is_expired else "active"
            scope = "read-only" if token.read_only else "read-write"
            used = token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "-"
            self.stdout.write(
                f"{token.shown}  {token.user.get_username()}  {token.name}  {scope}  "
                f"{state}  last used {used}"
            )
        if not listed:
            self.stdout.write("No API tokens.")


def _user(username):
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No such person: {username}.") from None
