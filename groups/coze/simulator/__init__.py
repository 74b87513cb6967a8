"""A stand-in for Coze on a real socket (the standard library, and numpy to compare
voices), with faults and controls."""

from .accounts import DEFAULT, SimulatedAccount
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
    "DEFAULT",
    "FAULT_DEFAULTS",
    "OWNER",
    "CozeSimulator",
    "SimulatedAccount",
    "new_logid",
]
