"""The rows of the tables many pages share (includes/audit_table.html, voiceprint_table.html)
made in Python once a table, each cell ready to show, as the admin's change lists make
theirs: as a dozen lookups, conditions and filters a row in the template, the twenty audit
rows and ten voiceprints of a group's page took longer than all the rest of it (each
time's format read again, each link reversed in a filter)."""

from html import escape

from django import template
from django.template.defaultfilters import floatformat, truncatechars
from django.utils import dateformat, timezone
from django.utils.formats import get_format, localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from vpadmin.lists import url_of_id

register = template.Library()

# A row's target links to its page when it is one of these.
TARGET_PAGES = {"voiceprintgroup": "group_detail", "person": "person_detail"}


def _html(markup, *texts):
    """`markup` with each of `texts` (plain text, never markup) escaped: format_html()
    without its checks for lazy and safe strings, which cost more than the rest of a row."""
    return mark_safe(markup.format(*(escape(str(text)) for text in texts)))  # noqa: S308


def _link(url, text):
    return _html('<a href="{}">{}</a>', url, text)


def _pill(kind, text):
    return _html('<span class="pill {}">{}</span>', kind, text)


def _moment(value, time_format):
    return dateformat.format(timezone.localtime(value), time_format)


@register.simple_tag(takes_context=True)
def audit_rows(context, entries):
    """{% audit_rows entries as rows %}: each audit entry's cells as the table shows them."""
    said = {
        "time_format": get_format("DATETIME_FORMAT"),
        "pages": {kind: url_of_id(name) for kind, name in TARGET_PAGES.items()},
        "device_url": url_of_id("device_detail"),
        # None: one account only, no row names its account.
        "names": context.get("account_names") if context.get("several_accounts") else None,
        "logid": _("logid"),
        "code": _("code"),
    }
    return [_audit_row(entry, said) for entry in entries]


def _audit_row(entry, said):
    page = said["pages"].get(entry.target_type) if entry.target_id else None
    return {
        "time": _html(
            '<time datetime="{}">{}</time>',
            entry.created_at.isoformat(),
            _moment(entry.created_at, said["time_format"]),
        ),
        "who": entry.actor_label or "—",
        "action": entry.action_label,
        "outcome": _pill(entry.outcome, entry.outcome_label),
        "target": (
            _link(page(entry.target_id), entry.target_label)
            if page
            else entry.target_label or entry.sent_name or "—"
        ),
        "device": _device(entry, said),
        "coze": _coze(entry, said),
        "detail": _shortened(entry.explanation or entry.coze_msg, 200),
    }


def _coze(entry, said):
    """A row's Coze cell: its account (when there are several), logid, code and status."""
    cell = SafeString()  # and each part added is safe: the cell stays safe
    if entry.account_id and said["names"] is not None:
        cell += _html('<span class="account">{}</span><br>', _account_name(entry, said))
    if entry.coze_logid:
        cell += _html("{} {}", said["logid"], entry.coze_logid)
    if entry.coze_code is not None:
        cell += _html("<br>{} {}", said["code"], localize(entry.coze_code))
        if entry.http_status:
            cell += _html(" · HTTP {}", localize(entry.http_status))
    return cell


def _device(entry, said):
    """A row's device linked to its page: named by the page's query (`device_name`), else
    read with the rows."""
    if hasattr(entry, "device_name"):
        name = entry.device_name
    else:
        name = entry.device.name if entry.device else None
    return "—" if name is None else _link(said["device_url"](entry.device_id), name)


def _account_name(entry, said):
    """The name of a row's account: named by the page's query (`account_name`), else from
    the names every page may read."""
    if hasattr(entry, "account_name"):
        return entry.account_name or ""
    return said["names"].get(entry.account_id, "")


def _shortened(text, length):
    # A Truncator costs more than all the rest of a row: only for a text that needs it.
    return truncatechars(text, length) if len(text) > length else text


@register.simple_tag
def voiceprint_rows(voiceprints, show_group=False):
    """{% voiceprint_rows voiceprints show_group as rows %}: each voiceprint's cells as the
    table shows them (its group's and device's with `show_group`)."""
    names = ["voiceprint_detail", "person_detail"]
    if show_group:
        names += ["group_detail", "device_detail"]
    said = {
        "time_format": get_format("SHORT_DATETIME_FORMAT"),
        "urls": {name: url_of_id(name) for name in names},
        "unknown": _pill("unknown", _("unknown")),
    }
    return [_voiceprint_row(voiceprint, said, show_group) for voiceprint in voiceprints]


def _voiceprint_row(voiceprint, said, show_group):
    urls, person = said["urls"], voiceprint.person
    row = {
        "name": _link(urls["voiceprint_detail"](voiceprint.pk), voiceprint.name),
        "person": _link(urls["person_detail"](person.pk), person.name)
        if person
        else said["unknown"],
        "enrolled_by": voiceprint.enrolled_by_name or voiceprint.coze_creator_name or "—",
        "created": _moment(voiceprint.created_at, said["time_format"]),
        "audio": _audio(voiceprint),
        "state": _pill(voiceprint.state, voiceprint.state_label),
    }
    if show_group:
        group = voiceprint.group
        device = group.device
        row["group"] = _link(urls["group_detail"](group.pk), group.name)
        row["device"] = _link(urls["device_detail"](device.pk), device.name) if device else "—"
    return row


def _audio(voiceprint):
    if not voiceprint.duration:
        return "—"
    return _("%(seconds)s s, %(speech)s s speech") % {
        "seconds": floatformat(voiceprint.duration, 1),
        "speech": floatformat(voiceprint.speech_seconds, 1),
    }
