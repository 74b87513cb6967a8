"""The register (devices, their voiceprint groups, the Coze account), the audit log and
the job register."""

from .accounts import CozeAccount
from .audit import AuditEntry, AuditEntryQuerySet, AuditLogImmutable, CozeCodeField
from .devices import Device, SerialField
from .groups import (
    DESC_MAX,
    NAME_MAX,
    VoiceprintGroup,
    VoiceprintGroupQuerySet,
    choice_label,
    new_submission_id,
)
from .jobs import Job
from .signin import SignInLock

__all__ = [
    "DESC_MAX",
    "NAME_MAX",
    "AuditEntry",
    "AuditEntryQuerySet",
    "AuditLogImmutable",
    "CozeAccount",
    "CozeCodeField",
    "Device",
    "Job",
    "SerialField",
    "SignInLock",
    "VoiceprintGroup",
    "VoiceprintGroupQuerySet",
    "choice_label",
    "new_submission_id",
]
