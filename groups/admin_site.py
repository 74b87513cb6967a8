"""The Django admin as a superusers' tool: nobody else gets in (an Administrator manages
people on /team/, where every change is checked and audited)."""

from django.contrib import admin
from django.shortcuts import redirect


class SuperusersAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def password_change(self, request, extra_context=None):
        """The one password change is on /me/ (throttled and audited)."""
        return redirect("/me/#password")
