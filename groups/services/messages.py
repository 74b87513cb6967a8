"""What a service's refusal or failure says to a person, in their language: one place, so
that the pages, the API and jobs say the same thing. Each has a level (as
django.contrib.messages names them) and a stable code for the API."""

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import audio, coze, wording
from . import errors
from .sync import SyncFailed


@dataclass(frozen=True)
class Message:
    level: str  # "error", "warning" or "info"
    code: str
    text: str


def about(error, doing=""):
    """The message for `error`, raised while `doing` ("create", "update", "delete")."""
    if isinstance(error, coze.CozeError):
        return _coze(error, doing)
    if isinstance(error, SyncFailed):
        return Message("error", "sync_failed", sync_failed(error))
    if isinstance(error, errors.GroupNotActive) and doing == "identify":
        return _group_not_testable(error)
    for kind, say in SAYINGS.items():
        if isinstance(error, kind):
            return say(error)
    raise TypeError(f"no wording for {type(error).__name__}")


def group_gone(group, error):
    """An update found the group gone from Coze: it is marked so."""
    text = _(
        "Coze no longer has “%(name)s” (logid %(logid)s): it is marked gone and cannot be changed."
    ) % {"name": group.name, "logid": error.logid or "—"}
    return Message("error", "group_gone", text)


def group_ended(group):
    """A group deleted or gone from Coze cannot be changed any more."""
    text = _("“%(name)s” is %(state)s: it can no longer be changed.") % {
        "name": group.name,
        "state": group.state_label,
    }
    return Message("error", "group_not_active", text)


def voiceprint_ended(voiceprint):
    """A voiceprint deleted or gone from Coze cannot be changed any more."""
    text = _("“%(name)s” is %(state)s: it can no longer be changed.") % {
        "name": voiceprint.name,
        "state": voiceprint.state_label,
    }
    return Message("error", "voiceprint_not_active", text)


def already_submitted(earlier):
    """The API's Idempotency-Key (the form's hidden token) was used before, by an attempt
    that made no group: nothing was sent again."""
    if earlier.outcome == "pending":
        text = _(
            "A request with this Idempotency-Key was already made and Coze has not answered "
            "yet; nothing was sent again."
        )
    else:
        text = _(
            "A request with this Idempotency-Key was already made (outcome: %(outcome)s); "
            "nothing was sent again. Use a new key to try again."
        ) % {"outcome": earlier.outcome_label}
    return Message("info", "already_submitted", text)


def audio_refused(error):
    """Why a recording (groups.audio.AudioRejected) cannot be enrolled, for anyone."""
    # A refusal raised outside prepare() (a form's own size check) may leave out the limit.
    figures = {"limit": audio.UPLOAD_MAX // (1024 * 1024), **error.params}
    params = {name: wording.shown(value) for name, value in figures.items()}
    if error.code == "too_short":
        return _too_short(error.params["seconds"]) % params
    return AUDIO_REFUSED[error.code]() % params


def audio_warning(code, recording):
    """What a recording's warning ("short", "long") means; it can still be enrolled."""
    if code == "short":
        seconds = _down(recording.speech_seconds)
        text = ngettext(
            "Only %(seconds)s second of speech was found; Coze recommends 10 to 30 seconds, "
            "so the voiceprint may recognise this person less reliably.",
            "Only %(seconds)s seconds of speech were found; Coze recommends 10 to 30 seconds, "
            "so the voiceprint may recognise this person less reliably.",
            _plural_count(seconds),
        )
        return text % {"seconds": wording.shown(seconds)}
    seconds = round(recording.duration)
    text = ngettext(
        "The recording is %(seconds)s second long; Coze recommends 10 to 30 seconds.",
        "The recording is %(seconds)s seconds long; Coze recommends 10 to 30 seconds.",
        seconds,
    )
    return text % {"seconds": wording.shown(seconds)}


def _too_short(seconds):
    return ngettext(
        "Only %(seconds)s second of speech was found; at least %(minimum)s seconds are "
        "needed, 10 to 30 seconds work best.",
        "Only %(seconds)s seconds of speech were found; at least %(minimum)s seconds are "
        "needed, 10 to 30 seconds work best.",
        _plural_count(seconds),
    )


def _plural_count(seconds):
    """gettext chooses plurals by whole numbers; 1.5 seconds reads as plural (CLDR's "other")."""
    return int(seconds) if float(seconds).is_integer() else 2


def _down(seconds):
    """Seconds to one decimal, rounded down: 9.97 s of speech is not told as 10."""
    return math.floor(seconds * 10) / 10


def identify_summary(result):
    """An identification test's outcome in one sentence: its best match and the threshold."""
    top = result.top
    if top is None:
        return _("The group has no voiceprint on Coze: there was nobody to compare the clip with.")
    values = {
        "name": top.name,
        "score": wording.shown(round(top.score, 1)),
        "threshold": wording.shown(result.threshold),
    }
    person = top.person
    if person is None:
        if top.recognised:
            text = _(
                "Best match: “%(name)s”, %(score)s of 100, at or above the threshold of "
                "%(threshold)s: the device would take the voice for that voiceprint's, whose "
                "person is not known."
            )
        else:
            text = _(
                "Best match: “%(name)s”, %(score)s of 100, below the threshold of "
                "%(threshold)s: the device would recognise nobody."
            )
        return text % values
    values["person"] = person.name
    if top.recognised:
        text = _(
            "Best match: %(person)s (voiceprint “%(name)s”), %(score)s of 100, at or above "
            "the threshold of %(threshold)s: the device would recognise %(person)s."
        )
    else:
        text = _(
            "Best match: %(person)s (voiceprint “%(name)s”), %(score)s of 100, below the "
            "threshold of %(threshold)s: the device would recognise nobody."
        )
    return text % values


def details(error):
    """A Coze error's code, HTTP status and logid, for a sentence."""
    return _("code %(code)s, HTTP %(status)s, logid %(logid)s") % _numbers(error)


def sync_failed(failed):
    return _("Sync with Coze failed: %(reason)s (%(details)s)") % {
        "reason": wording.render(failed.entry.facts),
        "details": details(failed.error),
    }


def _numbers(error):
    return {
        "code": _or_dash(error.code),
        "status": _or_dash(error.http_status),
        "logid": error.logid or "—",
    }


def _or_dash(value):
    return "—" if value is None else value


def _coze(error, doing):
    if isinstance(error, coze.CozeNoAnswer):
        text = NO_ANSWER.get(doing)
        if text:
            return Message("warning", "coze_no_answer", text() % {"reason": error.sentence()})
    numbers = _numbers(error)
    if error.usage_limited:
        text = _(
            "Coze's limit of API calls for today is used up (code %(code)s, HTTP %(status)s, "
            "logid %(logid)s: “%(msg)s”). Nothing was changed: try again tomorrow, or raise the "
            "account's limit in Coze."
        )
        msg = error.sentence() or _("no message")
        return Message("error", "coze_usage_limited", text % {"msg": msg, **numbers})
    if error.rate_limited:
        text = _(
            "Coze is limiting how fast requests may be made (code %(code)s, HTTP %(status)s, "
            "logid %(logid)s). Nothing was changed: wait a minute, then try again."
        )
        return Message("error", "coze_rate_limited", text % numbers)
    text = REFUSED.get(doing, REFUSED[""])()
    code = "coze_no_answer" if isinstance(error, coze.CozeNoAnswer) else "coze_refused"
    return Message("error", code, text % {"msg": error.sentence() or _("no message"), **numbers})


# Texts are functions so that each is translated when it is said, in the reader's language.
REFUSED = {
    "create": lambda: _(
        "Coze did not create the group: %(msg)s (code %(code)s, HTTP %(status)s, logid %(logid)s)."
    ),
    "update": lambda: _(
        "Coze did not change the group: %(msg)s (code %(code)s, HTTP %(status)s, "
        "logid %(logid)s). Nothing was changed."
    ),
    "delete": lambda: _(
        "Coze did not delete the group: %(msg)s (code %(code)s, HTTP %(status)s, "
        "logid %(logid)s). Nothing was changed."
    ),
    "enroll": lambda: _(
        "Coze did not enroll the voiceprint: %(msg)s (code %(code)s, HTTP %(status)s, "
        "logid %(logid)s)."
    ),
    "update_voiceprint": lambda: _(
        "Coze did not change the voiceprint: %(msg)s (code %(code)s, HTTP %(status)s, "
        "logid %(logid)s). Nothing was changed."
    ),
    "delete_voiceprint": lambda: _(
        "Coze did not delete the voiceprint: %(msg)s (code %(code)s, HTTP %(status)s, "
        "logid %(logid)s). Nothing was changed."
    ),
    "identify": lambda: _(
        "Coze did not run the test: %(msg)s (code %(code)s, HTTP %(status)s, logid %(logid)s)."
    ),
    "": lambda: _("Coze refused: %(msg)s (code %(code)s, HTTP %(status)s, logid %(logid)s)."),
}
NO_ANSWER = {
    "identify": lambda: _(
        "Coze did not answer (%(reason)s): the test may have been run, and billed, without "
        "vpadmin seeing its scores. It was not sent again; try again if you need them."
    ),
    "enroll": lambda: _(
        "Coze did not answer (%(reason)s), and the voiceprint is not on the group's list: "
        "it may still be made. Wait a minute and look at the group's page (a sync shows it) "
        "before enrolling again."
    ),
    "update_voiceprint": lambda: _(
        "Coze did not answer (%(reason)s): the voiceprint may or may not be changed. "
        "vpadmin kept the old values; saving again is safe."
    ),
    "delete_voiceprint": lambda: _(
        "Coze did not answer (%(reason)s): the voiceprint may or may not be deleted. "
        "Deleting it again is safe."
    ),
    "create": lambda: _(
        "Coze did not answer (%(reason)s), and the group is not on Coze's list yet: it "
        "may still be created. It was not sent again. Use “Check now” on the device's "
        "page in a minute to find out."
    ),
    "update": lambda: _(
        "Coze did not answer (%(reason)s), and Coze's list does not show the change "
        "yet: it may or may not be made. vpadmin kept the old values; saving again is "
        "safe."
    ),
    "delete": lambda: _(
        "Coze did not answer (%(reason)s): the group may or may not be deleted. "
        "Deleting it again is safe: if Coze no longer has it, vpadmin records it as "
        "deleted."
    ),
}

AUDIO_REFUSED = {
    "not_audio": lambda: _(
        "This file is not audio we can read. Upload a recording such as WAV, MP3, M4A, OGG or WebM."
    ),
    "too_large_upload": lambda: _(
        "The file is larger than %(limit)s MB, the most that can be read. Upload a shorter "
        "recording: 10 to 30 seconds of speech work best."
    ),
    "too_long": lambda: _(
        "The recording is longer than %(minutes)s minutes. Upload a shorter one: 10 to 30 "
        "seconds of speech work best."
    ),
    "silent": lambda: _(
        "The recording is silent, or holds no speech. Check the microphone and record again."
    ),
    "clipped": lambda: _(
        "The recording is too loud: %(percent)s %% of it is clipped. Record again a little "
        "further from the microphone."
    ),
    "too_large": lambda: _(
        "Converted for Coze, the recording is %(megabytes)s MB, more than the %(limit)s MB "
        "Coze accepts. Upload a shorter one: 10 to 30 seconds of speech work best."
    ),
}


def every_account_full(usages):
    """The creation form's warning when no account has a free slot (quota.Usages): each
    account's figures, as the refusal would give them."""
    figures = _accounts_used((usage.account, usage.used, usage.limit) for usage in usages.accounts)
    text = _(
        "All Coze accounts are full: %(accounts)s. Coze will not accept another group: delete "
        "a group you no longer need first, or ask an Administrator to sync with Coze if groups "
        "were deleted in Coze's console."
    ) % {"accounts": figures}
    return Message("error", "quota_full", text)


def _accounts_used(accounts):
    """Each account as "default 3 of 3", joined: from (name, used, limit)."""
    return wording.joined(
        _("%(account)s %(used)s of %(limit)s")
        % {"account": name, "used": wording.shown(used), "limit": wording.shown(limit)}
        for name, used, limit in accounts
    )


def _quota_full(full):
    if full.accounts:
        figures = _accounts_used(full.accounts)
        text = _(
            "All Coze accounts are full: %(accounts)s. Nothing was sent to Coze. Delete a "
            "group you no longer need first, or ask an Administrator to sync with Coze if "
            "groups were deleted in Coze's console."
        ) % {"accounts": figures}
        return Message("error", "quota_full", text)
    if full.account and not full.limit:  # quota 0: an account no longer configured
        text = _(
            "The Coze account %(account)s is no longer configured, so nothing was sent to "
            "Coze: a device served from it cannot get a new group."
        ) % {"account": full.account}
        return Message("error", "quota_full", text)
    if full.account:
        text = _(
            "The Coze account %(account)s is full: %(used)s of %(limit)s groups are in use. "
            "Nothing was sent to Coze. Delete a group you no longer need first, or ask an "
            "Administrator to sync with Coze if groups were deleted in Coze's console."
        ) % {
            "account": full.account,
            "used": wording.shown(full.used),
            "limit": wording.shown(full.limit),
        }
        return Message("error", "quota_full", text)
    text = _(
        "The Coze account is full: %(used)s of %(limit)s groups are in use. Nothing was sent "
        "to Coze. Delete a group you no longer need first, or ask an Administrator to sync "
        "with Coze if groups were deleted in Coze's console."
    ) % {"used": wording.shown(full.used), "limit": wording.shown(full.limit)}
    return Message("error", "quota_full", text)


def _other_account(refused):
    text = _(
        "“%(device)s” is served from another Coze account than this group's (%(account)s): "
        "a group stays in its account, so nothing was changed."
    ) % {"device": refused.device.name, "account": refused.account.name}
    return Message("error", "other_account", text)


def _name_taken(taken):
    text = _(
        "“%(device)s” already has the group “%(name)s”, so nothing was sent to Coze "
        "(a form sent twice?). Choose another name for a second group."
    ) % {"device": taken.group.device.name, "name": taken.group.name}
    return Message("info", "name_taken", text)


def _attempt_unresolved(unresolved):
    text = _(
        "“%(name)s” was already sent to Coze for this device and Coze's answer is not "
        "known yet, so it was not sent again (that could make a second group). Use "
        "“Check now” on the device's page to find out whether it was created."
    ) % {"name": unresolved.entry.sent_name}
    return Message("warning", "attempt_unresolved", text)


def _not_registered(lost):
    text = _(
        "Coze created the group (id %(id)s, logid %(logid)s) but vpadmin could not save "
        "it. An Administrator's sync with Coze will register it; do not create it again."
    ) % {"id": lost.coze_id, "logid": lost.logid}
    return Message("error", "not_registered", text)


def _device_busy(busy):
    if busy.groups:
        text = _(
            "“%(device)s” still serves active voiceprint groups: %(groups)s. Delete them "
            "or assign them to another device first."
        ) % {"device": busy.device.name, "groups": wording.joined(busy.groups)}
        return Message("error", "device_serves_groups", text)
    text = _(
        "A voiceprint group is being created for “%(device)s” (%(groups)s) and "
        "Coze's answer is not known yet. Check it on the device's page first."
    ) % {"device": busy.device.name, "groups": wording.joined(busy.attempts)}
    return Message("error", "device_has_attempts", text)


def _serial_taken(_error):
    return Message("error", "serial_taken", _("This serial is already used by another device."))


def _device_gone(_error):
    return Message("error", "device_gone", _("This device was deleted."))


def _reference_taken(_error):
    return Message("error", "reference_taken", _("Another person already has this reference."))


def _consent_refused(refused):
    problems = wording.joined(
        message for error in refused.errors.values() for message in error.messages
    )
    text = _("The consent was not recorded: %(problems)s") % {"problems": problems}
    return Message("error", "consent_refused", text)


def _sync_under_way(_under_way):
    text = _("A sync with Coze is already under way, so no other was started: here it is.")
    return Message("info", "sync_under_way", text)


def _no_consent(refused):
    texts = {
        "none": _(
            "No consent is on record for %(person)s, so they cannot be enrolled. Record "
            "their consent first (on their page)."
        ),
        "expired": _(
            "The consent of %(person)s has passed its date, so they cannot be enrolled. "
            "Record a new consent first (on their page)."
        ),
        "withdrawn": _(
            "%(person)s has withdrawn their consent, so they cannot be enrolled until a new "
            "consent is recorded."
        ),
    }
    text = texts[refused.reason] % {"person": refused.person.name}
    return Message("error", f"no_consent_{refused.reason}", text)


def _group_full(full):
    text = _(
        "“%(group)s” already holds %(used)s of %(limit)s voiceprints, as many as Coze allows "
        "in a group. Nothing was sent to Coze. Delete one you no longer need first."
    ) % {"group": full.group.name, "used": full.used, "limit": full.limit}
    return Message("error", "group_full", text)


def _group_not_active(gone):
    text = _("“%(group)s” is %(state)s: nothing can be enrolled in it.") % {
        "group": gone.group.name,
        "state": gone.group.state_label,
    }
    return Message("error", "group_not_active", text)


def _group_not_testable(gone):
    text = _("“%(group)s” is %(state)s: there is nothing to test in it.") % {
        "group": gone.group.name,
        "state": gone.group.state_label,
    }
    return Message("error", "group_not_active", text)


def _identify_limit(full):
    if not full.limit:
        text = _("Identification tests are turned off here (IDENTIFY_DAILY_LIMIT is 0).")
        return Message("error", "identify_limit", text)
    text = ngettext(
        "You have run your %(limit)s identification test for today, the most allowed: each "
        "test is billed by Coze. Nothing was sent; you can test again tomorrow.",
        "You have run your %(limit)s identification tests for today, the most allowed: each "
        "test is billed by Coze. Nothing was sent; you can test again tomorrow.",
        full.limit,
    ) % {"limit": wording.shown(full.limit)}
    return Message("error", "identify_limit", text)


def _not_the_creator(refused):
    text = _(
        "“%(name)s” was made on Coze by %(creator)s, and Coze lets only its maker change or "
        "delete it: nothing was sent. Ask them, or use their token."
    ) % {"name": refused.item.name, "creator": refused.creator_name}
    return Message("error", "not_the_creator", text)


def _nothing_to_withdraw(refused):
    text = _(
        "%(person)s has no consent in force, so there is nothing to withdraw: nothing was changed."
    ) % {"person": refused.person.name}
    return Message("info", "nothing_to_withdraw", text)


def _already_enrolled(held):
    text = _(
        "%(person)s is already enrolled in this group as “%(name)s”: nothing was sent to "
        "Coze. To enroll them with new audio, re-enroll that voiceprint."
    ) % {"person": held.voiceprint.person.name, "name": held.voiceprint.name}
    return Message("info", "already_enrolled", text)


def _enrollment_unresolved(waiting):
    text = _(
        "An enrollment of %(person)s in this group got no answer from Coze and may still "
        "have made a voiceprint, so nothing was sent again (that could enroll them twice). "
        "The next sync with Coze finds out; try again after it."
    ) % {"person": (waiting.entry.facts or {}).get("person", "")}
    return Message("warning", "enrollment_unresolved", text)


def _no_person(_refused):
    text = _("Say whose voice this is (a person with consent on record) before new audio.")
    return Message("error", "no_person", text)


SAYINGS = {
    errors.NothingToWithdraw: _nothing_to_withdraw,
    errors.AlreadyEnrolled: _already_enrolled,
    errors.EnrollmentUnresolved: _enrollment_unresolved,
    errors.NoPerson: _no_person,
    errors.NoConsent: _no_consent,
    errors.GroupFull: _group_full,
    errors.GroupNotActive: _group_not_active,
    errors.IdentifyLimitReached: _identify_limit,
    errors.NotTheCreator: _not_the_creator,
    errors.QuotaExceeded: _quota_full,
    errors.OtherAccount: _other_account,
    errors.NameTaken: _name_taken,
    errors.AttemptUnresolved: _attempt_unresolved,
    errors.NotRegistered: _not_registered,
    errors.DeviceBusy: _device_busy,
    errors.SerialTaken: _serial_taken,
    errors.DeviceGone: _device_gone,
    errors.SyncUnderWay: _sync_under_way,
    errors.ReferenceTaken: _reference_taken,
    errors.ConsentRefused: _consent_refused,
}
