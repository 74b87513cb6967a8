"""A stand-in for Coze's voiceprint-group API on a real socket, standard library only.

It speaks Coze's wire format (Bearer check, limits, envelope, `x-tt-logid`, quota) and
injects the faults a client must survive. It accepts exactly one token; faults apply only
to requests that pass the Bearer check, so a wrong token always gets the 4100 answer.
A small control API under `/_sim/` (no token, never recorded) drives it from another
process: GET /_sim/state, POST /_sim/faults, DELETE /_sim/faults, POST /_sim/reset,
POST /_sim/seed {"count": N}, POST /_sim/quota {"quota": N}. Every fault takes `method`,
`times` and `after` (requests let through before it applies), e.g.
{"kind": "http", "method": "GET", "after": 2} fails the third list call.
"""

from .api import (
    CODE_AUTH,
    CODE_INTERNAL,
    CODE_INVALID,
    CODE_MODEL_ERROR,
    CODE_NOT_FOUND,
    CODE_QUOTA,
    CODE_RATE_LIMITED,
    CODE_RPM_LIMIT,
    CODE_USAGE_LIMIT,
    new_logid,
)
from .faults import FAULT_DEFAULTS
from .server import CozeSimulator

__all__ = [
    "CODE_AUTH",
    "CODE_INTERNAL",
    "CODE_INVALID",
    "CODE_MODEL_ERROR",
    "CODE_NOT_FOUND",
    "CODE_QUOTA",
    "CODE_RATE_LIMITED",
    "CODE_RPM_LIMIT",
    "CODE_USAGE_LIMIT",
    "FAULT_DEFAULTS",
    "CozeSimulator",
    "new_logid",
]
