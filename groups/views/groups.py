"""Voiceprint group pages: the list, one group, creation, edit, deletion, Check now."""

from django.contrib import messages
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vpadmin.lists import page_of, sort_by

from .. import audit, coze, quota, services, wording
from ..coze.accounts import names as account_names
from ..filtersets import NONE, VoiceprintGroupFilterSet
from ..forms import (
    GroupEditForm,
    GroupForm,
)
from ..models import FEATURES_MAX, AuditEntry, Device, VoiceprintGroup
from ..services import attempts
from ..services import messages as says
from ..services.voiceprints import places_taken
from .common import permission_required, tell

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


LISTED = ("name", "state", "coze_id", "created_at", "device", "creator", "account")
# What a group's page shows of its voiceprints (includes/voiceprint_table.html), no more:
# each of a voiceprint's thirty fields is a conversion and an assignment a row.
VOICEPRINT_COLUMNS = (
    "group",
    "name",
    "person__name",
    "enrolled_by_name",
    "coze_creator_name",
    "created_at",
    "duration",
    "speech_seconds",
    "state",
)


@permission_required("groups.view_voiceprintgroup")
def group_list(request):
    # The columns the table shows, no more: at fifty rows of four tables each unused time
    # column is a conversion (eleven a row on SQLite) and each model field an assignment.
    shown = VoiceprintGroup.objects.select_related("device", "creator", "account").only(
        *LISTED, "device__name", "creator__username", "account__name"
    )
    found = VoiceprintGroupFilterSet(request.GET, shown)
    groups, sort = sort_by(
        request,
        found.qs,
        {
            "name": ["name"],
            "state": ["state"],
            "device": ["device__name"],
            "account": ["account__name"],
            "created": ["created_at"],
        },
        default="-created",
    )
    device_filter = found.applied.get("device")
    device = None
    if device_filter not in (None, NONE):
        device = Device.objects.filter(pk=device_filter).first()
    context = {
        "sort": sort,
        "state": request.GET.get("state", ""),
        "states": VoiceprintGroup.State.choices,
        "page": page_of(request, groups),
        "q": found.applied.get("q", ""),
        "device_filter": "" if device_filter is None else str(device_filter),
        "device": device,
        "account": found.applied.get("account", ""),
        "account_names": account_names(),
    }
    return render(request, "groups/group_list.html", context)


@permission_required("groups.view_voiceprintgroup")
def group_detail(request, pk):
    group = get_object_or_404(
        VoiceprintGroup.objects.select_related("device", "creator", "account"), pk=pk
    )
    # The rows' devices and accounts named by a join (a group's rows name its device and
    # account): no query of their own, nor for every account's name, nor two more objects
    # a row.
    history = AuditEntry.objects.filter(
        target_type="voiceprintgroup", target_id=str(group.pk)
    ).annotate(device_name=F("device__name"), account_name=F("account__name"))
    voiceprints = group.voiceprints.select_related("person").only(*VOICEPRINT_COLUMNS)
    voiceprints = list(voiceprints.order_by("state", "-created_at"))
    held = sum(voiceprint.is_active for voiceprint in voiceprints)  # listed: not counted again
    context = {
        "group": group,
        "history": history[:20],
        "voiceprints": voiceprints,
        "places_taken": places_taken(group, held=held),
        "places": FEATURES_MAX,
    }
    return render(request, "groups/group_detail.html", context)


def _form_page(request, form, usages=None):
    """The creation page: the form, the quota and (several accounts) where the group goes."""
    usages = usages or quota.usages()
    # Every account full: nothing can be created, whichever account the group would take.
    full = usages.all_full
    context = {"form": form, "quota": usages.total, "usages": usages, "full": full}
    if full and usages.several:
        context["every_account_full"] = says.every_account_full(usages).text
    elif usages.several:
        device = None
        device_id = form.data.get("device") if form.is_bound else form.initial.get("device")
        device_id = getattr(device_id, "pk", device_id)
        if str(device_id or "").isdecimal():
            device = Device.objects.filter(pk=device_id).only("account").first()
        chosen = form.data.get("account") if form.is_bound else form.initial.get("account")
        if chosen not in usages.names:
            chosen = None
        context["choice"] = quota.why(quota.choose(device, chosen, usages))
    return render(request, "groups/group_form.html", context)


@permission_required("groups.add_voiceprintgroup")
def group_new(request):
    usages = quota.usages()
    if request.method != "POST":
        form = GroupForm(initial={"device": request.GET.get("device")}, usages=usages)
        return _form_page(request, form, usages)

    form = GroupForm(request.POST, usages=usages)
    if not form.is_valid():
        audit.refuse(
            request.actor,
            Action.GROUP_CREATE,
            sent_name=request.POST.get("name", "")[:200],
            sent_desc=request.POST.get("desc", "")[:2000],
            facts=wording.form_facts(form),
        )
        return _form_page(request, form, usages)

    data = form.cleaned_data
    try:
        group = services.create_group(
            request.actor,
            name=data["name"],
            desc=data["desc"],
            device=data["device"],
            submission=data["submission"],
            account=data.get("account") or None,
            usages=usages,
        )
    except services.AlreadySubmitted as resent:
        return _answer_resent_form(request, form, resent.entry)
    except services.DeviceGone:
        form.add_error("device", form.fields["device"].error_messages["invalid_choice"])
        audit.refuse(
            request.actor,
            Action.GROUP_CREATE,
            sent_name=data["name"],
            sent_desc=data["desc"],
            facts=wording.form_facts(form),
        )
        return _form_page(request, form)
    except services.NameTaken as taken:
        tell(request, says.about(taken))
        return redirect(taken.group)
    except (services.AttemptUnresolved, coze.CozeNoAnswer) as error:
        tell(request, says.about(error, "create"))
        return redirect(data["device"])
    except (services.QuotaExceeded, services.NotRegistered, coze.CozeError) as error:
        tell(request, says.about(error, "create"))
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
        if usages.several:
            messages.info(
                request,
                _("It is in the Coze account %(account)s.") % {"account": group.account.name},
            )
        return redirect(group)
    return _form_page(request, _fresh_copy(form))


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
    return _form_page(request, _fresh_copy(form))


def _fresh_copy(form):
    """The user's input in a new form with a new submission token (the last attempt ended)."""
    data = form.cleaned_data
    initial = {"name": data["name"], "desc": data["desc"], "device": data["device"]}
    return GroupForm(initial={**initial, "account": data.get("account")}, usages=quota.usages())


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
        audit.refuse(
            request.actor,
            Action.GROUP_UPDATE,
            target=group,
            device=group.device,
            facts=wording.form_facts(form),
        )
        return render(request, "groups/group_edit.html", {"form": form, "group": group})
    data = form.cleaned_data
    try:
        changes = services.update_group(
            request.actor, group, name=data["name"], desc=data["desc"], device=data["device"]
        )
    except services.OtherAccount as refused:
        tell(request, says.about(refused))
        return render(request, "groups/group_edit.html", {"form": form, "group": group})
    except coze.CozeError as error:
        if group.state == VoiceprintGroup.State.GONE:
            tell(request, says.group_gone(group, error))
            return redirect(group)
        tell(request, says.about(error, "update"))
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
    elif changes.get("device_other_account"):
        messages.warning(
            request,
            _(
                "“%(name)s” saved on Coze, but the device you chose was given another Coze "
                "account meanwhile (%(account)s), so the group was not moved."
            )
            % {"name": group.name, "account": changes["device_other_account"]},
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
        services.delete_group(request.actor, group)
    except coze.CozeError as error:
        tell(request, says.about(error, "delete"))
    else:
        messages.success(request, _("“%(name)s” was deleted on Coze.") % {"name": group.name})
    return redirect(group)


@require_POST
@permission_required("groups.add_voiceprintgroup")
def attempt_check(request, pk):
    """Ask Coze now whether a creation that got no answer made its group."""
    attempt = get_object_or_404(
        AuditEntry.objects.filter(action=Action.GROUP_CREATE).select_related("device"), pk=pk
    )
    attempts.expire_pending()
    attempt.refresh_from_db()
    found = attempts.check_creation(request.actor, attempt)
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
