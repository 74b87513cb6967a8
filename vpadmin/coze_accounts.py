"""The Coze accounts vpadmin is configured for: the default one (COZE_API_TOKEN, ...) and
those COZE_ACCOUNTS names, each with COZE_<NAME>_API_TOKEN, _API_BASE and _GROUP_QUOTA.

Read by the settings (so before Django is set up): nothing here imports Django's models.
"""

import re

from django.core.exceptions import ImproperlyConfigured

DEFAULT = "default"  # the name of the account of COZE_API_TOKEN, COZE_API_BASE, ...
NAME = re.compile(r"^[a-z0-9_]+$")
NAME_MAX = 32  # characters: the register's column for an account's name (CozeAccount.name)
ACCOUNT_QUOTA = 1000  # an account's group quota when COZE_<NAME>_GROUP_QUOTA is unset: Coze's
DEV_TOKEN = "pat_vpadmin_simulator"  # the simulator's token when COZE_API_TOKEN is unset


def dev_token(name):
    """The fixed development token of an account when it has none and vpadmin talks to
    the bundled simulator: "pat_vpadmin_simulator" for the default, "..._<name>" else."""
    return DEV_TOKEN if name == DEFAULT else f"{DEV_TOKEN}_{name}"


def read_coze_accounts(environ, *, token, base, quota, simulated):
    """name -> {"token", "base", "quota"}: the default account (`token`, `base`, `quota`,
    as the settings read them) first, then each account COZE_ACCOUNTS names, in its order.

    An account's base defaults to `base`, its quota to Coze's 1000; without a token it
    gets its development token when `simulated` (no COZE_API_TOKEN), else it is an error.
    Anything wrong raises ImproperlyConfigured naming the key.
    """
    accounts = {DEFAULT: {"token": token, "base": base, "quota": quota}}
    names = [name.strip() for name in environ.get("COZE_ACCOUNTS", "").split(",")]
    for name in filter(None, names):
        if not NAME.match(name):
            raise ImproperlyConfigured(
                f"COZE_ACCOUNTS: {name!r} is not an account name (lowercase letters, digits "
                "and _ only)."
            )
        if len(name) > NAME_MAX:
            raise ImproperlyConfigured(
                f"COZE_ACCOUNTS: {name!r} is {len(name)} characters long: an account name "
                f"has at most {NAME_MAX}."
            )
        if name in accounts:
            raise ImproperlyConfigured(
                f"COZE_ACCOUNTS: {name!r} is named twice"
                + (" (the default account is COZE_API_TOKEN's)." if name == DEFAULT else ".")
            )
        accounts[name] = _read_account(environ, name, base=base, simulated=simulated)
    tokens = {}
    for name, account in accounts.items():
        if account["token"] in tokens:
            # Never the token itself in the message: it may reach a log.
            raise ImproperlyConfigured(
                f"{_key(name, 'API_TOKEN')} is the same token as "
                f"{_key(tokens[account['token']], 'API_TOKEN')}: each account has its own."
            )
        tokens[account["token"]] = name
    return accounts


def _read_account(environ, name, *, base, simulated):
    token_key, base_key, quota_key = (
        _key(name, k) for k in ("API_TOKEN", "API_BASE", "GROUP_QUOTA")
    )
    token = environ.get(token_key, "")
    if not token and not simulated:
        raise ImproperlyConfigured(
            f"{token_key} must be set: COZE_ACCOUNTS names {name!r}, and COZE_API_TOKEN is set "
            "(vpadmin talks to Coze, not to its simulator)."
        )
    try:
        quota = int(environ.get(quota_key) or ACCOUNT_QUOTA)
    except ValueError:
        quota = 0
    if quota < 1:
        raise ImproperlyConfigured(f"{quota_key} must be a positive number of groups.")
    return {
        "token": token or dev_token(name),
        "base": (environ.get(base_key) or base).rstrip("/"),
        "quota": quota,
    }


def _key(name, suffix):
    """The environment key of one account's setting: COZE_API_TOKEN, COZE_CN2_API_TOKEN."""
    return f"COZE_{suffix}" if name == DEFAULT else f"COZE_{name.upper()}_{suffix}"
