"""Signing in: Django's LoginView with vpadmin's throttling around the password check.

The admin's own sign-in page is not served: it sends people here, so there is one sign-in,
throttled and audited the same way.
"""

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .. import wording
from ..actors import Actor
from ..forms import SignInForm
from ..services import throttling


class SignInView(LoginView):
    authentication_form = SignInForm

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        try:
            attempt = throttling.check(
                Actor.from_request(request), username, request.COOKIES.get(throttling.DEVICE_COOKIE)
            )
        except throttling.SignInLocked as locked:
            return locked_page(request, locked, username)
        form = self.get_form()
        if form.is_valid():
            return self.form_valid(form)
        wrong = form.has_error("__all__", "invalid_login") or form.has_error("__all__", "inactive")
        if wrong and (locked := throttling.failed(Actor.from_request(request), attempt)):
            return locked_page(request, locked, username)
        return self.form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        cookie = self.request.COOKIES.get(throttling.DEVICE_COOKIE)
        response.set_cookie(
            throttling.DEVICE_COOKIE,
            throttling.known_browser_cookie(form.get_user(), cookie),
            max_age=int(throttling.DEVICE_MAX_AGE.total_seconds()),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response


def locked_page(request, locked, username, template="registration/login.html", **context):
    """The form again, unchecked, with HTTP 429 and how long to wait."""
    if "form" not in context:
        context["form"] = SignInForm(request, initial={"username": username[:150]})
    context.update(
        lockout_message=wording.locked_message(locked.minutes), next=request.POST.get("next", "")
    )
    return render(request, template, context, status=429)


@login_not_required
def admin_sign_in(request):
    """The admin's sign-in page: a person signed in already is not a superuser (else the
    admin would not send them here), anyone else signs in on vpadmin's page."""
    if request.user.is_authenticated:
        raise PermissionDenied
    return redirect_to_login(request.GET.get(REDIRECT_FIELD_NAME, "/admin/"))
