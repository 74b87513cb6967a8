"""Pages for the answers Django gives bare: a form that can no longer be taken (CSRF), and
an address opened with a method it does not answer (405). Each says what happened and how
to go on, in the reader's language, inside vpadmin's own layout."""

from urllib.parse import urlsplit

from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

# The addresses that buttons post to: what a GET there is told instead (button, where it
# is, and the permission that shows it, if any).
BUTTONS = {
    "group_sync": (
        _("Sync with Coze"),
        "group_list",
        _("the groups page"),
        "groups.sync_voiceprintgroup",
    ),
    "logout": (_("Sign out"), "dashboard", _("the top of every page"), None),
}


def page_before(request):
    """The page the request came from (its Referer) as a path, if it is one of ours."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(referer)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the form's token is no longer this browser's (signed in again in
    another tab, or the form was open past its session): nothing was done; go back, reload."""
    context = {"back": page_before(request), "no_cookie": "cookie" in reason.lower()}
    return render(request, "403_csrf.html", context, status=403)


class MethodNotAllowedPage:
    """A 405 (a GET on an address only a button posts to, such as /groups/sync/) becomes a
    page that says which button does this and where it is; the status and Allow stay."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not isinstance(response, HttpResponseNotAllowed) or request.method == "HEAD":
            return response
        match = getattr(request, "resolver_match", None)
        button = BUTTONS.get(match.url_name if match else None)
        context = {"back": page_before(request)}
        if button:
            label, url_name, where, permission = button
            context.update(button=label, button_page=reverse(url_name), button_where=where)
            context["not_yours"] = permission and not request.user.has_perm(permission)
        page = render(request, "405.html", context, status=405)
        page["Allow"] = response["Allow"]
        return page
