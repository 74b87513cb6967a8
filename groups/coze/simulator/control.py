"""The simulator's control API under /_sim/: no token, never recorded, JSON both ways."""

from .api import json_or_none


def control(sim, method, path, raw):
    """Answer a /_sim/ request to `sim`: (HTTP status, JSON payload)."""
    body = json_or_none(raw)
    body = body if isinstance(body, dict) else {}
    try:
        if (method, path) == ("GET", "/_sim/state"):
            pass
        elif (method, path) == ("POST", "/_sim/faults"):
            sim.add_fault(**body)
        elif (method, path) == ("DELETE", "/_sim/faults"):
            sim.clear_faults()
        elif (method, path) == ("POST", "/_sim/reset"):
            sim.reset()
        elif (method, path) == ("POST", "/_sim/seed"):
            count = body.get("count", 0)
            if not isinstance(count, int) or count < 0:
                raise ValueError("count must be a number of groups")
            prefix = body.get("name_prefix", "remote group")
            ids = sim.seed_groups(count, name_prefix=prefix, creator_id=body.get("creator_id"))
            return 200, {**sim.state(), "ids": ids}
        elif (method, path) == ("POST", "/_sim/seed_voiceprints"):
            count = body.get("count", 0)
            if not isinstance(count, int) or count < 0:
                raise ValueError("count must be a number of voiceprints")
            ids = sim.seed_voiceprints(
                str(body.get("group_id")), count, creator_id=body.get("creator_id")
            )
            return 200, {**sim.state(), "ids": ids}
        elif (method, path) == ("POST", "/_sim/quota"):
            quota = body.get("quota")
            if not isinstance(quota, int) or quota < 0:
                raise ValueError("quota must be a number of groups")
            sim.quota = quota
        else:
            return 404, {"error": f"no such control call: {method} {path}"}
    except (TypeError, ValueError) as error:
        return 400, {"error": str(error)}
    return 200, sim.state()
