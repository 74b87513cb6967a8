from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from groups.forms import SignInForm

urlpatterns = [
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("groups.urls")),
]
