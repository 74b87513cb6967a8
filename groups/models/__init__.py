"""The register (devices, their voiceprint groups and voiceprints, people and their
consents, the Coze account), the audit log and
the job register."""

from .accounts import CozeAccount
from .audit import (
    AuditEntry,
    AuditEntryQuerySet,
    AuditLogImmutable,
    CozeCodeField,
    OpenCreation,
)
from .devices import Device, SerialField
from .groups import (
    DESC_MAX,
    NAME_MAX,
    VoiceprintGroup,
    VoiceprintGroupQuerySet,
    choice_label,
    new_submission_id,
)
from .imports import DeviceImport, ImportRow
from .jobs import Job
from .people import PERSON_NAME_MAX, Consent, ConsentInForce, ConsentQuerySet, Person
from .signin import SignInLock
from .tokens import ApiToken, TokenRefusals
from .voiceprints import (
    FEATURES_MAX,
    VOICEPRINT_NAME_MAX,
    DeletionReason,
    Voiceprint,
    VoiceprintQuerySet,
)

__all__ = [
    "ApiToken",
    "TokenRefusals",
    "DESC_MAX",
    "FEATURES_MAX",
    "PERSON_NAME_MAX",
    "VOICEPRINT_NAME_MAX",
    "NAME_MAX",
    "AuditEntry",
    "AuditEntryQuerySet",
    "AuditLogImmutable",
    "CozeAccount",
    "Consent",
    "ConsentInForce",
    "ConsentQuerySet",
    "CozeCodeField",
    "DeletionReason",
    "Device",
    "DeviceImport",
    "ImportRow",
    "OpenCreation",
    "Job",
    "Person",
    "SerialField",
    "SignInLock",
    "VoiceprintGroup",
    "Voiceprint",
    "VoiceprintGroupQuerySet",
    "VoiceprintQuerySet",
    "choice_label",
    "new_submission_id",
]
