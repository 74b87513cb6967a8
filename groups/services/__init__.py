"""Every write to the register, audited, for the web, the API and jobs alike: each takes
an explicit Actor (groups.actors) and raises the errors of groups.services.errors."""

from . import devices, people, voiceprints
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
    NameTaken,
    NoConsent,
    NoPerson,
    NotRegistered,
    NotTheCreator,
    QuotaExceeded,
    ReferenceTaken,
    SerialTaken,
    SyncUnderWay,
)
from .groups import create_group, delete_group, update_group
from .jobs import start_sync, sync_here
from .people import create_person, record_consent, update_person
from .sync import SyncFailed, sync_groups
from .voiceprints import delete_voiceprint, enroll, update_voiceprint

__all__ = [
    "devices",
    "people",
    "voiceprints",
    "AlreadyEnrolled",
    "EnrollmentUnresolved",
    "NoPerson",
    "GroupFull",
    "GroupNotActive",
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
    "start_sync",
    "sync_here",
    "sync_groups",
    "update_device",
    "update_group",
    "update_person",
]
