"""Every write to the register, audited, for the web, the API and jobs alike: each takes
an explicit Actor (groups.actors) and raises the errors of groups.services.errors."""

from . import deletions, devices, identify, people, retention, voiceprints
from .attempts import check_creation
from .devices import create_device, delete_device, update_device
from .errors import (
    AlreadyEnrolled,
    AlreadySubmitted,
    AttemptUnresolved,
    ConsentRefused,
    DeviceBusy,
    DeviceGone,
    EnrollmentUnresolved,
    GroupFull,
    GroupNotActive,
    IdentifyLimitReached,
    NameTaken,
    NoConsent,
    NoPerson,
    NothingToWithdraw,
    NotRegistered,
    NotTheCreator,
    OtherAccount,
    QuotaExceeded,
    ReferenceTaken,
    SerialTaken,
    SyncUnderWay,
)
from .groups import create_group, delete_group, update_group
from .jobs import start_sync, start_syncs, sync_here
from .people import create_person, record_consent, report_on, update_person, withdraw_consent
from .recurring import keep_scheduled, retention_here, start_deletions
from .sync import SyncFailed, sync_groups
from .voiceprints import delete_voiceprint, enroll, update_voiceprint

__all__ = [
    "deletions",
    "devices",
    "identify",
    "people",
    "retention",
    "voiceprints",
    "NothingToWithdraw",
    "keep_scheduled",
    "retention_here",
    "start_deletions",
    "withdraw_consent",
    "AlreadyEnrolled",
    "EnrollmentUnresolved",
    "NoPerson",
    "GroupFull",
    "GroupNotActive",
    "IdentifyLimitReached",
    "NoConsent",
    "NotTheCreator",
    "delete_voiceprint",
    "enroll",
    "update_voiceprint",
    "AlreadySubmitted",
    "AttemptUnresolved",
    "ConsentRefused",
    "DeviceBusy",
    "DeviceGone",
    "NameTaken",
    "NotRegistered",
    "OtherAccount",
    "QuotaExceeded",
    "ReferenceTaken",
    "SerialTaken",
    "SyncFailed",
    "SyncUnderWay",
    "check_creation",
    "create_device",
    "create_group",
    "create_person",
    "delete_device",
    "delete_group",
    "record_consent",
    "report_on",
    "start_sync",
    "start_syncs",
    "sync_here",
    "sync_groups",
    "update_device",
    "update_group",
    "update_person",
]
