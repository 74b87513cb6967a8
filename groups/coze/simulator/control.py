"""The simulator's control API under /_sim/: no token, never recorded, JSON both ways.

A body may name an "account": the call then acts on that account alone; "*" makes a
fault, a quota or a reset apply to every account. Naming none, a fault, a quota or a seed
is the default account's, while DELETE /_sim/faults and a reset act on all, as they did
when the simulator served one account.
"""

from .api import json_or_none

EVERY = "*"


def control(sim, method, path, raw):
    """Answer a /_sim/ request to `sim`: (HTTP status, JSON payload)."""
    body = json_or_none(raw)
    body = body if isinstance(body, dict) else {}
    named = body.pop("account", None)
    try:
        if (method, path) == ("GET", "/_sim/state"):
            return 200, _state(sim, named)
        call = CALLS.get((method, path))
        if call is None:
            return 404, {"error": f"no such control call: {method} {path}"}
        if named == EVERY and call in ONE_ACCOUNT:
            raise ValueError("seed one account at a time")
        if named is None and call in EVERY_BY_DEFAULT:
            named = EVERY
        targets = list(sim.accounts.values()) if named == EVERY else [_account(sim, named)]
        if call is _reset and named == EVERY:
            sim.reset()  # the requests too
            return 200, sim.state()
        results = [call(account, body) for account in targets]
    except (TypeError, ValueError) as error:
        return 400, {"error": str(error)}
    if named == EVERY:
        return 200, sim.state()
    payload = _state(sim, named)
    return 200, {**payload, "ids": results[0]} if results[0] is not None else payload


def _account(sim, named):
    if named is None:
        return sim.default
    if not isinstance(named, str):
        raise ValueError("account must be the name of an account served, or *")
    return sim.account(named)


def _state(sim, named):
    """The simulator's state (the default account's, with every account's beside it),
    or one named account's."""
    if named is None:
        return sim.state()
    if named == EVERY:
        raise ValueError("GET /_sim/state lists every account already: name one, or none")
    return {"account": named, **_account(sim, named).state()}


def _add_fault(account, body):
    account.add_fault(**body)


def _clear_faults(account, body):
    account.clear_faults()


def _reset(account, body):
    account.reset()


def _quota(account, body):
    quota = body.get("quota")
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
        raise ValueError("quota must be a number of groups")
    account.quota = quota


def _seed(account, body):
    count = body.get("count", 0)
    if not isinstance(count, int) or count < 0:
        raise ValueError("count must be a number of groups")
    prefix = body.get("name_prefix", "remote group")
    return account.seed_groups(count, name_prefix=prefix, creator_id=body.get("creator_id"))


def _seed_voiceprints(account, body):
    count = body.get("count", 0)
    if not isinstance(count, int) or count < 0:
        raise ValueError("count must be a number of voiceprints")
    return account.seed_voiceprints(
        str(body.get("group_id")), count, creator_id=body.get("creator_id")
    )


CALLS = {
    ("POST", "/_sim/faults"): _add_fault,
    ("DELETE", "/_sim/faults"): _clear_faults,
    ("POST", "/_sim/reset"): _reset,
    ("POST", "/_sim/quota"): _quota,
    ("POST", "/_sim/seed"): _seed,
    ("POST", "/_sim/seed_voiceprints"): _seed_voiceprints,
}
ONE_ACCOUNT = {_seed, _seed_voiceprints}  # their ids belong to one account
EVERY_BY_DEFAULT = {_clear_faults, _reset}
