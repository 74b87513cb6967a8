"""The simulated Coze account: its user, its groups and their voiceprints, its quota, and
a file keeping them."""

import hashlib
import json
import os
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path

NAME_MAX, DESC_MAX = 20, 500
# Where the simulator's images would be: `.invalid` never resolves (RFC 2606), since Coze's
# CDN host for them is not documented; the icon's file name is from Coze's doc example.
IMAGES = "https://coze-simulator.invalid"
DEFAULT_ICON_URL = f"{IMAGES}/voiceprint/default_voiceprint_group_icon.png"
# [inf] A voiceprint's icon is not shown in Coze's docs: the simulator's own default.
FEATURE_ICON_URL = f"{IMAGES}/voiceprint/default_voiceprint_icon.png"
# What the simulator keeps on a voiceprint that Coze's answers never show.
OWN_NOTES = frozenset({"audio_format", "voice"})
# The user the simulator's token belongs to, as GET /v1/users/me answers.
OWNER = {
    "user_id": "7484523878849822754",
    "user_name": "simulator",
    "nick_name": "Coze simulator",
    "avatar_url": f"{IMAGES}/avatar/7484523878849822754.png",
}


# Ids: 19 digits, as Coze's. Each account served draws from its own range of
# ID_RANGE ids (the default account the first), so an id tells which account made it.
FIRST_ID, ID_RANGE = 7_500_000_000_000_000_000, 10**16


def owner(name):
    """The user another account's token belongs to: the same for the same name, so a state
    file's groups stay that user's across restarts."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    user_id = str(7_484_523_000_000_000_000 + digest % 10**15)
    return {
        "user_id": user_id,
        "user_name": f"simulator_{name}",
        "nick_name": f"Coze simulator ({name})",
        "avatar_url": f"{IMAGES}/avatar/{user_id}.png",
    }


def user_info(user):
    """A user as a group's `user_info` shows its creator (Coze names the fields apart)."""
    return {
        "id": user["user_id"],
        "name": user["user_name"],
        "nickname": user["nick_name"],
        "avatar_url": user["avatar_url"],
    }


def colleague(user_id):
    """Another user of the same team, who made groups in Coze's console with their token."""
    return {
        "user_id": user_id,
        "user_name": f"colleague_{user_id[-4:]}",
        "nick_name": "Colleague",
        "avatar_url": f"{IMAGES}/avatar/{user_id}.png",
    }


class Account:
    """One Coze team's groups (id to the item as the list call returns it), their
    voiceprints (`features`, id to the item, with the format of its audio and the voice
    in it), its quota, and the user the token belongs to (`user`: OWNER unless given).
    Its ids are drawn from the `id_range`-th range (see ID_RANGE).

    Not thread-safe by itself: the simulator holds its lock around every use.
    """

    def __init__(
        self,
        quota: int = 1000,
        state_file: str | Path | None = None,
        *,
        user: dict | None = None,
        id_range: int = 0,
    ):
        self.initial_quota = self.quota = quota
        self.state_file = Path(state_file) if state_file else None
        self.user = dict(user or OWNER)
        self.groups: dict[str, dict] = {}
        self.features: dict[str, dict] = {}
        self._first_id = FIRST_ID + id_range * ID_RANGE
        self._last_id = self._first_id + random.randrange(10**15)
        self._load()

    def reset(self):
        """Forget every group; the quota returns to its first value."""
        self.groups.clear()
        self.features.clear()
        self.quota = self.initial_quota
        self.save()

    def add_group(self, name, desc, created_at, creator=None):
        """A new group as Coze's list shows it, made by `creator` (a user; default the
        token's own); not yet saved to the state file."""
        group = {
            "id": self._new_id(),
            "name": name,
            "desc": desc,
            "icon_url": DEFAULT_ICON_URL,
            "feature_count": 0,
            "created_at": created_at,
            "updated_at": created_at,
            "user_info": user_info(creator or self.user),
        }
        self.groups[group["id"]] = group
        return group

    def _new_id(self):
        # Snowflake-like: 19 digits, growing with time, never reused.
        self._last_id += random.randint(1, 4096)
        return str(self._last_id)

    def made_by_user(self, item):
        """Whether the token's user created `item`, a group or a voiceprint (only they may
        change or delete it)."""
        return item["user_info"]["id"] == self.user["user_id"]

    def delete_group(self, group_id):
        """Forget a group and the voiceprints in it (as Coze's delete does)."""
        del self.groups[group_id]
        for feature in self.features_of(group_id):
            del self.features[feature["id"]]

    def add_feature(self, group_id, name, desc, created_at, creator=None):
        """A new voiceprint in a group, made by `creator` (default the token's own user);
        the group's feature_count and updated_at follow. Not yet saved."""
        feature_id = self._new_id()
        feature = {
            "id": feature_id,
            "group_id": group_id,
            "name": name,
            "desc": desc,
            "icon_url": FEATURE_ICON_URL,
            "audio_url": self.audio_url(feature_id, created_at),
            "created_at": created_at,
            "updated_at": created_at,
            "user_info": user_info(creator or self.user),
            # The simulator's own notes, never shown: what it read of the audio, and the
            # voice in it (a list of floats, features.enroll); none for one made elsewhere.
            "audio_format": {},
            "voice": None,
        }
        self.features[feature_id] = feature
        self.recount(group_id, created_at)
        return feature

    def delete_feature(self, feature_id, now):
        group_id = self.features.pop(feature_id)["group_id"]
        self.recount(group_id, now)

    def recount(self, group_id, now):
        """A group whose voiceprints changed at `now`: its feature_count and updated_at."""
        # [inf] A group's updated_at moves when its voiceprints change, added, removed,
        # renamed or re-enrolled alike (Coze does not say).
        self.groups[group_id].update(feature_count=len(self.features_of(group_id)), updated_at=now)

    def edit_feature(self, feature_id, **changes):
        """Change a voiceprint as Coze's console would; returns a copy of its item."""
        allowed = {"name", "desc", "updated_at"}
        if not changes or not set(changes) <= allowed:
            raise ValueError(f"edit_voiceprint changes {', '.join(sorted(allowed))}")
        feature = self.features[feature_id]
        feature.update({"updated_at": int(time.time()), **changes})
        self.recount(feature["group_id"], feature["updated_at"])
        self.save()
        return self.feature_item(feature)

    def features_of(self, group_id):
        return [item for item in self.features.values() if item["group_id"] == group_id]

    @staticmethod
    def feature_item(feature):
        """A voiceprint as Coze's list shows it (without the simulator's own notes)."""
        item = {key: value for key, value in feature.items() if key not in OWN_NOTES}
        return {**item, "user_info": dict(feature["user_info"])}

    @staticmethod
    def audio_url(feature_id, stamp):
        # [inf] Where Coze keeps the original audio is not documented: a URL that changes
        # with each new file, as a CDN's would.
        return f"{IMAGES}/voiceprint/audio/{feature_id}-{stamp}.wav"

    def seed_features(self, group_id, count, *, name_prefix="remote voiceprint", creator_id=None):
        """Add `count` voiceprints to a group as if made elsewhere (by `creator_id`, a
        colleague's user id, when given); returns their ids."""
        if group_id not in self.groups:
            raise ValueError(f"no group {group_id}")
        creator = self._creator(creator_id)
        now = int(time.time())
        ids = [
            self.add_feature(group_id, f"{name_prefix} {n}", "", now - count + n, creator)["id"]
            for n in range(1, count + 1)
        ]
        self.save()
        return ids

    def _creator(self, creator_id):
        if creator_id is not None and (not isinstance(creator_id, str) or not creator_id):
            raise ValueError("creator_id must be a Coze user id (a string)")
        return None if creator_id in (None, self.user["user_id"]) else colleague(creator_id)

    def seed(self, count, *, name_prefix="remote group", desc="", created_at=None, creator_id=None):
        """Add `count` groups as if made elsewhere; returns their ids (see CozeSimulator)."""
        if isinstance(created_at, datetime):
            created_at = int(created_at.timestamp())
        creator = self._creator(creator_id)
        now = int(time.time())
        first = len(self.groups) + 1
        ids = []
        for n in range(first, first + count):
            suffix = f" {n}"
            name = name_prefix[: NAME_MAX - len(suffix)] + suffix
            stamp = created_at if created_at is not None else now - count + n - first + 1
            ids.append(self.add_group(name, desc, stamp, creator)["id"])
        self.save()
        return ids

    def edit(self, group_id, **changes):
        """Change a group as Coze's console would; returns a copy of the item."""
        allowed = {"name", "desc", "feature_count", "created_at", "updated_at"}
        if not changes or not set(changes) <= allowed:
            raise ValueError(f"edit_group changes {', '.join(sorted(allowed))}")
        group = self.groups[group_id]
        group.update({"updated_at": int(time.time()), **changes})
        self.save()
        return dict(group)

    def _load(self):
        if self.state_file and self.state_file.exists():
            saved = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.groups.update((group["id"], group) for group in saved.get("groups", []))
            self.features.update((item["id"], item) for item in saved.get("features", []))
            # Ids of another range (the account's place in COZE_ACCOUNTS changed) stay
            # as they are; new ones carry on in this account's own range.
            ids = [int(n) for n in [*self.groups, *self.features] if self.holds_id(n)]
            self._last_id = max([self._last_id, *ids])

    def holds_id(self, coze_id):
        """Whether `coze_id` is in this account's range of ids."""
        return self._first_id <= int(coze_id) < self._first_id + ID_RANGE

    def save(self):
        """Write the groups and voiceprints (their voices too) to the state file, if any."""
        if not self.state_file:
            return
        saved = {"groups": list(self.groups.values()), "features": list(self.features.values())}
        payload = json.dumps(saved, ensure_ascii=False, indent=1)
        # Write beside the target and rename, so a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(payload)
            os.replace(tmp, self.state_file)
        except BaseException:
            os.unlink(tmp)
            raise
