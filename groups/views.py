"""The dashboard's pages. Each view: permission, fetch, work, then render or redirect."""

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, F, Prefetch, Q, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from . import accounts, attempts, audit, charts, coze, operations, sync, throttling, wording
from .forms import (
    DeviceForm,
    GroupEditForm,
    GroupForm,
    MyPasswordForm,
    PasswordResetForm,
    PersonChangeForm,
    PersonForm,
)
from .models import AuditEntry, CozeAccount, Device, SignInLock, VoiceprintGroup

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
PAGE_SIZE = 50
ACTIVE_GROUP_COUNT = Count(
    "voiceprint_groups", filter=Q(voiceprint_groups__state=VoiceprintGroup.State.ACTIVE)
)


def permission_required(perm):
    """Like Django's, but a refusal is a 403 page and an audit row."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                facts = wording.fact(
                    "permission", permission=perm, method=request.method, path=request.path[:300]
                )
                audit.record(request, Action.PERMISSION_DENIED, Outcome.REFUSED, facts=facts)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def active_group_counts():
    """Groups held (the quota in use) and, of those, the ones with no device: one query."""
    return VoiceprintGroup.objects.active().aggregate(
        used=Count("id"), unassigned=Count("id", filter=Q(device__isnull=True))
    )


def quota_summary(used=None):
    if used is None:
        used = VoiceprintGroup.objects.active().count()
    limit = settings.COZE_GROUP_QUOTA
    percent = min(100, round(used * 100 / limit))
    level = "full" if used >= limit else "warning" if used * 5 >= limit * 4 else "ok"
    account = CozeAccount.objects.filter(pk=1).first()
    remote = account.remote_total if account else None
    return {
        "used": used,
        "limit": limit,
        "percent": percent,
        "level": level,
        "free": max(0, limit - used),
        "account": account,
        # Where Coze's own count sits on the gauge, once a sync has read it.
        "remote_percent": None if remote is None else min(100, round(remote * 100 / limit, 1)),
    }


ID_PATTERN = re.compile(r"[0-9]{1,18}")  # what a bigint primary key can be


def _text_param(params, name):
    """A free-text query parameter as the database can take it (no NUL characters)."""
    return params.get(name, "").replace("\x00", "").strip()


def _id_param(params, name):
    """An id query parameter, or None when it is not one."""
    value = params.get(name, "")
    return int(value) if ID_PATTERN.fullmatch(value) else None


def _page(request, queryset, paginator=Paginator):
    return paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


class DeferredJoinPaginator(Paginator):
    """Pages of the audit log, which grows without end, in one query as cheap on the last
    page as on the first: the page's keys are chosen by a subquery that reads the order's
    index alone (WHERE id IN (SELECT id ... LIMIT 50 OFFSET n)), so rows skipped by OFFSET
    are never read from the table; and past the middle, keys are counted from the other
    end (the reverse order, reversed back), so OFFSET never skips more than half."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = self.object_list.prefetch_related(None).values("pk")
        if bottom > self.count - top:
            keys = keys.reverse()[self.count - top : self.count - bottom]
        else:
            keys = keys[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


def _sorted(request, queryset, columns, default):
    """Order by the `sort` parameter (a column name, `-` for descending) if it names one of
    `columns` ({name: ordering fields}); returns the queryset and the header links."""
    sort = request.GET.get("sort", default)
    name = sort.removeprefix("-")
    if name not in columns:
        sort, name = default, default.removeprefix("-")
    descending = sort.startswith("-")
    fields = [f"-{f}" if descending else f for f in columns[name]]
    links = {}
    for column in columns:
        query = request.GET.copy()
        query.pop("page", None)
        query["sort"] = f"-{column}" if column == name and not descending else column
        state = ("descending" if descending else "ascending") if column == name else ""
        links[column] = {"url": "?" + query.urlencode(), "state": state}
    return queryset.order_by(*fields, "-pk" if descending else "pk"), links


def _query_without_page(request):
    """The current filters as a query string, for links to other pages of the list."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@permission_required("groups.view_voiceprintgroup")
def dashboard(request):
    counts = active_group_counts()
    latest = list(AuditEntry.objects.all()[:10])
    # An unknown outcome found out later (by a sync or a lookup) is no longer a failure.
    failures = list(
        AuditEntry.objects.filter(outcome__in=[Outcome.FAILURE, Outcome.UNKNOWN]).exclude(
            outcome=Outcome.UNKNOWN, resolution__isnull=False
        )[:10]
    )
    waiting = list(attempts.waiting()[:10])
    # The devices of the tables in one query. Not joined: joined, the failures' ORDER BY
    # ... LIMIT 10 sorts every failure with its device (10 times slower on SQLite).
    prefetch_related_objects(latest + failures + waiting, "device")
    context = {
        "quota": quota_summary(counts["used"]),
        "device_count": Device.objects.count(),
        "unassigned_count": counts["unassigned"],
        "latest_entries": latest,
        "latest_failures": failures,
        "waiting": waiting,
        "outcomes": charts.coze_outcomes(days=30),
    }
    return render(request, "groups/dashboard.html", context)


# Devices


@permission_required("groups.view_device")
def device_list(request):
    devices, sort = _sorted(
        request,
        Device.objects.annotate(group_count=ACTIVE_GROUP_COUNT),
        {
            "name": ["name"],
            "serial": ["serial"],
            "location": ["location"],
            "groups": ["group_count"],
        },
        default="name",
    )
    query = _text_param(request.GET, "q")
    if query:
        devices = devices.filter(
            Q(name__icontains=query) | Q(serial__icontains=query) | Q(location__icontains=query)
        )
    context = {
        "page": _page(request, devices),
        "q": query,
        "sort": sort,
        "query": _query_without_page(request),
    }
    return render(request, "groups/device_list.html", context)


@permission_required("groups.view_device")
def device_detail(request, pk):
    device = get_object_or_404(Device, pk=pk)
    context = {
        "device": device,
        "groups": device.voiceprint_groups.select_related("creator"),
        "waiting": attempts.unresolved_creations()
        .filter(device=device)
        .select_related("device")[:20],
        "history": device.audit_entries.all()[:20],
    }
    return render(request, "groups/device_detail.html", context)


def _save_device(request, form, action):
    if form.is_valid() and _saved(form):
        device = form.instance
        audit.record(request, action, Outcome.SUCCESS, target=device, device=device)
        messages.success(request, _("Device “%(name)s” saved.") % {"name": device.name})
        return redirect(device)
    audit.record(
        request,
        action,
        Outcome.REFUSED,
        target=form.instance if form.instance.pk else None,
        facts=wording.form_facts(form),
    )
    return None


def _saved(form):
    """Save a valid device form; a serial taken (or the device deleted) by someone else
    since the form was checked becomes a form error, not a server error."""
    editing = form.instance.pk is not None
    try:
        with transaction.atomic():
            device = form.save(commit=False)
            device.save(force_update=editing)
    except IntegrityError:
        form.add_error(
            "serial",
            ValidationError(
                Device._meta.get_field("serial").error_messages["unique"], code="unique"
            ),
        )
        return False
    except DatabaseError:  # the forced update found no row: deleted meanwhile
        form.add_error(None, ValidationError(_("This device was deleted."), code="deleted"))
        return False
    return True


@permission_required("groups.add_device")
def device_new(request):
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and (done := _save_device(request, form, Action.DEVICE_CREATE)):
        return done
    return render(request, "groups/device_form.html", {"form": form})


@permission_required("groups.change_device")
def device_edit(request, pk):
    device = get_object_or_404(Device, pk=pk)
    form = DeviceForm(request.POST or None, instance=device)
    if request.method == "POST" and (done := _save_device(request, form, Action.DEVICE_UPDATE)):
        return done
    return render(request, "groups/device_form.html", {"form": form, "device": device})


@permission_required("groups.delete_device")
def device_delete(request, pk):
    device = get_object_or_404(Device, pk=pk)
    if request.method != "POST":
        context = {
            "device": device,
            "active_groups": list(
                device.voiceprint_groups.active().values_list("name", flat=True)[:20]
            ),
            "waiting": list(attempts.unresolved_creations().filter(device=device)[:20]),
        }
        return render(request, "groups/device_confirm_delete.html", context)
    try:
        operations.delete_device(request, device)
    except operations.DeviceBusy as busy:
        if busy.groups:
            messages.error(
                request,
                _(
                    "“%(device)s” still serves active voiceprint groups: %(groups)s. Delete them "
                    "or assign them to another device first."
                )
                % {"device": device.name, "groups": wording.joined(busy.groups)},
            )
        else:
            messages.error(
                request,
                _(
                    "A voiceprint group is being created for “%(device)s” (%(groups)s) and "
                    "Coze's answer is not known yet. Check it on the device's page first."
                )
                % {"device": device.name, "groups": wording.joined(busy.attempts)},
            )
        return redirect(device)
    messages.success(request, _("Device “%(name)s” deleted.") % {"name": device.name})
    return redirect("device_list")


# Voiceprint groups


@permission_required("groups.view_voiceprintgroup")
def group_list(request):
    groups = VoiceprintGroup.objects.select_related("device", "creator")
    device_filter = request.GET.get("device", "")
    device = None
    if device_filter == "none":
        groups = groups.filter(device__isnull=True)
    elif (device_id := _id_param(request.GET, "device")) is not None:
        device = Device.objects.filter(pk=device_id).first()
        groups = groups.filter(device_id=device_id)
    else:
        device_filter = ""
    state = request.GET.get("state", "")
    if state in VoiceprintGroup.State.values:
        groups = groups.filter(state=state)
    elif state != "all":
        groups = groups.exclude(state=VoiceprintGroup.State.DELETED)
    query = _text_param(request.GET, "q")
    if query:
        groups = groups.filter(Q(name__icontains=query) | Q(coze_id=query))
    groups, sort = _sorted(
        request,
        groups,
        {
            "name": ["name"],
            "state": ["state"],
            "device": ["device__name"],
            "created": ["created_at"],
        },
        default="-created",
    )
    context = {
        "sort": sort,
        "state": state,
        "states": VoiceprintGroup.State.choices,
        "page": _page(request, groups),
        "q": query,
        "device_filter": device_filter,
        "device": device,
        "query": _query_without_page(request),
    }
    return render(request, "groups/group_list.html", context)


@permission_required("groups.view_voiceprintgroup")
def group_detail(request, pk):
    group = get_object_or_404(VoiceprintGroup.objects.select_related("device", "creator"), pk=pk)
    history = AuditEntry.objects.filter(
        target_type="voiceprintgroup", target_id=str(group.pk)
    ).prefetch_related("device")
    return render(request, "groups/group_detail.html", {"group": group, "history": history[:20]})


@permission_required("groups.add_voiceprintgroup")
def group_new(request):
    if request.method != "POST":
        form = GroupForm(initial={"device": request.GET.get("device")})
        return render(request, "groups/group_form.html", {"form": form, "quota": quota_summary()})

    form = GroupForm(request.POST)
    if not form.is_valid():
        audit.record(
            request,
            Action.GROUP_CREATE,
            Outcome.REFUSED,
            sent_name=request.POST.get("name", "")[:200],
            sent_desc=request.POST.get("desc", "")[:2000],
            facts=wording.form_facts(form),
        )
        return render(request, "groups/group_form.html", {"form": form, "quota": quota_summary()})

    data = form.cleaned_data
    try:
        group = operations.create_group(
            request,
            name=data["name"],
            desc=data["desc"],
            device=data["device"],
            submission=data["submission"],
        )
    except operations.AlreadySubmitted as resent:
        return _answer_resent_form(request, form, resent.entry)
    except operations.DeviceGone:
        form.add_error("device", form.fields["device"].error_messages["invalid_choice"])
        audit.record(
            request,
            Action.GROUP_CREATE,
            Outcome.REFUSED,
            sent_name=data["name"],
            sent_desc=data["desc"],
            facts=wording.form_facts(form),
        )
        return render(request, "groups/group_form.html", {"form": form, "quota": quota_summary()})
    except operations.NameTaken as taken:
        messages.info(
            request,
            _(
                "“%(device)s” already has the group “%(name)s”, so nothing was sent to Coze "
                "(a form sent twice?). Choose another name for a second group."
            )
            % {"device": taken.group.device.name, "name": taken.group.name},
        )
        return redirect(taken.group)
    except operations.AttemptUnresolved as unresolved:
        messages.warning(
            request,
            _(
                "“%(name)s” was already sent to Coze for this device and Coze's answer is not "
                "known yet, so it was not sent again (that could make a second group). Use "
                "“Check now” on the device's page to find out whether it was created."
            )
            % {"name": unresolved.entry.sent_name},
        )
        return redirect(data["device"])
    except operations.QuotaExceeded as full:
        messages.error(request, _quota_full_message(full.used, full.limit))
    except coze.CozeNoAnswer as error:
        messages.warning(
            request,
            _(
                "Coze did not answer (%(reason)s), and the group is not on Coze's list yet: it "
                "may still be created. It was not sent again. Use “Check now” on the device's "
                "page in a minute to find out."
            )
            % {"reason": error.sentence()},
        )
        return redirect(data["device"])
    except coze.CozeError as error:
        _tell_coze_error(
            request,
            error,
            refused=_(
                "Coze did not create the group: %(msg)s (code %(code)s, HTTP %(status)s, "
                "logid %(logid)s)."
            ),
        )
    except operations.NotRegistered as lost:
        messages.error(
            request,
            _(
                "Coze created the group (id %(id)s, logid %(logid)s) but vpadmin could not save "
                "it. An Administrator's sync with Coze will register it; do not create it again."
            )
            % {"id": lost.coze_id, "logid": lost.logid},
        )
    else:
        if getattr(group, "found_after_no_answer", False):
            messages.success(
                request,
                _(
                    "Coze did not answer, but vpadmin found “%(name)s” on Coze (id %(id)s) "
                    "and registered it."
                )
                % {"name": group.name, "id": group.coze_id},
            )
        else:
            messages.success(
                request,
                _("Voiceprint group “%(name)s” created on Coze (logid %(logid)s).")
                % {"name": group.name, "logid": group.logid},
            )
        return redirect(group)
    return render(
        request, "groups/group_form.html", {"form": _fresh_copy(form), "quota": quota_summary()}
    )


def _answer_resent_form(request, form, earlier):
    """The same form arrived again: point at what the first submission did."""
    if earlier.outcome == Outcome.SUCCESS and earlier.target_id:
        messages.info(request, _("This form was already submitted; the group was created once."))
        return redirect("group_detail", pk=earlier.target_id)
    if earlier.outcome == Outcome.PENDING:
        messages.info(
            request,
            _(
                "This form was already submitted and Coze has not answered yet; "
                "nothing was sent again."
            ),
        )
        return redirect("group_list")
    messages.info(
        request,
        _("This form was already submitted (outcome: %(outcome)s); nothing was sent again.")
        % {"outcome": earlier.outcome_label},
    )
    return render(
        request, "groups/group_form.html", {"form": _fresh_copy(form), "quota": quota_summary()}
    )


def _fresh_copy(form):
    """The user's input in a new form with a new submission token (the last attempt ended)."""
    data = form.cleaned_data
    return GroupForm(initial={"name": data["name"], "desc": data["desc"], "device": data["device"]})


def _active_group_or_redirect(request, pk):
    """The group, or a redirect to it when it no longer exists on Coze."""
    group = get_object_or_404(VoiceprintGroup.objects.select_related("device"), pk=pk)
    if group.is_active:
        return group, None
    messages.error(
        request,
        _("“%(name)s” is %(state)s: it can no longer be changed.")
        % {"name": group.name, "state": group.state_label},
    )
    return group, redirect(group)


@permission_required("groups.change_voiceprintgroup")
def group_edit(request, pk):
    group, gone = _active_group_or_redirect(request, pk)
    if gone:
        return gone
    initial = {"name": group.name, "desc": group.desc, "device": group.device}
    form = GroupEditForm(request.POST or None, initial=initial)
    if request.method != "POST":
        return render(request, "groups/group_edit.html", {"form": form, "group": group})
    if not form.is_valid():
        audit.record(
            request,
            Action.GROUP_UPDATE,
            Outcome.REFUSED,
            target=group,
            device=group.device,
            facts=wording.form_facts(form),
        )
        return render(request, "groups/group_edit.html", {"form": form, "group": group})
    data = form.cleaned_data
    try:
        changes = operations.update_group(
            request, group, name=data["name"], desc=data["desc"], device=data["device"]
        )
    except coze.CozeError as error:
        if group.state == VoiceprintGroup.State.GONE:
            messages.error(
                request,
                _(
                    "Coze no longer has “%(name)s” (logid %(logid)s): it is marked gone and "
                    "cannot be changed."
                )
                % {"name": group.name, "logid": error.logid or "—"},
            )
            return redirect(group)
        _tell_coze_error(
            request,
            error,
            refused=_(
                "Coze did not change the group: %(msg)s (code %(code)s, HTTP %(status)s, "
                "logid %(logid)s). Nothing was changed."
            ),
            no_answer=_(
                "Coze did not answer (%(reason)s), and Coze's list does not show the change "
                "yet: it may or may not be made. vpadmin kept the old values; saving again is "
                "safe."
            ),
        )
        return render(request, "groups/group_edit.html", {"form": form, "group": group})
    if changes.get("device_gone"):
        messages.warning(
            request,
            _(
                "“%(name)s” saved on Coze, but the device you chose was deleted meanwhile, so "
                "the group was not moved."
            )
            % {"name": group.name},
        )
    elif changes:
        messages.success(request, _("“%(name)s” saved.") % {"name": group.name})
    else:
        messages.info(request, _("Nothing to change."))
    return redirect(group)


@permission_required("groups.delete_voiceprintgroup")
def group_delete(request, pk):
    group, gone = _active_group_or_redirect(request, pk)
    if gone:
        return gone
    if request.method != "POST":
        return render(request, "groups/group_confirm_delete.html", {"group": group})
    try:
        operations.delete_group(request, group)
    except coze.CozeError as error:
        _tell_coze_error(
            request,
            error,
            refused=_(
                "Coze did not delete the group: %(msg)s (code %(code)s, HTTP %(status)s, "
                "logid %(logid)s). Nothing was changed."
            ),
            no_answer=_(
                "Coze did not answer (%(reason)s): the group may or may not be deleted. "
                "Deleting it again is safe: if Coze no longer has it, vpadmin records it as "
                "deleted."
            ),
        )
    else:
        messages.success(request, _("“%(name)s” was deleted on Coze.") % {"name": group.name})
    return redirect(group)


@require_POST
@permission_required("groups.sync_voiceprintgroup")
def group_sync(request):
    """Reconcile the register with Coze's list, then go back where the button was."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        target = resolve_url("group_list")
    try:
        result = sync.sync_groups(request)
    except sync.SyncFailed as failed:
        messages.error(
            request,
            _("Sync with Coze failed; nothing was changed. %(reason)s (%(details)s)")
            % {
                "reason": wording.render(failed.entry.facts),
                "details": _error_details(failed.error),
            },
        )
        return redirect(target)
    summary = _("Synced with Coze: %(summary)s.") % {"summary": wording.render(result.entry.facts)}
    (messages.success if result.changed else messages.info)(request, summary)
    return redirect(target)


def _tell_coze_error(request, error, *, refused, no_answer=None):
    """Show a Coze error: its msg, code, HTTP status and logid, or that no answer came."""
    if isinstance(error, coze.CozeNoAnswer) and no_answer:
        messages.warning(request, no_answer % {"reason": error.sentence()})
        return
    details = {
        "msg": error.sentence() or _("no message"),
        "code": _or_dash(error.code),
        "status": _or_dash(error.http_status),
        "logid": error.logid or "—",
    }
    if error.rate_limited:
        messages.error(
            request,
            _(
                "Coze is limiting how fast requests may be made (code %(code)s, HTTP %(status)s, "
                "logid %(logid)s). Nothing was changed: wait a minute, then try again."
            )
            % details,
        )
        return
    messages.error(request, refused % details)


def _quota_full_message(used, limit):
    return _(
        "The Coze account is full: %(used)s of %(limit)s groups are in use. Nothing was sent "
        "to Coze. Delete a group you no longer need first, or ask an Administrator to sync "
        "with Coze if groups were deleted in Coze's console."
    ) % {"used": wording.shown(used), "limit": wording.shown(limit)}


def _error_details(error):
    return _("code %(code)s, HTTP %(status)s, logid %(logid)s") % {
        "code": _or_dash(error.code),
        "status": _or_dash(error.http_status),
        "logid": error.logid or "—",
    }


def _or_dash(value):
    return "—" if value is None else value


@require_POST
@permission_required("groups.add_voiceprintgroup")
def attempt_check(request, pk):
    """Ask Coze now whether a creation that got no answer made its group."""
    attempt = get_object_or_404(
        AuditEntry.objects.filter(action=Action.GROUP_CREATE).select_related("device"), pk=pk
    )
    attempts.expire_pending()
    attempt.refresh_from_db()
    found = attempts.check_creation(request, attempt)
    if found.created:
        messages.success(
            request,
            _("“%(name)s” is on Coze (id %(id)s): it is now registered.")
            % {"name": found.group.name, "id": found.group.coze_id},
        )
        return redirect(found.group)
    if found.error is not None:
        messages.error(
            request,
            _("Coze could not be asked (%(reason)s). Try again in a minute.")
            % {"reason": found.error.sentence()},
        )
    elif found.concluded:
        messages.info(
            request,
            _("“%(name)s” was not created on Coze; it may be created again.")
            % {"name": attempt.sent_name},
        )
    else:
        messages.info(
            request,
            _(
                "“%(name)s” is not on Coze's list yet, but Coze may still be creating it. "
                "Check again in a few minutes."
            )
            % {"name": attempt.sent_name},
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        target = attempt.device.get_absolute_url() if attempt.device else resolve_url("dashboard")
    return redirect(target)


# People and accounts


LATEST_PER_PERSON = 3


@permission_required("auth.view_user")
def team(request):
    """People, their role, last login and latest actions; sign-in locks (everyone with a
    role reads it; Administrators change it)."""
    role_groups = Prefetch("groups", queryset=Group.objects.filter(name__in=accounts.ROLES))
    people = _page(
        request,
        get_user_model().objects.prefetch_related(role_groups).order_by("-is_active", "username"),
    )
    latest = (
        AuditEntry.objects.filter(actor_id__in=[person.pk for person in people])
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("actor_id"),
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=LATEST_PER_PERSON)
    )
    by_person = {}
    for entry in latest:
        by_person.setdefault(entry.actor_id, []).append(entry)
    rows = [
        {"person": person, "roles": _roles(person), "latest": by_person.get(person.pk, [])}
        for person in people
    ]
    # The usernames typed and the addresses they came from: for Administrators only.
    may_unlock = request.user.has_perm("auth.change_user")
    context = {
        "page": people,
        "rows": rows,
        "may_unlock": may_unlock,
        "locks": list(throttling.current()) if may_unlock else [],
    }
    return render(request, "groups/team.html", context)


def _roles(person):
    role = accounts.role_of(person)
    if role == accounts.SUPERUSER:
        return [wording.ROLES["Administrator"], wording.ROLES[role]]
    return [wording.ROLES[role]] if role else []


@permission_required("auth.add_user")
def person_new(request):
    roles = accounts.role_choices(request.user)
    form = PersonForm(request.POST or None, roles=roles, initial={"role": "Viewer"})
    if request.method == "POST":
        if not form.is_valid():
            audit.record(
                request, Action.ACCOUNT_CREATE, Outcome.REFUSED, facts=wording.form_facts(form)
            )
        else:
            data = form.cleaned_data
            try:
                person = accounts.create_person(
                    request, username=data["username"], role=data["role"], password=data["password"]
                )
            except accounts.NotAllowed as refusal:
                return _refused(request, Action.ACCOUNT_CREATE, refusal, "team")
            messages.success(
                request, _("%(username)s can sign in now.") % {"username": person.username}
            )
            return redirect("person_detail", pk=person.pk)
    return render(request, "groups/person_new.html", {"form": form})


@permission_required("auth.change_user")
def person_detail(request, pk):
    """A person's role and whether they may sign in (POST), and their password (a form
    posting to person_password)."""
    person = get_object_or_404(get_user_model().objects.prefetch_related("groups"), pk=pk)
    roles = accounts.role_choices(request.user)
    initial = {"role": accounts.role_of(person), "is_active": person.is_active}
    form = PersonChangeForm(request.POST or None, roles=roles, initial=initial)
    if request.method == "POST":
        if not form.is_valid():
            audit.record(
                request,
                Action.ACCOUNT_UPDATE,
                Outcome.REFUSED,
                target=person,
                facts=wording.form_facts(form),
            )
        else:
            data = form.cleaned_data
            try:
                changes = accounts.change_person(
                    request, person, role=data["role"], is_active=data["is_active"]
                )
            except accounts.NotAllowed as refusal:
                return _refused(request, Action.ACCOUNT_UPDATE, refusal, "person_detail", person)
            if changes:
                messages.success(request, _("%(username)s saved.") % {"username": person.username})
            else:
                messages.info(request, _("Nothing to change."))
            return redirect("person_detail", pk=person.pk)
    context = {
        "person": person,
        "form": form,
        "password_form": PasswordResetForm(person=person),
        "may_change": accounts.may_change(request.user, person),
        "is_self": person.pk == request.user.pk,
    }
    return render(request, "groups/person_detail.html", context)


@require_POST
@permission_required("auth.change_user")
def person_password(request, pk):
    person = get_object_or_404(get_user_model(), pk=pk)
    form = PasswordResetForm(request.POST, person=person)
    if not form.is_valid():
        audit.record(
            request,
            Action.ACCOUNT_PASSWORD,
            Outcome.REFUSED,
            target=person,
            facts=wording.form_facts(form),
        )
        person_form = PersonChangeForm(
            roles=accounts.role_choices(request.user),
            initial={"role": accounts.role_of(person), "is_active": person.is_active},
        )
        context = {
            "person": person,
            "form": person_form,
            "password_form": form,
            "may_change": accounts.may_change(request.user, person),
            "is_self": person.pk == request.user.pk,
        }
        return render(request, "groups/person_detail.html", context)
    try:
        accounts.reset_password(request, person, form.cleaned_data["password"])
    except accounts.NotAllowed as refusal:
        return _refused(request, Action.ACCOUNT_PASSWORD, refusal, "person_detail", person)
    messages.success(
        request,
        _("New password set for %(username)s: give it to them, and ask them to change it.")
        % {"username": person.username},
    )
    return redirect("person_detail", pk=person.pk)


def _refused(request, action, refusal, where, person=None):
    """A change the account rules refuse: audited, told, and back where it came from."""
    accounts.refuse(request, action, refusal, person)
    messages.error(request, wording.render(wording.fact(refusal.say)))
    return redirect(where, pk=person.pk) if person else redirect(where)


@require_POST
@permission_required("auth.change_user")
def unlock_sign_in(request, pk):
    """Lift a sign-in lock before its time (audited by the throttling)."""
    lock = get_object_or_404(SignInLock, pk=pk)
    if throttling.lift(request, lock):
        messages.success(request, _("Lifted the lock on %(lock)s.") % {"lock": lock.description})
    else:
        messages.info(request, _("That lock had ended already."))
    return redirect("team")


def my_activity(request, password_form=None, status=200):
    """Every signed-in person sees what they did, whatever their role, and changes their
    password here."""
    entries = AuditEntry.objects.filter(actor_id=request.user.pk).prefetch_related("device")
    context = {
        "page": _page(request, entries, DeferredJoinPaginator),
        "password_form": password_form or MyPasswordForm(request.user),
    }
    return render(request, "groups/my_activity.html", context, status=status)


@require_POST
def my_password(request):
    """Change my own password: the current one is a password guess like any sign-in, so
    it is throttled the same way."""
    user = request.user
    try:
        attempt = throttling.check(request, user.get_username())
    except throttling.SignInLocked as locked:
        messages.error(request, wording.locked_message(locked.minutes))
        return my_activity(request, MyPasswordForm(user), status=429)
    form = MyPasswordForm(user, request.POST)
    if not form.is_valid():
        if form.has_error("old_password", "password_incorrect"):
            locked = throttling.failed(
                request, attempt, action=Action.ACCOUNT_PASSWORD, say="wrong_current_password"
            )
            if locked:
                messages.error(request, wording.locked_message(locked.minutes))
                return my_activity(request, MyPasswordForm(user), status=429)
        else:
            audit.record(
                request,
                Action.ACCOUNT_PASSWORD,
                Outcome.REFUSED,
                target=user,
                facts=wording.form_facts(form),
            )
        return my_activity(request, form)
    form.save()
    update_session_auth_hash(request, user)  # this session stays signed in; others end
    audit.record(
        request,
        Action.ACCOUNT_PASSWORD,
        Outcome.SUCCESS,
        target=user,
        facts=wording.fact("password_changed", username=user.get_username()),
    )
    messages.success(request, _("Your password is changed."))
    return redirect("my_activity")


# Audit log


def filtered_audit_entries(params):
    """The audit rows matching the query-string filters, newest first."""
    entries = AuditEntry.objects.all()
    if value := _text_param(params, "user"):
        entries = entries.filter(actor_username=value)
    if (value := params.get("action", "")) in Action.values:
        entries = entries.filter(action=value)
    if (value := params.get("outcome", "")) in Outcome.values:
        entries = entries.filter(outcome=value)
    if (value := _id_param(params, "device")) is not None:
        entries = entries.filter(device_id=value)
    elif value := _text_param(params, "device_name"):
        named = Device.objects.filter(Q(name__icontains=value) | Q(serial__icontains=value))
        entries = entries.filter(device_id__in=named.values("pk"))
    if since := _day_start(params.get("since", "")):
        entries = entries.filter(created_at__gte=since)
    # Before the next day's start; past the last day a date can name, no upper bound.
    if until := _day_start(params.get("until", ""), days_later=1):
        entries = entries.filter(created_at__lt=until)
    if value := _text_param(params, "q"):
        entries = entries.filter(
            Q(coze_logid=value)
            | Q(request_id=value)
            | Q(target_id=value)
            | Q(target_label__icontains=value)
            | Q(sent_name__icontains=value)
        )
    return entries


def _day_start(text, days_later=0):
    """The start (local midnight) of the day `text` names (YYYY-MM-DD), `days_later` days on,
    or None when that is no day the database can store: the filter is then left out."""
    try:
        day = parse_date(text)
        if day is None:
            return None
        start = timezone.make_aware(datetime.combine(day + timedelta(days=days_later), time.min))
        start.astimezone(UTC)  # stored in UTC: year 1 ahead of UTC has no such time
    except (ValueError, OverflowError):
        return None
    return start


@permission_required("groups.view_auditentry")
def audit_list(request):
    # Prefetched, not joined: filtered by device, Django joins with INNER JOIN (a device
    # id implies a device), and the rows of a deleted device would vanish.
    entries = filtered_audit_entries(request.GET).prefetch_related("device")
    context = {
        "page": _page(request, entries, DeferredJoinPaginator),
        "filters": request.GET,
        "query": _query_without_page(request),
        "actions": Action.choices,
        "outcomes": Outcome.choices,
        **_chosen_device(request),
    }
    return render(request, "groups/audit_list.html", context)


def _chosen_device(request):
    """The device the log is filtered to by id, if any (the link on a device's page), shown
    by name with a way back to every device, instead of a list of every device."""
    pk = _id_param(request.GET, "device")
    if pk is None:
        return {}
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("device")
    name = Device.objects.filter(pk=pk).values_list("name", flat=True).first()
    if name is None:
        # A deleted device is named by its deletion row, which keeps its id and label.
        label = (
            AuditEntry.objects.filter(
                action=Action.DEVICE_DELETE, outcome=Outcome.SUCCESS, device_id=pk
            )
            .values_list("target_label", flat=True)
            .first()
        )
        name = (
            _("%(label)s (deleted)") % {"label": label}
            if label
            else _("deleted device #%(id)s") % {"id": pk}
        )
    return {"device": {"pk": pk, "name": name}, "without_device": query.urlencode()}


AUDIT_CSV_COLUMNS = [
    "created_at",
    "actor_username",
    "action",
    "outcome",
    "request_id",
    "target_type",
    "target_id",
    "target_label",
    "device_id",
    "sent_name",
    "sent_desc",
    "coze_code",
    "coze_msg",
    "coze_logid",
    "http_status",
    "duration_ms",
    "ip_address",
    "detail",
]


EXPORT_CHUNK = 2000  # rows read from the database, and written to the client, at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value):
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


@permission_required("groups.export_auditentry")
def audit_export(request):
    """The filtered audit log as CSV, streamed (UTF-8 with a BOM for Excel)."""
    # `detail` is written in the reader's language from the row's facts (older rows keep
    # the sentence they were written with).
    rows = filtered_audit_entries(request.GET).values_list(*AUDIT_CSV_COLUMNS, "facts")
    at_detail = AUDIT_CSV_COLUMNS.index("detail")

    def chunks():
        """The CSV text in pieces of EXPORT_CHUNK rows: a piece per row would make the
        server write (and the network send) 100,000 tiny pieces."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(AUDIT_CSV_COLUMNS)
        for number, row in enumerate(rows.iterator(chunk_size=EXPORT_CHUNK), start=1):
            *row, facts = row
            if facts:
                row[at_detail] = wording.render_safely(facts)
            writer.writerow([_inert(value) for value in row])
            if number % EXPORT_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="vpadmin-audit.csv"'
    return response


# Quota


@permission_required("groups.view_voiceprintgroup")
def quota(request):
    per_device = (
        Device.objects.annotate(group_count=ACTIVE_GROUP_COUNT)
        .filter(group_count__gt=0)
        .order_by("-group_count", "name")[:50]
    )
    counts = active_group_counts()
    context = {
        "quota": quota_summary(counts["used"]),
        "per_device": per_device,
        "unassigned": counts["unassigned"],
        "chart": charts.groups_created(days=90),
    }
    return render(request, "groups/quota.html", context)


# Health


@login_not_required
@never_cache
@require_safe  # HEAD too: load balancers check with it
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database error means "not healthy", never a 500 page
        return HttpResponse("database unreachable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
