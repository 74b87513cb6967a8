"""The accounts the simulator serves: one token each, with its own groups, voiceprints,
quota, Coze user, ids and faults."""

import re
import time

from .faults import Faults
from .state import Account, owner

# The account of the simulator's first token; vpadmin's settings name it so too
# (vpadmin/coze_accounts.py).
DEFAULT = "default"
NAME = re.compile(r"^[a-z0-9_]+$")
# Ranges of ids (see state.ID_RANGE) that stay 19 digits and below 2**63, as Coze's int64 ids.
ACCOUNTS_MAX = 100


class SimulatedAccount:
    """One Coze account on the simulator: the token that reaches it, its state (groups,
    voiceprints, quota, the token's user; see state.Account) and its own faults.

    The default account's methods are the simulator's own (`sim.seed_groups(...)`); any
    account's are here (`sim.account("cn2").seed_groups(...)`), with the same meaning.
    `url` is the simulator's (every account is served on the same address, by token);
    `requests` are the simulator's records of the requests that carried this token.
    """

    def __init__(self, sim, name: str, token: str, state: Account):
        self.name, self.token = name, token
        self._sim, self.store = sim, state  # its Coze side: a state.Account
        self._faults = Faults()
        self.generation = 0  # bumped by reset(): a request sleeping in a delay is dropped

    def __repr__(self):
        return f"<SimulatedAccount {self.name}>"  # never the token

    @property
    def url(self) -> str:
        return self._sim.url

    @property
    def groups(self) -> dict[str, dict]:
        return self.store.groups

    @property
    def voiceprints(self) -> dict[str, dict]:
        return self.store.features

    @property
    def user(self) -> dict:
        """The user the token belongs to, as GET /v1/users/me answers (a copy)."""
        return dict(self.store.user)

    @property
    def quota(self) -> int:
        return self.store.quota

    @quota.setter
    def quota(self, value: int):
        self.store.quota = value

    @property
    def requests(self) -> list[dict]:
        """The records of the API requests made with this account's token (a new list)."""
        with self._sim._lock:
            return [record for record in self._sim.requests if record["account"] == self.name]

    def holds_id(self, coze_id: str) -> bool:
        """Whether `coze_id` is of this account's range: made here, not in another account."""
        return self.store.holds_id(coze_id)

    def reset(self) -> None:
        """Forget this account's groups, voiceprints and faults; its quota returns to its
        first value. The simulator's records of requests stay (sim.reset() forgets them)."""
        with self._sim._lock:
            self.store.reset()
            self._faults.clear()
            self.generation += 1

    def add_fault(self, kind, *, method=None, path=None, times=1, after=0, **params):
        """Queue a fault for this account's requests (see CozeSimulator.add_fault)."""
        with self._sim._lock:
            self._faults.add(kind, method=method, path=path, times=times, after=after, **params)

    def clear_faults(self) -> None:
        with self._sim._lock:
            self._faults.clear()

    def take_fault(self, method, path):
        """The fault that applies to a request of this account, or None (simulator's lock held)."""
        return self._faults.take(method, path)

    def seed_groups(
        self, count, *, name_prefix="remote group", desc="", created_at=None, creator_id=None
    ) -> list[str]:
        """Add `count` groups as if made elsewhere (see CozeSimulator.seed_groups)."""
        with self._sim._lock:
            return self.store.seed(
                count,
                name_prefix=name_prefix,
                desc=desc,
                created_at=created_at,
                creator_id=creator_id,
            )

    def seed_voiceprints(
        self, group_id, count, *, name_prefix="remote voiceprint", creator_id=None
    ) -> list[str]:
        """Add `count` voiceprints to a group as if made elsewhere (see
        CozeSimulator.seed_voiceprints)."""
        with self._sim._lock:
            return self.store.seed_features(
                group_id, count, name_prefix=name_prefix, creator_id=creator_id
            )

    def edit_group(self, group_id, **changes) -> dict:
        """Change a group as Coze's console would (see CozeSimulator.edit_group)."""
        with self._sim._lock:
            return self.store.edit(group_id, **changes)

    def edit_voiceprint(self, feature_id, **changes) -> dict:
        """Change a voiceprint as Coze's console would (see CozeSimulator.edit_voiceprint)."""
        with self._sim._lock:
            return self.store.edit_feature(feature_id, **changes)

    def delete_voiceprint(self, feature_id) -> None:
        """Delete a voiceprint as Coze's console would; its group counts one fewer."""
        with self._sim._lock:
            self.store.delete_feature(feature_id, int(time.time()))
            self.store.save()

    def state(self) -> dict:
        """Its groups, quota, waiting faults and the number of requests it received."""
        with self._sim._lock:
            return {
                "groups": len(self.groups),
                "quota": self.quota,
                "faults": self._faults.listed(),
                "requests": len(self.requests),
            }


def checked_accounts(accounts: dict, default_token: str) -> dict:
    """The accounts to serve beside the default one, {name: {"token", "quota" and
    optionally "state_file"}} (other keys, such as vpadmin's "base", are ignored), checked:
    ValueError names what is wrong."""
    if len(accounts) > ACCOUNTS_MAX:
        raise ValueError(
            f"the simulator serves at most {ACCOUNTS_MAX} accounts besides the default"
        )
    tokens = {default_token}
    for name, account in accounts.items():
        if not isinstance(name, str) or name == DEFAULT or not NAME.match(name):
            raise ValueError(f"{name!r} is not an account name (lowercase a-z, 0-9 and _)")
        token, quota = account.get("token"), account.get("quota", 1000)
        if not isinstance(token, str) or not token or token in tokens:
            raise ValueError(f"account {name!r} needs a token of its own")
        tokens.add(token)
        if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
            raise ValueError(f"account {name!r}: quota must be a number of groups")
    return accounts


def build_accounts(sim, accounts: dict) -> dict[str, SimulatedAccount]:
    """SimulatedAccounts for checked `accounts`, each with its own user and range of ids
    (the n-th named takes the n-th range after the default account's)."""
    return {
        name: SimulatedAccount(
            sim,
            name,
            account["token"],
            Account(
                account.get("quota", 1000),
                account.get("state_file"),
                user=owner(name),
                id_range=number,
            ),
        )
        for number, (name, account) in enumerate(accounts.items(), start=1)
    }
