"""A stand-in for Coze on a real socket, standard library only: the voiceprint-group calls
(create, list, update, delete) and GET /v1/users/me, for one team and one token.

It speaks Coze's wire format (Bearer check, limits, envelope, `x-tt-logid`, quota, only a
group's creator may change it) and injects the faults a client must survive. It accepts
exactly one token, which belongs to a fixed user; faults apply only to requests that pass
the Bearer check, so a wrong token always gets the 4100 answer. A path Coze does not serve
gets a plain 404. A small control API under `/_sim/` (no token, never recorded) drives it
from another process: GET /_sim/state, POST /_sim/faults, DELETE /_sim/faults,
POST /_sim/reset, POST /_sim/seed {"count": N, "creator_id": "<a colleague's user id>"},
POST /_sim/quota {"quota": N}. Every fault takes `method`, `times` and `after` (requests
let through before it applies), e.g. {"kind": "http", "method": "GET", "after": 2} fails
the third list call.
"""

from .api import (
    CODE_AUTH,
    CODE_INTERNAL,
    CODE_INVALID,
    CODE_MODEL_ERROR,
    CODE_NO_PERMISSION,
    CODE_NOT_FOUND,
    CODE_QUOTA,
    CODE_RATE_LIMITED,
    CODE_RPM_LIMIT,
    CODE_USAGE_LIMIT,
    new_logid,
)
from .faults import FAULT_DEFAULTS
from .server import CozeSimulator
from .state import OWNER

__all__ = [
    "CODE_AUTH",
    "CODE_INTERNAL",
    "CODE_INVALID",
    "CODE_MODEL_ERROR",
    "CODE_NO_PERMISSION",
    "CODE_NOT_FOUND",
    "CODE_QUOTA",
    "CODE_RATE_LIMITED",
    "CODE_RPM_LIMIT",
    "CODE_USAGE_LIMIT",
    "FAULT_DEFAULTS",
    "OWNER",
    "CozeSimulator",
    "new_logid",
]
