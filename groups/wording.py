"""What vpadmin says, in the reader's language: an audit row stores what happened as data
(`facts`: {"say": <what>, ...values}), and this module renders it when it is read.

Pages, commands and the audit log use the same sentences, so they agree.
"""

import datetime
import functools

from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

# Field names that facts mention (form errors, changes), as a reader sees them.
FIELDS = {
    "name": _("name"),
    "desc": _("description"),
    "device": _("device"),
    "serial": _("serial"),
    "location": _("location"),
    "notes": _("notes"),
    "username": _("username"),
    "password": _("password"),
    "role": _("role"),
    "is_active": _("active"),
    "reference": _("reference"),
    "given_by": _("given by"),
    "guardian_name": _("guardian's name"),
    "guardian_relation": _("guardian's relation"),
    "method": _("how it was given"),
    "purpose": _("purpose"),
    "given_on": _("given on"),
    "keep_until": _("kept until"),
    "person": _("person"),
    "audio": _("audio"),
    "group": _("group"),
    "top_k": _("number of results"),
    "identify_threshold": _("recognition threshold"),
    "withdrawal_method": _("how they asked"),
    "withdrawal_note": _("withdrawal note"),
    "group_name": _("group name"),
    "group_desc": _("group description"),
    "account": _("Coze account"),
    "__all__": _("form"),
}

# Form errors by their code (Django's and ours); any other code reads "is not valid".
FORM_ERRORS = {
    "required": _("is required"),
    "max_length": _("is too long (at most %(limit_value)s characters)"),
    "min_length": _("is too short (at least %(limit_value)s characters)"),
    "min_value": _("is less than %(limit_value)s"),
    "max_value": _("is more than %(limit_value)s"),
    "invalid_choice": _("is not one of the choices"),
    "unique": _("is already used"),
    "control_character": _("contains control characters"),
    "invisible_character": _("contains invisible or direction-changing characters"),
    "blank": _("is empty"),
    "invalid": _("is not valid"),
    "in_future": _("is in the future"),
    "before_given": _("is before the consent was given"),
    "after_default": _("is later than %(days)s days after the consent"),
    "passed": _("has passed: the consent would have ended already"),
    "unknown_account": _("is not a configured Coze account (configured: %(accounts)s)"),
    "other_account": _("is not the device's: its groups go to account %(account)s"),
}

# Why a Coze call did not succeed, when the reason is ours rather than Coze's msg.
COZE_REASONS = {
    "timeout": _("no answer within %(seconds)s s"),
    "closed": _("the connection closed before an answer"),
    "not_json": _("the answer was not JSON"),
    "not_envelope": _("the answer was not a Coze envelope"),
    "no_id": _("the answer had no group id"),
    "no_voiceprint_id": _("the answer had no voiceprint id"),
    "bad_data": _("the answer's data was not an object"),
    "bad_list": _("the list answer was not in Coze's shape"),
    "bad_scores": _("the identification answer was not in Coze's shape"),
    "connect_failed": _("could not connect to Coze"),
    "connect_timeout": _("could not connect within %(seconds)s s"),
    "not_sent": _("the request could not be made: check COZE_API_BASE and COZE_API_TOKEN"),
    "bad_id": _("the group id is not a Coze id, so nothing was sent"),
    "bad_voiceprint_id": _("the voiceprint id is not a Coze id, so nothing was sent"),
    "not_configured": _("the Coze account is no longer configured, so nothing was sent"),
}

# Sentences of audit rows, by the row's "say".
SENTENCES = {
    "quota_full": _("The Coze account was full: %(used)s of %(limit)s groups in use."),
    "other_account": _(
        "The device “%(device)s” is served from another Coze account than the group's "
        "(%(account)s): nothing was changed."
    ),
    "coze_refused": _("Coze refused: %(reason)s"),
    "coze_failed": _("The Coze call failed: %(reason)s"),
    "coze_no_answer": _("Coze did not answer (%(reason)s): the change may or may not be made."),
    "permission": _("Not allowed: %(method)s %(path)s needs “%(permission)s”."),
    "device_serves_groups": _("The device still serves active groups: %(groups)s."),
    "device_has_attempts": _(
        "A group is being created for the device (%(names)s): its outcome is not known yet."
    ),
    "device_deleted": _("Device “%(name)s” (serial %(serial)s) deleted."),
    "pending_expired": _(
        "No outcome was recorded within %(minutes)s minutes (the process may have "
        "stopped); what Coze did is not known."
    ),
    "attempt_unresolved": _(
        "A creation of “%(name)s” for this device is still waiting for Coze's answer "
        "(attempt #%(attempt)s)."
    ),
    "name_taken": _(
        "The device already has an active group named “%(name)s”: nothing was sent to Coze."
    ),
    "found_on_coze": _("Found on Coze as %(coze_id)s, so the group was created."),
    "not_on_coze": _("Not on Coze, so the group was not created."),
    "still_unknown": _("Not on Coze yet: Coze may still create it. Check again later."),
    "already_deleted": _("Coze no longer has the group, so it is deleted."),
    "still_on_coze": _("The group is still on Coze: it was not deleted."),
    "gone_on_coze": _("Coze no longer has the group: it is marked gone."),
    "device_gone": _(
        "The chosen device was deleted meanwhile, so the group was not moved (Coze's change "
        "was made)."
    ),
    "device_other_account": _(
        "The chosen device was given another Coze account meanwhile (%(account)s), so the "
        "group was not moved (Coze's change was made)."
    ),
    "audit_write_failed": _("The outcome's details could not be stored."),
    # Voiceprints
    "enrolling": _("Enrolling %(person)s: %(seconds)s s of audio (SHA-256 %(sha256)s)."),
    "enrolled": _("Enrolled %(person)s from %(seconds)s s of audio."),
    "found_voiceprint": _("Found on Coze as %(coze_id)s, so the voiceprint was enrolled."),
    "no_consent_none": _("No consent is on record for %(person)s: nothing was sent to Coze."),
    "no_consent_expired": _(
        "The consent of %(person)s has passed its date: nothing was sent to Coze."
    ),
    "no_consent_withdrawn": _("%(person)s has withdrawn their consent: nothing was sent to Coze."),
    "group_not_active": _("The group “%(group)s” is no longer on Coze: nothing was sent."),
    "group_full": _(
        "The group already holds %(used)s of %(limit)s voiceprints: nothing was sent to Coze."
    ),
    "not_the_creator": _("Only %(creator)s, who made it on Coze, may change it: nothing was sent."),
    "voiceprint_already_deleted": _("Coze no longer has the voiceprint, so it is deleted."),
    "already_enrolled": _(
        "%(person)s is already enrolled in the group as “%(name)s”: nothing was sent to Coze."
    ),
    "enrollment_unresolved": _(
        "An enrollment of %(person)s in the group (attempt #%(attempt)s) has no known "
        "outcome yet: nothing was sent to Coze."
    ),
    "voiceprint_ended": _("“%(name)s” is no longer on Coze (%(state)s): nothing was sent."),
    "no_person_for_audio": _("New audio for a voiceprint nobody is named for: refused."),
    # Deletions the law asks for (%(deletion)s: why, as groups.models.DeletionReason says)
    "deleting": _("Deleting it on Coze: %(deletion)s."),
    "voiceprint_deleted": _("Deleted on Coze: %(deletion)s."),
    "voiceprint_already_deleted_for": _(
        "Coze no longer has the voiceprint, so it is deleted: %(deletion)s."
    ),
    "deletion_done": _("“%(name)s” (%(person)s) deleted on Coze."),
    "deletion_retry": _(
        "“%(name)s” (%(person)s): Coze could not delete it now (%(reason)s); attempt "
        "%(attempts)s, tried again later."
    ),
    "deletion_needs_maker": _(
        "“%(name)s” (%(person)s): only %(creator)s, who made it on Coze, can delete it."
    ),
    "deletion_refused": _(
        "“%(name)s” (%(person)s): Coze refused to delete it (%(reason)s); someone must look "
        "into it."
    ),
    "deletions_run": _(
        "Deletions on Coze: %(deleted)s done, %(waiting)s to try again later, %(stuck)s "
        "waiting for a person."
    ),
    "retention_swept": _(
        "Retention sweep of %(day)s: to delete, %(expired)s past their keeping date and "
        "%(withdrawn)s under a withdrawn consent; deleted %(deleted)s, to try again later "
        "%(waiting)s, waiting for a person %(stuck)s."
    ),
    "nothing_to_withdraw": _("%(person)s has no consent in force: nothing was withdrawn."),
    "sync_failed": _("Coze's list call failed on page %(page)s (%(reason)s); nothing was changed."),
    "sync_no_answer": _(
        "Coze's list call got no answer on page %(page)s (%(reason)s); nothing was changed."
    ),
    "sync_not_applied": _("The register could not be updated; nothing was changed."),
    "voiceprints_unread": _(
        "The voiceprints of “%(group)s” could not be read (%(reason)s); the next sync reads "
        "them again."
    ),
    "voiceprints_not_applied": _(
        "The voiceprints of “%(group)s” could not be stored; the next sync reads them again."
    ),
    # Identification tests
    # clip_seconds, not seconds: a timeout's facts say how long Coze was waited for.
    "identifying": _(
        "Testing %(clip_seconds)s s of audio against the group (threshold %(threshold)s)."
    ),
    "identify_limit": _(
        "%(used)s of %(limit)s identification tests used today: nothing was sent to Coze."
    ),
    # Background jobs
    "job_stopped": _(
        "The job making this call lost its worker (%(why)s) before the outcome was recorded; "
        "what Coze did is not known."
    ),
    "job_resumed": _(
        "Its worker stopped (%(why)s) before the job finished; it was queued again and runs "
        "from the start."
    ),
    "job_interrupted": _(
        "Its worker stopped (%(why)s) before the job finished; it is not resumed: start it again."
    ),
    "job_crashed": _(
        "The job stopped on an unexpected error (%(error)s); the worker's log says more."
    ),
    "import_resumed": _(
        "Resumed by %(username)s: it does the rows not done yet, acting for them; nothing "
        "done already is done again."
    ),
    "import_starter_not_allowed": _(
        "%(username)s, who started this import, may no longer start imports (deactivated, "
        "or their role changed): the rows not done yet were left as they are."
    ),
    # Sign-in and accounts
    # Imports of devices: the file, its rows (the dry run), and what the run did
    "import_too_large": _("The file is larger than %(limit)s kB: split it into several."),
    "import_too_many_rows": _("The file has more than %(limit)s rows: split it into several."),
    "import_empty": _("The file is empty."),
    "import_no_rows": _("The file has a header but no rows of devices."),
    "import_not_utf8": _(
        "The file is neither UTF-8 nor GB18030 text: in Excel, save it as “CSV UTF-8”."
    ),
    "import_not_csv": _("The file is not CSV that can be read (%(error)s)."),
    "import_extra_cells": _(
        "Row %(line)s has more cells than the header's %(columns)s columns: is a comma "
        "missing quotes?"
    ),
    "duplicate_serial": _(
        "Serial %(serial)s is on row %(line)s already, with other details: one row per "
        "device, or the same details on each."
    ),
    "duplicate_group": _("Row %(line)s asks for the same group “%(name)s” for this device."),
    "group_desc_without_name": _("A group description without a group name."),
    "group_exists": _("The device already has the group “%(name)s”: it is left as it is."),
    "group_desc_differs": _(
        "Its description on Coze differs from the file's; an import does not change it."
    ),
    "not_registered": _(
        "Coze made the group (%(coze_id)s) but the register could not store it: a sync with "
        "Coze registers it."
    ),
    "import_device_gone": _("The device was deleted meanwhile: no group was created for it."),
    "import_rate_limited": _(
        "Coze asked to slow down (%(reason)s); tried again %(tries)s times, then stopped."
    ),
    "sign_in_failed": _("Wrong password, or no such person: “%(username)s”."),
    "locked": _("After %(failures)s failed sign-ins, %(lock)s is locked for %(minutes)s minutes."),
    "lock_expired": _("The lock on %(lock)s ended; %(refused)s tries were refused during it."),
    "lock_lifted": _("Lock on %(lock)s lifted; %(refused)s tries were refused during it."),
    "account_created": _("Added “%(username)s” as %(role)s."),
    "account_role": _("Role of “%(username)s” changed from %(old_role)s to %(role)s."),
    "account_deactivated": _("“%(username)s” deactivated: they can no longer sign in."),
    "account_reactivated": _("“%(username)s” reactivated: they can sign in again."),
    "password_reset": _("A new password was set for “%(username)s”."),
    "password_changed": _("“%(username)s” changed their own password."),
    "wrong_current_password": _("Wrong current password given to change the password."),
    "superusers_only": _("Only a superuser can make or change a superuser."),
    "own_account": _("Nobody can change their own role or deactivate themselves."),
    "last_administrator": _("This would leave no active Administrator: refused."),
    "own_password": _(
        "Your own password is changed on your page, where your current one is asked for."
    ),
    # API tokens (%(scope)s: read-only or read-write)
    "token_created": _(
        "API token “%(name)s” (vpa_%(prefix)s…, %(scope)s) issued to “%(username)s”."
    ),
    "token_revoked": _("API token “%(name)s” (vpa_%(prefix)s…) of “%(username)s” revoked."),
    "token_unknown": _("A request with an unknown API token (vpa_%(prefix)s…) was refused."),
    "token_expired": _(
        "API token “%(name)s” (vpa_%(prefix)s…) has expired: the request was refused."
    ),
    "token_revoked_used": _(
        "API token “%(name)s” (vpa_%(prefix)s…) was revoked: the request was refused."
    ),
    "token_inactive": _(
        "API token “%(name)s” (vpa_%(prefix)s…) belongs to “%(username)s”, who can no longer "
        "sign in: the request was refused."
    ),
    "token_read_only": _(
        "API token “%(name)s” (vpa_%(prefix)s…) is read-only: %(method)s %(path)s was refused."
    ),
    # People and their consents
    "person_recorded": _("Recorded “%(name)s”."),
    "person_recorded_with_reference": _("Recorded “%(name)s”, reference %(reference)s."),
}

# Why a job's worker is known to have stopped (the "why" of its facts).
JOB_STOPS = {
    "gone": _("its process ended"),
    "silent": _("no sign of life for %(seconds)s s"),
    "stopped": _("it was told to stop"),
}

# Roles as facts name them (the names of the auth groups, and "superuser").
ROLES = {
    "Administrator": _("Administrator"),
    "Operator": _("Operator"),
    "Viewer": _("Viewer"),
    "superuser": _("superuser"),
    "": _("no role"),
}

# What an API token may do (the "scope" of its facts).
TOKEN_SCOPES = {"read": _("read-only"), "write": _("read-write")}

# What a sign-in lock holds back (the "kind" and "key" of its facts).
LOCKS = {
    "username": _("signing in as “%(key)s” from a browser new to that account"),
    "address": _("signing in from %(key)s with a browser new to the account"),
    "device": _("the browser that signed in as “%(key)s” before"),
}


def fact(say, **values):
    """The facts of an audit row: what happened (`say`, a key of SENTENCES or a special
    kind below) and its values, all JSON."""
    return {"say": say, **values}


def form_facts(form):
    """The facts of a form refused by validation: each field's error codes and limits."""
    return invalid_facts(form.errors.as_data())


def invalid_facts(problems_by_field):
    """The facts of values refused by validation ({field: [ValidationError, ...]}), as
    form_facts() gives them for a form."""
    errors = {}
    for field, problems in problems_by_field.items():
        errors[field] = [
            {"code": problem.code or "invalid", **_plain(problem.params)} for problem in problems
        ]
    return fact("invalid_form", errors=errors)


def _plain(params):
    return {key: value for key, value in (params or {}).items() if isinstance(value, int | str)}


def explain(entry):
    """What an audit row says beyond its columns, in the current language."""
    return render_safely(entry.facts) if entry.facts else entry.detail


def render_safely(facts):
    try:
        return render(facts)
    except (KeyError, TypeError, ValueError, AttributeError):
        return ""  # facts of a newer vpadmin: the row's columns still say what happened


def render(facts):
    say = facts.get("say")
    if say in SPECIAL:
        return SPECIAL[say](facts)
    values = {key: shown(value) for key, value in facts.items() if key != "say"}
    if "reason" in facts:
        values["reason"] = coze_reason(facts["reason"], facts.get("seconds"))
    if "kind" in facts:
        values["lock"] = lock_phrase(facts["kind"], facts["key"])
    if "why" in facts:
        values["why"] = str(JOB_STOPS[facts["why"]]) % {"seconds": shown(facts.get("seconds"))}
    if "scope" in facts:
        values["scope"] = str(TOKEN_SCOPES.get(facts["scope"], facts["scope"]))
    for name in ("role", "old_role"):
        if name in facts:
            values[name] = str(ROLES.get(facts[name], facts[name]))
    if "deletion" in facts:
        values["deletion"] = _deletion_reason(facts["deletion"])
    if "day" in facts:
        values["day"] = day(facts["day"])
    return str(SENTENCES[say]) % values


def _deletion_reason(reason):
    from .models import DeletionReason, choice_label

    return str(choice_label(DeletionReason, reason))


def locked_message(minutes):
    """What a refused password check says (the sign-in page and the password change)."""
    return ngettext(
        "Too many failed sign-ins for this account or from this address. "
        "Try again in %(minutes)s minute.",
        "Too many failed sign-ins for this account or from this address. "
        "Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


def lock_phrase(kind, key):
    """What a sign-in lock of `kind` on `key` holds back, as a phrase."""
    return str(LOCKS[kind]) % {"key": key}


def coze_reason(reason, seconds=None):
    """A transport reason code as a sentence (a reason Coze's msg gave is shown as is)."""
    template = COZE_REASONS.get(reason)
    if template is None:
        return str(reason)
    return str(template) % {"seconds": shown(seconds)}


def shown(value):
    """A value as the reader's language writes it: numbers grouped, lists joined."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float):
        return number_format(value, force_grouping=True)
    if isinstance(value, list):
        return joined(shown(item) for item in value)
    return "—" if value in (None, "") else str(value)


def joined(items):
    return ("、" if (get_language() or "").startswith("zh") else ", ").join(items)


def _invalid_form(facts):
    parts = []
    for field, problems in facts["errors"].items():
        label = FIELDS.get(field, field)
        words = [
            str(FORM_ERRORS.get(problem["code"], FORM_ERRORS["invalid"]))
            % {k: shown(v) for k, v in problem.items()}
            for problem in problems
        ]
        parts.append(
            str(_("%(field)s: %(problems)s")) % {"field": label, "problems": joined(words)}
        )
    return str(_("Not valid: %(errors)s.")) % {"errors": str(_("; ")).join(parts)}


def _changes(facts):
    parts = [
        str(_("%(field)s: %(problems)s"))
        % {"field": FIELDS.get(field, field), "problems": f"{shown(old)} → {shown(new)}"}
        for field, (old, new) in facts["changes"].items()
    ]
    # Fields whose values the log does not keep (a person's notes): only that they changed.
    parts += [
        str(_("%(field)s: changed")) % {"field": FIELDS.get(field, field)}
        for field in facts.get("changed", [])
    ]
    sentence = str(_("; ")).join(parts)
    if facts.get("device_gone"):
        sentence += " " + str(SENTENCES["device_gone"])
    if facts.get("device_other_account"):
        account = {"account": facts["device_other_account"]}
        sentence += " " + str(SENTENCES["device_other_account"]) % account
    return sentence


def _synced(facts):
    counts = facts["counts"]
    voiceprints = [facts.get(f"voiceprints_{what}", 0) for what in ("imported", "updated", "gone")]
    if any(counts.values()) or any(voiceprints):
        parts = [
            ngettext("%(n)s imported", "%(n)s imported", counts["imported"]),
            ngettext("%(n)s updated", "%(n)s updated", counts["updated"]),
            ngettext("%(n)s gone", "%(n)s gone", counts["gone"]),
            ngettext("%(n)s attempt resolved", "%(n)s attempts resolved", counts["resolved"]),
        ]
        numbers = [counts["imported"], counts["updated"], counts["gone"], counts["resolved"]]
        text = joined(part % {"n": shown(n)} for part, n in zip(parts, numbers, strict=True))
    else:
        text = str(_("no changes"))
    text += str(
        ngettext(
            " (%(total)s on Coze, %(calls)s list call)",
            " (%(total)s on Coze, %(calls)s list calls)",
            facts["calls"],
        )
    ) % {"total": shown(facts["total"]), "calls": shown(facts["calls"])}
    if not facts.get("steady", True):
        text += str(_("; Coze's list changed while it was read, so no group was marked gone"))
    return text + _voiceprints_synced(facts)


def _voiceprints_synced(facts):
    """What a sync did to the voiceprints (nothing said when it had nothing to do)."""
    imported, updated, gone, lists, unread = (
        facts.get(key, 0)
        for key in (
            "voiceprints_imported",
            "voiceprints_updated",
            "voiceprints_gone",
            "voiceprint_lists",
            "voiceprints_unread",
        )
    )
    text = ""
    if imported or updated or gone or lists:
        text += ngettext(
            "; voiceprints: %(imported)s imported, %(updated)s updated, %(gone)s gone "
            "(%(lists)s list call)",
            "; voiceprints: %(imported)s imported, %(updated)s updated, %(gone)s gone "
            "(%(lists)s list calls)",
            lists,
        ) % {
            "imported": shown(imported),
            "updated": shown(updated),
            "gone": shown(gone),
            "lists": shown(lists),
        }
    if unread:
        text += ngettext(
            "; the voiceprints of %(n)s group could not be read: the next sync reads them",
            "; the voiceprints of %(n)s groups could not be read: the next sync reads them",
            unread,
        ) % {"n": shown(unread)}
    if facts.get("voiceprints_error"):
        text += str(_("; reading the voiceprints stopped on an unexpected error (%(error)s)")) % {
            "error": facts["voiceprints_error"]
        }
    return text


def _voiceprints_stopped(facts):
    return ngettext(
        "Coze failed for %(failures)s groups in a row, so the voiceprints of the %(n)s group "
        "left wait for the next sync.",
        "Coze failed for %(failures)s groups in a row, so the voiceprints of the %(n)s groups "
        "left wait for the next sync.",
        facts["groups"],
    ) % {"failures": shown(facts["failures"]), "n": shown(facts["groups"])}


def _pruned(facts):
    by_action = joined(
        f"{action} {shown(n)}" for action, n in sorted(facts.get("by_action", {}).items())
    )
    text = str(
        _(
            "Removed %(removed)s rows older than %(before)s (%(by_action)s); kept %(kept)s "
            "still needed."
        )
    ) % {
        "removed": shown(facts["removed"]),
        "before": facts["before"],
        "by_action": by_action or "—",
        "kept": shown(facts["kept"]),
    }
    if facts.get("kept_by_law"):
        text += " " + str(
            _(
                "Of those, %(n)s are records of processing people's voices, which the law "
                "(PIPL art. 56) keeps for 3 years."
            )
        ) % {"n": shown(facts["kept_by_law"])}
    return text


def _listed_page(facts):
    return ngettext(
        "Page %(page)s of Coze's list: %(n)s group.",
        "Page %(page)s of Coze's list: %(n)s groups.",
        facts["groups"],
    ) % {"page": shown(facts["page"]), "n": shown(facts["groups"])}


def _sync_job_failed(facts):
    """As groups.services.messages.sync_failed says it on a page, from the stored facts."""
    details = _("code %(code)s, HTTP %(status)s, logid %(logid)s") % {
        "code": shown(facts.get("code")),
        "status": shown(facts.get("http_status")),
        "logid": shown(facts.get("logid")),
    }
    return _("Sync with Coze failed: %(reason)s (%(details)s)") % {
        "reason": render(facts["failure"]),
        "details": details,
    }


def _consent_recorded(facts):
    from .models import Consent, choice_label

    text = str(
        _(
            "Consent given by %(given_by)s on %(given_on)s (%(method)s) recorded: "
            "voiceprints may be kept until %(keep_until)s."
        )
    ) % {
        "given_by": choice_label(Consent.GivenBy, facts["given_by"]),
        "method": choice_label(Consent.Method, facts["method"]),
        "given_on": day(facts["given_on"]),
        "keep_until": day(facts["keep_until"]),
    }
    if facts.get("shorter"):
        text += " " + str(_("Earlier than the default date, as they asked."))
    return text


def _identified(facts):
    """An identification test's outcome: its best match against the threshold."""
    top, threshold = facts.get("top"), shown(facts["threshold"])
    if not top:
        return str(_("The group had no voiceprint to compare (threshold %(threshold)s).")) % {
            "threshold": threshold
        }
    who = _("“%(name)s” (%(person)s)") if top.get("person") else _("“%(name)s” (person unknown)")
    values = {
        "who": str(who) % {"name": top["name"], "person": top.get("person")},
        "score": shown(top["score"]),
        "threshold": threshold,
    }
    if top["recognised"]:
        text = _("Best match %(who)s at %(score)s: at or above the threshold of %(threshold)s.")
    else:
        text = _("Best match %(who)s at %(score)s: below the threshold of %(threshold)s.")
    count = facts["count"]
    scored = ngettext("%(n)s voiceprint scored.", "%(n)s voiceprints scored.", count)
    return f"{str(text) % values} {scored % {'n': shown(count)}}"


def _person_report(facts):
    counts = [
        ngettext("%(n)s consent", "%(n)s consents", facts["consents"]),
        ngettext("%(n)s withdrawal", "%(n)s withdrawals", facts["withdrawals"]),
        ngettext("%(n)s voiceprint", "%(n)s voiceprints", facts["voiceprints"]),
        ngettext("%(n)s deletion", "%(n)s deletions", facts["deletions"]),
    ]
    numbers = [facts[key] for key in ("consents", "withdrawals", "voiceprints", "deletions")]
    held = joined(text % {"n": shown(n)} for text, n in zip(counts, numbers, strict=True))
    return str(_("Report downloaded, holding %(held)s.")) % {"held": held}


def _consent_withdrawn(facts):
    from .models import Consent, choice_label

    text = ngettext(
        "Consent withdrawn (%(method)s): %(n)s voiceprint to delete on Coze.",
        "Consent withdrawn (%(method)s): %(n)s voiceprints to delete on Coze.",
        facts["voiceprints"],
    ) % {
        "method": choice_label(Consent.WithdrawalMethod, facts["method"]),
        "n": shown(facts["voiceprints"]),
    }
    if facts.get("note"):
        text += " " + str(_("A note was recorded with it."))
    return text


def deletion_problem(text):
    """A voiceprint's `deletion_error` as the reader's language says it: our reason's code
    translated, Coze's own words as Coze wrote them."""
    from django.conf import settings

    return coze_reason(text, settings.COZE_TIMEOUT)


def day(iso):
    """A day stored as YYYY-MM-DD, as the reader's language writes dates."""
    return _day(iso, get_language())


@functools.lru_cache(maxsize=4096)
def _day(iso, language):
    # Remembered: an export of the log writes the same few hundred days over and over
    # (a consent's dates), and formatting one costs more than the rest of its row.
    return date_format(datetime.date.fromisoformat(iso), "DATE_FORMAT")


def job_summary(job):
    """What a job came to (or why it runs again), in the current language."""
    if not job.summary:
        return ""
    text = render_safely(job.summary)
    if job.summary.get("say") == "synced" and text:
        return str(_("Synced with Coze: %(summary)s.")) % {"summary": text}
    return text


def _quota_full(facts):
    """A creation refused for a full quota: one account's figures, or each account's."""
    if facts.get("accounts"):
        figures = joined(
            str(_("%(account)s %(used)s of %(limit)s"))
            % {"account": name, "used": shown(used), "limit": shown(limit)}
            for name, used, limit in facts["accounts"]
        )
        return str(_("All Coze accounts were full: %(accounts)s.")) % {"accounts": figures}
    values = {"used": shown(facts["used"]), "limit": shown(facts["limit"])}
    if facts.get("account"):
        text = _("The Coze account %(account)s was full: %(used)s of %(limit)s groups in use.")
        return str(text) % {**values, "account": facts["account"]}
    return str(SENTENCES["quota_full"]) % values


def _import_bad_columns(facts):
    parts = []
    if facts["unknown"]:
        parts.append(str(_("unknown columns: %(names)s")) % {"names": joined(facts["unknown"])})
    if facts["missing"]:
        parts.append(str(_("missing columns: %(names)s")) % {"names": joined(facts["missing"])})
    if facts["twice"]:
        parts.append(str(_("columns twice: %(names)s")) % {"names": joined(facts["twice"])})
    return str(_("The header row is not an import's (%(problems)s). Columns: %(expected)s.")) % {
        "problems": str(_("; ")).join(parts),
        "expected": joined(facts["expected"]),
    }


IMPORT_DEVICE = {
    "create": _("Device created."),
    "update": _("Device updated."),
    "unchanged": _("Device unchanged."),
    "again": _("Device as on an earlier row."),
}
IMPORT_GROUP = {
    "created": _("Group “%(name)s” created on Coze (%(coze_id)s)."),
    "found": _("Group “%(name)s” found on Coze (%(coze_id)s) after an answer was lost."),
    "exists": _("Group “%(name)s” was there already."),
}


def _import_row(facts):
    """An import row's result: its device, its group, and why it stopped, if it did."""
    parts = []
    if facts.get("device"):
        parts.append(str(IMPORT_DEVICE[facts["device"]]))
    if facts.get("group"):
        values = {"name": facts.get("name", ""), "coze_id": shown(facts.get("coze_id"))}
        parts.append(str(IMPORT_GROUP[facts["group"]]) % values)
    if facts.get("error"):
        parts.append(render(facts["error"]))
    return ("" if (get_language() or "").startswith("zh") else " ").join(parts)


def _import_done(facts):
    counts = [
        ngettext("%(n)s device created", "%(n)s devices created", facts["created"]),
        ngettext("%(n)s updated", "%(n)s updated", facts["updated"]),
        ngettext("%(n)s unchanged", "%(n)s unchanged", facts["unchanged"]),
        ngettext("%(n)s group created", "%(n)s groups created", facts["groups"]),
        ngettext("%(n)s row failed", "%(n)s rows failed", facts["failed"]),
    ]
    numbers = [facts[key] for key in ("created", "updated", "unchanged", "groups", "failed")]
    text = joined(part % {"n": shown(n)} for part, n in zip(counts, numbers, strict=True))
    return str(_("Import done: %(counts)s.")) % {"counts": text}


def moment(iso):
    """A time stored as ISO 8601, as the reader's language writes it, in TIME_ZONE."""
    return date_format(
        timezone.localtime(datetime.datetime.fromisoformat(iso)), "SHORT_DATETIME_FORMAT"
    )


def _token_refusals_held(facts):
    return str(
        _(
            "More than %(limit)s requests with a refused API token came from %(address)s "
            "within %(minutes)s minutes: until %(until)s the rest from there are counted, "
            "not written one by one."
        )
    ) % {
        "limit": shown(facts["limit"]),
        "address": facts["address"] or "—",
        "minutes": shown(facts["minutes"]),
        "until": moment(facts["until"]),
    }


def _token_refusals_counted(facts):
    return ngettext(
        "%(count)s more request with a refused API token came from %(address)s between "
        "%(since)s and %(until)s (counted, not written one by one).",
        "%(count)s more requests with a refused API token came from %(address)s between "
        "%(since)s and %(until)s (counted, not written one by one).",
        facts["count"],
    ) % {
        "count": shown(facts["count"]),
        "address": facts["address"] or "—",
        "since": moment(facts["since"]),
        "until": moment(facts["until"]),
    }


SPECIAL = {
    "import_bad_columns": _import_bad_columns,
    "import_row": _import_row,
    "import_done": _import_done,
    "token_refusals_held": _token_refusals_held,
    "token_refusals_counted": _token_refusals_counted,
    "quota_full": _quota_full,
    "invalid_form": _invalid_form,
    "changes": _changes,
    "synced": _synced,
    "pruned": _pruned,
    "listed_page": _listed_page,
    "sync_job_failed": _sync_job_failed,
    "voiceprints_stopped": _voiceprints_stopped,
    "consent_recorded": _consent_recorded,
    "identified": _identified,
    "person_report": _person_report,
    "consent_withdrawn": _consent_withdrawn,
}
