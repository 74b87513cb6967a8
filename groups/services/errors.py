"""Why a service did not do what it was asked: raised to the web, the API and jobs alike,
which say it in words from groups.wording."""


class QuotaExceeded(Exception):
    """The account's quota is full: `used` of `limit`; `account` names it when several
    are configured, and `accounts` lists (name, used, limit) of each when all are full."""

    def __init__(self, used, limit, *, account="", accounts=()):
        super().__init__(f"quota full: {used} of {limit} groups")
        self.used, self.limit, self.account, self.accounts = used, limit, account, list(accounts)


class AlreadySubmitted(Exception):
    """This form was submitted before; `entry` is the audit row of that attempt."""

    def __init__(self, entry):
        super().__init__(f"form already submitted (audit entry {entry.pk})")
        self.entry = entry


class AttemptUnresolved(Exception):
    """An earlier creation of this name for this device has no known outcome yet: creating
    it again could make a second group on Coze. `entry` is that attempt's row."""

    def __init__(self, entry):
        super().__init__(f"creation attempt {entry.pk} is not resolved")
        self.entry = entry


class NameTaken(Exception):
    """The device already has an active group of that name (a resubmit of a form whose
    group was made, most likely); `group` is that group."""

    def __init__(self, group):
        super().__init__(f"the device already has a group named {group.name!r}")
        self.group = group


class DeviceBusy(Exception):
    """The device cannot be deleted: it serves active groups, or a creation for it has no
    known outcome yet."""

    def __init__(self, device, groups=(), attempts=()):
        super().__init__("the device is in use")
        self.device, self.groups, self.attempts = device, list(groups), list(attempts)


class OtherAccount(Exception):
    """The device is served from another Coze account than the group's: a group stays in
    its account, so it cannot serve that device. Nothing was sent."""

    def __init__(self, device, account):
        super().__init__(f"device {device.pk} is not served from account {account}")
        self.device, self.account = device, account


class DeviceGone(Exception):
    """The chosen device was deleted after the form was checked: nothing was sent."""


class NotRegistered(Exception):
    """Coze created the group but our database write failed; sync will register it."""

    def __init__(self, coze_id, logid):
        super().__init__(f"Coze group {coze_id} created but not registered")
        self.coze_id, self.logid = coze_id, logid


class SerialTaken(Exception):
    """Another device has this serial (taken since the form was checked, most likely)."""


class SyncUnderWay(Exception):
    """A sync with Coze is queued or running already: `job`, which a second one would only
    repeat."""

    def __init__(self, job):
        super().__init__(f"sync job {job.pk} is {job.state}")
        self.job = job


class ReferenceTaken(Exception):
    """Another person has this reference (taken since the form was checked, most likely)."""


class ConsentRefused(Exception):
    """The consent breaks a rule (a guardian unnamed, a date in the future, kept longer than
    allowed): `errors` maps each field to its django ValidationError. Nothing was recorded."""

    def __init__(self, errors):
        super().__init__(f"consent refused: {', '.join(errors)}")
        self.errors = errors


class NoConsent(Exception):
    """The person has no consent in force: none recorded, its date passed, or withdrawn
    (`reason`: "none", "expired" or "withdrawn")."""

    def __init__(self, person, reason):
        super().__init__(f"no consent in force for person {person.pk}: {reason}")
        self.person, self.reason = person, reason


class GroupFull(Exception):
    """The group holds (or is being given) as many voiceprints as Coze allows."""

    def __init__(self, group, used, limit):
        super().__init__(f"group {group.pk} holds {used} of {limit} voiceprints")
        self.group, self.used, self.limit = group, used, limit


class GroupNotActive(Exception):
    """The group is gone from Coze or deleted: nothing can be enrolled in it."""

    def __init__(self, group):
        super().__init__(f"group {group.pk} is {group.state}")
        self.group = group


class NotTheCreator(Exception):
    """Coze lets only an item's creator change or delete it, and the token is someone
    else's: the call would be refused, so it is not made."""

    def __init__(self, item, creator_name):
        super().__init__(f"{item} was made on Coze by {creator_name}")
        self.item, self.creator_name = item, creator_name


class NothingToWithdraw(Exception):
    """The person has no consent in force, so there is no consent to withdraw."""

    def __init__(self, person):
        super().__init__(f"person {person.pk} has no consent in force")
        self.person = person


class AlreadyEnrolled(Exception):
    """The person already has an active voiceprint in the group (`voiceprint`): a second
    would be a duplicate of their biometric data. Re-enroll that one instead."""

    def __init__(self, voiceprint):
        super().__init__(f"person already enrolled as voiceprint {voiceprint.pk}")
        self.voiceprint = voiceprint


class EnrollmentUnresolved(Exception):
    """An enrollment of the person in the group has no known outcome yet (`entry`): Coze
    may have made it, so another could enroll them twice."""

    def __init__(self, entry):
        super().__init__(f"enrollment attempt {entry.pk} is not resolved")
        self.entry = entry


class NoPerson(Exception):
    """New audio for a voiceprint nobody has said is whose: the person comes first."""

    def __init__(self, voiceprint):
        super().__init__(f"voiceprint {voiceprint.pk} has no person")
        self.voiceprint = voiceprint


class IdentifyLimitReached(Exception):
    """The person has run as many identification tests today as IDENTIFY_DAILY_LIMIT
    allows (Coze bills each): nothing is sent until tomorrow."""

    def __init__(self, used, limit):
        super().__init__(f"{used} of {limit} identification tests used today")
        self.used, self.limit = used, limit
