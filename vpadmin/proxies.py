"""Which forwarded headers to believe. A proxy in front of vpadmin says who the client is
(X-Forwarded-For) and whether it came over HTTPS (X-Forwarded-Proto); a client that reaches
vpadmin directly could say the same, so the headers count only when the request comes from
one of TRUSTED_PROXY_ADDRESSES and TRUSTED_PROXY_COUNT says there is a proxy at all."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
)


@lru_cache(maxsize=8)
def networks(addresses):
    """TRUSTED_PROXY_ADDRESSES (addresses or networks, e.g. 10.0.0.0/24) as networks."""
    try:
        return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in addresses)
    except ValueError as error:
        raise ImproperlyConfigured(f"TRUSTED_PROXY_ADDRESSES: {error}") from error


def from_trusted_proxy(request):
    """Whether `request` came through a proxy vpadmin is configured to trust."""
    if not settings.TRUSTED_PROXY_COUNT:
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in networks(tuple(settings.TRUSTED_PROXY_ADDRESSES)))


class TrustedProxyMiddleware:
    """First of all middleware: a request that did not come through a trusted proxy loses its
    forwarded headers, so nothing after (HTTPS redirect, secure cookies, the audit log's
    address, sign-in throttling) believes what a client says about itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not from_trusted_proxy(request):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
