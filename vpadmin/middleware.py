"""Gives every request an id, shared by all the audit rows and log lines it writes, and
logs one line per request."""

import logging
import time
import uuid

from django.conf import settings

from .logs import current_request

log = logging.getLogger("vpadmin.request")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        token = current_request.set(request)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            match = getattr(request, "resolver_match", None)
            log.info(
                "request",
                extra={
                    "event": "request",
                    "method": request.method,
                    "path": request.path,
                    "action": match.view_name if match else "",
                    "outcome": "ok"
                    if response.status_code < 400
                    else "refused"
                    if response.status_code < 500
                    else "error",
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000),
                },
            )
            return response
        finally:
            current_request.reset(token)


class ContentSecurityPolicyMiddleware:
    """Pages load nothing but vpadmin's own files, and run no inline script or style."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
