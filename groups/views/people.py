"""People pages: the register of people whose voices are enrolled, one person (their
consents, voiceprints and how their deletions stand), recording and editing a person,
recording a consent and its withdrawal, and a person's report of what vpadmin holds about
them."""

import copy
import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vpadmin.lists import DeferredJoinPaginator, page_of, sort_by, url_of_id
from vpadmin.spreadsheets import csv_response

from .. import audit, person_report, services, wording
from ..filtersets import PersonFilterSet
from ..forms import ConsentForm, PersonForm, WithdrawalForm
from ..models import AuditEntry, Person, Voiceprint
from ..models.people import active_voiceprint_count, consent_state_of, in_force_until
from ..services import messages as says
from ..services.whoami import token_user
from .common import permission_required, tell

Action = AuditEntry.Action
# A person's devices named in the list (the rest counted; their page names every one): a
# household's voice on a dozen devices would otherwise fill the row, and the page.
DEVICES_SHOWN = 3


# A page's row: a person with one of their consents (most have one), or none.
WITH_CONSENT = {
    "consent_keep_until": F("consents__keep_until"),
    "consent_withdrawn_at": F("consents__withdrawn_at"),
    "consent_recorded_at": F("consents__recorded_at"),
    "consent_id": F("consents__id"),
}


@permission_required("groups.view_person")
def person_list(request):
    found = PersonFilterSet(request.GET, Person.objects.only("name", "reference"))
    people, sort = sort_by(
        request,
        found.qs,
        {
            "name": ["name"],
            "reference": ["reference"],
            "consent": [in_force_until],
            "voiceprints": [active_voiceprint_count],
        },
        default="name",
    )
    # The page's keys first (reading the sort order alone), then its 50 people with their
    # consents joined, then their active voiceprints: each figure computed here from rows
    # read once, none by a subquery a person.
    page = page_of(request, people, DeferredJoinPaginator)
    consents = {}
    for person in page.object_list.annotate(**WITH_CONSENT):
        held = consents.setdefault(person, [])
        if person.consent_id is not None:
            held.append(
                (
                    person.consent_keep_until,
                    person.consent_withdrawn_at,
                    person.consent_recorded_at,
                    person.consent_id,
                )
            )
    voiceprints = _voiceprints_of([person.pk for person in consents])
    person_url, device_url = url_of_id("person_detail"), url_of_id("device_detail")
    today = timezone.localdate()
    rows = []
    for person, held in consents.items():
        count, devices = voiceprints.get(person.pk, (0, []))
        state = consent_state_of(held, today)
        more = len(devices) - DEVICES_SHOWN
        rows.append(
            {
                "person": person,
                "url": person_url(person.pk),
                "state": state,
                "consent": consent_pill(state),
                "voiceprints": count,
                "devices": [(device_url(pk), name) for pk, name in devices[:DEVICES_SHOWN]],
                "more_devices": _("and %(n)s more") % {"n": more} if more > 0 else "",
            }
        )
    page.object_list = rows
    context = {"page": page, "rows": rows, "q": found.applied.get("q", ""), "sort": sort}
    return render(request, "groups/person_list.html", context)


# A consent's state as a pill: its class, and its words with {date} (consent_state()).
CONSENT_PILLS = {
    "in_force": ("success", lambda: _("in force until %(date)s")),
    "expired": ("unknown", lambda: _("expired after %(date)s")),
    "withdrawn": ("refused", lambda: _("withdrawn on %(date)s")),
    "none": ("refused", lambda: _("no consent")),
}


def consent_pill(state):
    """{"class", "text"} of a consent's state ({"code", "date"}): said in Python, not by an
    included template, for it is said on each of a list's 50 rows."""
    pill, words = CONSENT_PILLS[state["code"]]
    day = state["date"]
    if day is None:
        return {"class": pill, "text": words()}
    if isinstance(day, datetime.datetime):
        shown = date_format(timezone.localtime(day), "DATE_FORMAT")
    else:  # a keeping date: the same few hundred days over and over, each said once
        shown = wording.day(day.isoformat())
    return {"class": pill, "text": words() % {"date": shown}}


def _voiceprints_of(person_ids):
    """How many active voiceprints each person has and the devices holding them ({person
    id: (count, [(device id, name)])}), from one row a voiceprint (a dozen a person), read
    along the index of people's voiceprints (and on PostgreSQL that of groups' devices)
    without reading either table."""
    rows = (
        Voiceprint.objects.active()
        .filter(person__in=person_ids)
        .values_list("person_id", "group__device_id", "group__device__name")
        .order_by("group__device__name", "group__device_id")
    )
    counts, devices = {}, {}
    for person_id, device_id, name in rows:
        counts[person_id] = counts.get(person_id, 0) + 1
        held = devices.setdefault(person_id, {})
        if device_id is not None:
            held[device_id] = name
    return {pk: (n, list(devices[pk].items())) for pk, n in counts.items()}


@permission_required("groups.view_person")
def person_detail(request, pk):
    person = get_object_or_404(Person.objects.select_related("created_by"), pk=pk)
    today = timezone.localdate()
    held = person_report.holdings(person)
    consents = []
    for consent in held.consents:
        state = consent.state(today)
        consents.append({"consent": consent, "state": state, "pill": consent_pill(state)})
    voiceprints = held.voiceprints
    history = AuditEntry.objects.filter(target_type="person", target_id=str(person.pk))
    still_to_delete = [
        v for v in voiceprints if v.deletion_state in ("waiting", "needs_maker", "needs_person")
    ]
    context = {
        "person": person,
        "consents": consents,
        "in_force": any(row["state"]["code"] == "in_force" for row in consents),
        "voiceprints": voiceprints,
        "deletions": held.deletions,
        "still_to_delete": len(still_to_delete),
        "deletions_shown": any(v.deletion_state for v in voiceprints),
        "history": history.prefetch_related("device")[:20],
    }
    return render(request, "groups/person_detail.html", context)


@permission_required("groups.view_person")
def person_report_csv(request, pk):
    """What vpadmin holds about a person, as one CSV (their data-subject report): a Viewer
    may take it, as they may read the person's page that shows the same; each is audited."""
    person = get_object_or_404(Person.objects.select_related("created_by"), pk=pk)
    held = services.report_on(request.actor, person)
    return csv_response(
        f"person-{person.pk}-report.csv", person_report.header(), person_report.rows(held)
    )


def _save_person(request, form, action, person=None):
    """Save a valid form through the service (recording a person, or changing `person`); a
    reference taken since the form was checked becomes a form error. Returns the redirect,
    or None to show the form."""
    if form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.people.FIELDS}
        try:
            if person is None:
                person = services.create_person(request.actor, **values)
                messages.success(request, _("“%(name)s” recorded.") % {"name": person.name})
            elif services.update_person(request.actor, person, **values):
                messages.success(request, _("“%(name)s” saved.") % {"name": person.name})
            else:
                messages.info(request, _("Nothing to change."))
        except services.ReferenceTaken as taken:
            form.add_error("reference", ValidationError(says.about(taken).text, code="unique"))
        else:
            return redirect(person)
    audit.refuse(request.actor, action, wording.form_facts(form), target=person)
    return None


@permission_required("groups.add_person")
def person_new(request):
    form = PersonForm(request.POST or None)
    if request.method == "POST" and (done := _save_person(request, form, Action.PERSON_CREATE)):
        return done
    return render(request, "groups/person_form.html", {"form": form})


@permission_required("groups.change_person")
def person_edit(request, pk):
    person = get_object_or_404(Person, pk=pk)
    # The form checks a copy: what was typed must not reach `person` before the service
    # compares it with what is stored.
    form = PersonForm(request.POST or None, instance=copy.copy(person))
    if request.method == "POST" and (
        done := _save_person(request, form, Action.PERSON_UPDATE, person)
    ):
        return done
    return render(request, "groups/person_form.html", {"form": form, "person": person})


@permission_required("groups.add_consent")
def person_consent(request, pk):
    person = get_object_or_404(Person, pk=pk)
    form = ConsentForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            audit.refuse(
                request.actor, Action.CONSENT_CREATE, wording.form_facts(form), target=person
            )
        else:
            try:
                consent = services.record_consent(request.actor, person, **form.cleaned_data)
            except services.ConsentRefused as refused:  # checked again there (and audited)
                for name, error in refused.errors.items():
                    form.add_error(name, error)
            else:
                messages.success(
                    request,
                    _("Consent recorded for “%(name)s”: voiceprints may be kept until %(date)s.")
                    % {"name": person.name, "date": date_format(consent.keep_until, "DATE_FORMAT")},
                )
                return redirect(person)
    return render(request, "groups/consent_form.html", {"form": form, "person": person})


@permission_required("groups.withdraw_consent")
def person_withdraw(request, pk):
    """Record a withdrawal of consent, after a page that lists every voiceprint of the
    person that will be deleted on Coze."""
    person = get_object_or_404(Person, pk=pk)
    form = WithdrawalForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            return _withdraw(request, person, form.cleaned_data)
        audit.refuse(
            request.actor, Action.CONSENT_WITHDRAW, wording.form_facts(form), target=person
        )
    elif not person.consents.in_force().exists():
        tell(request, says.about(services.NothingToWithdraw(person)))
        return redirect(person)
    voiceprints = person.voiceprints.active().select_related("group__device", "group__account")
    voiceprints = list(voiceprints.order_by("group__name", "pk"))
    accounts = {v.group.account_id: v.group.account for v in voiceprints}
    tokens = {pk: token_user(account) for pk, account in accounts.items()}
    rows = [
        {
            "voiceprint": voiceprint,
            "maker": _other_maker(voiceprint, tokens[voiceprint.group.account_id]),
        }
        for voiceprint in voiceprints
    ]
    context = {"person": person, "form": form, "rows": rows}
    return render(request, "groups/person_withdraw.html", context)


def _withdraw(request, person, data):
    try:
        withdrawal = services.withdraw_consent(
            request.actor,
            person,
            method=data["withdrawal_method"],
            note=data["withdrawal_note"],
        )
    except services.NothingToWithdraw as refused:
        tell(request, says.about(refused))
        return redirect(person)
    count = len(withdrawal.voiceprints)
    if count:
        text = ngettext(
            "The consent of “%(name)s” is withdrawn. %(n)s voiceprint is being deleted on "
            "Coze: this page shows how it goes.",
            "The consent of “%(name)s” is withdrawn. %(n)s voiceprints are being deleted on "
            "Coze: this page shows how it goes.",
            count,
        )
    else:
        text = _("The consent of “%(name)s” is withdrawn. No voiceprint of theirs is held.")
    messages.success(request, text % {"name": person.name, "n": wording.shown(count)})
    return redirect(person)


def _other_maker(voiceprint, token):
    """Who made `voiceprint` on Coze when it is not the token's user (only they can delete
    it), else None. `token`: services.whoami.token_user()."""
    creator = voiceprint.coze_creator_id
    if not creator or token is None or token[0] == creator:
        return None
    return voiceprint.coze_creator_name or creator
