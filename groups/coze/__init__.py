"""The Coze service: the only code in vpadmin that talks to Coze (and its simulator)."""

from .client import CozeClient, get_client
from .errors import CozeError, CozeFailed, CozeNoAnswer, CozeRefused
from .transport import CozeResponse, Secret, redact

__all__ = [
    "CozeClient",
    "CozeError",
    "CozeFailed",
    "CozeNoAnswer",
    "CozeRefused",
    "CozeResponse",
    "Secret",
    "get_client",
    "redact",
]
