"""Who acts: the person, command or job behind a write, built once at the edge (a view, a
command, a task) and handed to the services and the audit writer, which never see a request."""

import ipaddress
import uuid
from dataclasses import dataclass, replace

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from vpadmin.proxies import from_trusted_proxy

from .models import AuditEntry

Via = AuditEntry.Via


@dataclass(frozen=True)
class Actor:
    user: object | None = None  # the signed-in person, if any
    username: str = ""  # theirs, or the one typed at a failed sign-in
    request_id: str = ""  # the request's id, or the job's
    ip: str | None = None
    user_agent: str = ""  # the browser, or the program (`manage.py sync_coze_groups`)
    via: str = Via.WEB

    @classmethod
    def from_request(cls, request, *, via=Via.WEB):
        user = getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
        return cls(
            user=user,
            username=user.get_username() if user else "",
            request_id=getattr(request, "request_id", ""),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            via=via,
        )

    @classmethod
    def for_api(cls, request, user=None):
        """A request to the JSON API (a DRF request or its HttpRequest), made as `user`
        (the token's owner; none when the token was refused), acting `api`."""
        http = getattr(request, "_request", request)  # a DRF request's own user is the token's
        actor = cls.from_request(http, via=Via.API)
        return replace(actor, user=user, username=user.get_username() if user else "")

    @classmethod
    def for_command(cls, command, user=None):
        """`manage.py <command>`, run by someone at a shell (as `user`, if they said so)."""
        return cls(
            user=user,
            username=user.get_username() if user else "",
            request_id=uuid.uuid4().hex,
            user_agent=f"manage.py {command}",
            via=Via.COMMAND,
        )

    @classmethod
    def for_job(cls, job_id, user=None, *, task=""):
        """A background job, acting for the person who started it (none when scheduled)."""
        return cls(
            user=user,
            username=user.get_username() if user else "",
            request_id=str(job_id).replace("-", "")[:32],
            user_agent=f"job {task}".strip(),
            via=Via.JOB,
        )

    def as_user(self, user):
        """The same actor, now known as `user` (a sign-in that just succeeded)."""
        return replace(self, user=user, username=user.get_username())

    def typed(self, username):
        """The same actor, naming the username typed at a sign-in that failed."""
        return replace(self, username=username)


class ActorMiddleware:
    """Gives each request its `actor`, built (once, when first used) from the signed-in
    person: views hand it to the services."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = SimpleLazyObject(lambda: Actor.from_request(request))
        return self.get_response(request)


def client_ip(request):
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies (a load
    balancer) when the request came from one of TRUSTED_PROXY_ADDRESSES, the address the
    outermost trusted proxy saw in X-Forwarded-For."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and from_trusted_proxy(request):
        # Each proxy appends the address it saw; the last `proxies` entries are ours to trust.
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= proxies and _is_ip(chain[-proxies]):
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
