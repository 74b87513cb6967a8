"""Voiceprint pages: enroll a person in a group, one voiceprint, rename or re-enroll it,
delete it."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from .. import audit, coze, services, wording
from ..forms import EnrollForm, VoiceprintEditForm
from ..models import FEATURES_MAX, AuditEntry, CozeAccount, Voiceprint, VoiceprintGroup
from ..services import messages as says
from ..services.voiceprints import can_change, places_taken
from ..wording import fact
from .common import audio_dropped, permission_required, tell

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


def _enroll_page(request, group, form, status=200):
    context = {"group": group, "form": form, "taken": places_taken(group), "limit": FEATURES_MAX}
    return render(request, "voiceprints/enroll.html", context, status=status)


def _refuse_form(request, action, form, target, **fields):
    audit.refuse(
        request.actor,
        action,
        target=target,
        device=target.device if isinstance(target, VoiceprintGroup) else target.group.device,
        facts=wording.form_facts(form),
        **fields,
    )


@permission_required("groups.add_voiceprint")
def voiceprint_new(request, pk):
    group = get_object_or_404(VoiceprintGroup.objects.select_related("device"), pk=pk)
    if not group.is_active:
        tell(request, says.about(services.GroupNotActive(group)))
        return redirect(group)
    if request.method != "POST":
        return _enroll_page(
            request, group, EnrollForm(initial={"person": request.GET.get("person")})
        )

    form = EnrollForm(request.POST, request.FILES, dropped=audio_dropped(request))
    if not form.is_valid():
        sent = {
            "sent_name": request.POST.get("name", "")[:200],
            "sent_desc": request.POST.get("desc", "")[:2000],
        }
        _refuse_form(request, Action.VOICEPRINT_CREATE, form, group, **sent)
        return _enroll_page(request, group, form)
    data = form.cleaned_data
    recording = data["audio"]
    try:
        voiceprint = services.enroll(
            request.actor,
            group,
            person=data["person"],
            name=data["name"],
            desc=data["desc"],
            recording=recording,
            submission=data["submission"],
        )
    except services.AlreadySubmitted as resent:
        return _answer_resent(request, group, resent.entry)
    except (services.NoConsent, services.AlreadyEnrolled) as refused:
        form.add_error("person", says.about(refused).text)
        return _enroll_page(request, group, _fresh(form, keep_errors=True))
    except services.EnrollmentUnresolved as waiting:
        tell(request, says.about(waiting))
        return redirect(group)
    except (services.GroupNotActive, coze.CozeNoAnswer) as error:
        tell(request, says.about(error, "enroll"))
        return redirect(group)
    except (services.GroupFull, coze.CozeError) as error:
        tell(request, says.about(error, "enroll"))
        return _enroll_page(request, group, _fresh(form))
    if getattr(voiceprint, "found_after_no_answer", False):
        text = _(
            "Coze did not answer, but vpadmin found “%(name)s” in the group on Coze and "
            "registered it."
        )
        messages.success(request, text % {"name": voiceprint.name})
    else:
        text = _("%(person)s is enrolled in “%(group)s” as “%(name)s” (logid %(logid)s).")
        values = {"person": data["person"].name, "group": group.name, "name": voiceprint.name}
        messages.success(request, text % {**values, "logid": voiceprint.logid})
    for warning in recording.warnings:
        messages.warning(request, says.audio_warning(warning, recording))
    return redirect(voiceprint)


def _fresh(form, keep_errors=False):
    """The user's input in a new form with a new token (the audio must be given again:
    a browser never keeps a chosen file)."""
    data = form.cleaned_data
    fresh = EnrollForm(initial={key: data.get(key) for key in ("person", "name", "desc")})
    if keep_errors:
        fresh._errors = form.errors  # shown beside the fields, as on any refused form
    return fresh


def _answer_resent(request, group, earlier):
    if earlier.outcome == Outcome.SUCCESS and earlier.target_type == "voiceprint":
        messages.info(request, _("This form was already submitted; the voice was enrolled once."))
        return redirect("voiceprint_detail", pk=earlier.target_id)
    messages.info(
        request,
        _("This form was already submitted (outcome: %(outcome)s); nothing was sent again.")
        % {"outcome": earlier.outcome_label},
    )
    return redirect(group)


def _voiceprint(pk):
    return get_object_or_404(
        Voiceprint.objects.select_related("group__device", "person", "consent", "enrolled_by"),
        pk=pk,
    )


@permission_required("groups.view_voiceprint")
def voiceprint_detail(request, pk):
    voiceprint = _voiceprint(pk)
    history = AuditEntry.objects.filter(
        target_type="voiceprint", target_id=str(voiceprint.pk)
    ).prefetch_related("device")
    context = {
        "voiceprint": voiceprint,
        "maker": _maker(voiceprint),
        "history": history[:20],
    }
    return render(request, "voiceprints/voiceprint_detail.html", context)


def _maker(voiceprint):
    """None when the token may change the voiceprint, else who can (Coze's creator)."""
    creator = voiceprint.coze_creator_id
    if not creator:
        return None
    account = (
        CozeAccount.objects.filter(pk=voiceprint.group.account_id).only("coze_user_id").first()
    )
    if account is None or not account.coze_user_id or account.coze_user_id == creator:
        return None
    return voiceprint.coze_creator_name or creator


def _changeable_or_redirect(request, voiceprint, action):
    """A redirect, with the reason, when the voiceprint cannot be changed on Coze (ended,
    or made by someone else); a refused POST leaves an audit row."""
    if not voiceprint.is_active:
        facts = fact("voiceprint_ended", name=voiceprint.name, state=voiceprint.state)
        text = _("“%(name)s” is %(state)s: it can no longer be changed.") % {
            "name": voiceprint.name,
            "state": voiceprint.state_label,
        }
        messages.error(request, text)
    else:
        maker = can_change(voiceprint)
        if maker is True:
            return None
        facts = fact("not_the_creator", creator=maker)
        tell(request, says.about(services.NotTheCreator(voiceprint, maker)))
    if request.method == "POST":
        device = voiceprint.group.device
        audit.refuse(request.actor, action, facts=facts, target=voiceprint, device=device)
    return redirect(voiceprint)


@permission_required("groups.change_voiceprint")
def voiceprint_edit(request, pk):
    voiceprint = _voiceprint(pk)
    # Whose voice one made by someone else is can still be said: that is ours alone.
    person_only = voiceprint.is_active and not voiceprint.person_id and _maker(voiceprint)
    refused = (
        None
        if person_only
        else _changeable_or_redirect(request, voiceprint, Action.VOICEPRINT_UPDATE)
    )
    if refused:
        return refused
    initial = {"name": voiceprint.name, "desc": voiceprint.desc}
    form = VoiceprintEditForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        voiceprint=voiceprint,
        person_only=bool(person_only),
        dropped=not person_only and request.method == "POST" and audio_dropped(request),
    )
    page = "voiceprints/voiceprint_edit.html"
    if request.method != "POST":
        return render(request, page, {"form": form, "voiceprint": voiceprint})
    if not form.is_valid():
        _refuse_form(request, Action.VOICEPRINT_UPDATE, form, voiceprint)
        return render(request, page, {"form": form, "voiceprint": voiceprint})
    data = form.cleaned_data
    try:
        changes = services.update_voiceprint(
            request.actor,
            voiceprint,
            name=data.get("name", voiceprint.name),
            desc=data.get("desc", voiceprint.desc),
            recording=data.get("audio"),
            person=data.get("person"),
        )
    except (services.NoConsent, services.NoPerson) as refused:
        if "person" in form.fields:
            form.add_error("person", says.about(refused).text)
        else:
            tell(request, says.about(refused))
        return render(request, page, {"form": form, "voiceprint": voiceprint})
    except (services.NotTheCreator, coze.CozeError) as error:
        tell(request, says.about(error, "update_voiceprint"))
        if voiceprint.is_active:
            return render(request, page, {"form": form, "voiceprint": voiceprint})
        return redirect(voiceprint)
    if changes:
        messages.success(request, _("“%(name)s” saved.") % {"name": voiceprint.name})
        recording = data.get("audio")
        for warning in recording.warnings if recording else ():
            messages.warning(request, says.audio_warning(warning, recording))
    else:
        messages.info(request, _("Nothing to change."))
    return redirect(voiceprint)


@permission_required("groups.delete_voiceprint")
def voiceprint_delete(request, pk):
    voiceprint = _voiceprint(pk)
    refused = _changeable_or_redirect(request, voiceprint, Action.VOICEPRINT_DELETE)
    if refused:
        return refused
    if request.method != "POST":
        return render(
            request, "voiceprints/voiceprint_confirm_delete.html", {"voiceprint": voiceprint}
        )
    try:
        services.delete_voiceprint(request.actor, voiceprint)
    except (services.NotTheCreator, coze.CozeError) as error:
        tell(request, says.about(error, "delete_voiceprint"))
    else:
        messages.success(request, _("“%(name)s” was deleted on Coze.") % {"name": voiceprint.name})
    return redirect(voiceprint)
