from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.urls import include, path
from django.views.i18n import set_language

from groups.forms import SignInForm

urlpatterns = [
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # Open to everyone: the sign-in page has the language switcher too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("", include("groups.urls")),
]
