"""What every page needs: the simulator banner and the navigation."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .coze.accounts import several


def coze(request):
    """Whether vpadmin talks to the bundled simulator (every page shows a banner)."""
    return {
        "coze_simulated": settings.COZE_SIMULATED,
        "coze_api_base": settings.COZE_API_BASE,
        # Pages name the Coze account of groups and devices only when there are several.
        "several_accounts": several(),
        # {id: name}, read only when a page names a row's account (audit rows).
        "account_names": SimpleLazyObject(_account_names),
    }


def _account_names():
    from .models import CozeAccount

    return dict(CozeAccount.objects.values_list("pk", "name"))


def navigation(request):
    """The section of the site the page belongs to, for the highlighted nav link."""
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match else ""
    return {"nav_section": (name or "").split("_")[0]}
