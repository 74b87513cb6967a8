"""vpadmin's URLs plus the floors: a constant page through the same middleware stack, and
DRF's cheapest answer through the API's own authentication, permission and throttle."""

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.urls import include, path

from bench.api_floor import ApiFloor
from vpadmin.urls import handler404, handler500  # noqa: F401 (the root URLconf's, as there)

# Change lists with as many rows as vpadmin's own lists (DeviceAdmin and the others keep
# Django's default of 100 otherwise); set here, once the admin has registered its classes.
for model_admin in admin.site._registry.values():
    model_admin.list_per_page = settings.BENCH_ADMIN_PAGE_SIZE


def floor(request):
    """The framework's floor: session, user and a tiny constant template, nothing else."""
    return render(request, "bench/floor.html")


urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("bench/api-floor/", ApiFloor.as_view(), name="bench_api_floor"),
    path("", include("vpadmin.urls")),
]
