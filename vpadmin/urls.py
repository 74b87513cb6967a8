"""Root URLs: sign-in, the admin, the language switch, then the dashboard."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.views.i18n import set_language

from groups.views.signin import SignInView, admin_sign_in

urlpatterns = [
    path("accounts/login/", SignInView.as_view(), name="login"),
    # Only the account pages vpadmin uses: the password change is on /me/, and there is no
    # password reset by e-mail (an Administrator sets a new password on /team/).
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("admin/login/", admin_sign_in),  # before the admin's own: one sign-in page
    path("admin/", admin.site.urls),
    # Open to everyone: the sign-in page has the language switcher too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("api/", include("groups.api.urls")),  # the JSON API, its schema and docs
    path("", include("groups.urls")),
]

# An address under /api/ that names nothing, or a bug there, answers JSON; elsewhere a page.
handler404 = "groups.api.errors.page_not_found"
handler500 = "groups.api.errors.server_error"
