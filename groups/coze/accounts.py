"""The Coze accounts vpadmin is configured for, read from the settings at call time: the
default account from COZE_API_TOKEN, COZE_API_BASE and COZE_GROUP_QUOTA (so a test or a
deployment that changes those changes the default account), then each other account of
settings.COZE_ACCOUNTS (COZE_ACCOUNTS=cn2,intl with COZE_<NAME>_API_TOKEN, ...).

The one source of truth for an account's token, base URL and quota: nothing else reads
settings.COZE_ACCOUNTS["default"]."""

from django.conf import settings

from vpadmin.coze_accounts import DEFAULT


def configured() -> dict:
    """name -> {"token", "base", "quota"}, the default account first, then the others in
    COZE_ACCOUNTS's order."""
    accounts = {
        DEFAULT: {
            "token": settings.COZE_API_TOKEN,
            "base": settings.COZE_API_BASE.rstrip("/"),
            "quota": settings.COZE_GROUP_QUOTA,
        }
    }
    for name, account in getattr(settings, "COZE_ACCOUNTS", {}).items():
        if name != DEFAULT:
            accounts[name] = account
    return accounts


def names() -> list[str]:
    return list(configured())


def several() -> bool:
    """Whether more than one account is configured (pages show accounts only then)."""
    return any(name != DEFAULT for name in getattr(settings, "COZE_ACCOUNTS", {}))


def quota_of(name: str) -> int:
    """An account's group quota; 0 for an account no longer configured."""
    account = configured().get(name)
    return account["quota"] if account else 0
