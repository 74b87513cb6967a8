"""Voiceprints through the API, as their pages do them: listed and read; enrolled in a group
from a multipart upload checked by the page's own form (groups.forms.EnrollForm, whose
audio field converts and checks the recording in memory: it is never stored); renamed or
re-enrolled (PATCH, the edit page's form); deleted on Coze. The same services, with the
token's owner as the actor; every refusal audited as the page audits it."""

from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import audit, coze, services, wording
from ..filtersets import VoiceprintFilterSet
from ..forms import EnrollForm, VoiceprintEditForm
from ..models import AuditEntry, CozeAccount, Voiceprint, VoiceprintGroup
from ..services import messages as says
from ..views.common import audio_dropped
from . import serializers as s
from .errors import ServiceRefused, refused
from .views import (
    COZE_ERRORS,
    IDEMPOTENCY_KEY,
    WRITE_ERRORS,
    ApiMixin,
    errors,
    idempotency_key,
    reads,
)

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
FORM_FIELDS = ("person", "name", "desc")
# What the enrollment service refuses before calling Coze (each audited there).
REFUSALS = (
    services.NoConsent,
    services.AlreadyEnrolled,
    services.GroupFull,
    services.EnrollmentUnresolved,
    services.GroupNotActive,
)
ENROLL_CONFLICTS = (
    "`no_consent_none`, `no_consent_expired`, `no_consent_withdrawn` (no consent in force), "
    "`group_full` (ten voiceprints), `already_enrolled` (the person is in the group), "
    "`enrollment_unresolved` (an earlier one got no answer), `group_not_active`, "
    "`already_submitted` (the Idempotency-Key's request enrolled nothing)"
)
CHANGE_CONFLICTS = (
    "`voiceprint_not_active` (deleted or gone from Coze), `not_the_creator` (another Coze "
    "user made it: only they may change it)"
)


def coze_user_id():
    """Whose Coze tokens vpadmin holds, as the register knows them: {account id: Coze
    user id} ("" when not known yet); read, never asked of Coze, so a list costs one
    query for it."""
    return dict(CozeAccount.objects.values_list("pk", "coze_user_id"))


def located(request, voiceprint):
    return {"Location": request.build_absolute_uri(f"/api/voiceprints/{voiceprint.pk}/")}


def warnings_of(voiceprint, recording):
    """What the page shows beside a success, as {code, message}."""
    said = []
    if getattr(voiceprint, "found_after_no_answer", False):
        text = _(
            "Coze did not answer, but vpadmin found “%(name)s” in the group on Coze and "
            "registered it."
        )
        said.append({"code": "found_after_no_answer", "message": text % {"name": voiceprint.name}})
    for code in recording.warnings if recording else ():
        said.append({"code": code, "message": says.audio_warning(code, recording)})
    return said


def answered(request, voiceprint, recording, context, status_code=status.HTTP_200_OK):
    """The voiceprint, with the warnings of its recording."""
    voiceprint.warnings = warnings_of(voiceprint, recording)
    data = s.VoiceprintEnrolledSerializer(voiceprint, context=context).data
    return Response(data, status=status_code, headers=located(request, voiceprint))


def form_refused(actor, action, form, target, **fields):
    """The page's audit row of a refused form, and the 400 that says each field's problems."""
    device = target.device if isinstance(target, VoiceprintGroup) else target.group.device
    facts = wording.form_facts(form)
    audit.refuse(actor, action, target=target, device=device, facts=facts, **fields)
    return ValidationError(s.form_errors(form))


@extend_schema(
    tags=["voiceprints"],
    parameters=[IDEMPOTENCY_KEY],
    request={"multipart/form-data": s.EnrollSerializer},
    responses={
        201: s.VoiceprintEnrolledSerializer,
        200: OpenApiResponse(
            s.VoiceprintEnrolledSerializer,
            description="The Idempotency-Key was used: the voiceprint it enrolled.",
        ),
        **errors(*WRITE_ERRORS, 415, *COZE_ERRORS, conflict=ENROLL_CONFLICTS),
    },
)
class EnrollView(ApiMixin, APIView):
    """Enroll a person's voice in a group, as the group's enrollment page does: a consent of
    theirs in force, at most ten voiceprints a group, one a person; the audio checked (not
    audio, too short, silent, clipped, too long or large: code `invalid`, its reason in
    `codes.audio`) and converted before Coze is called, and never stored."""

    required_permissions = {"POST": ["groups.add_voiceprint"]}
    parser_classes = [MultiPartParser]

    def post(self, request, pk):
        submission = idempotency_key(request)
        group = get_object_or_404(
            VoiceprintGroup.objects.select_related("device", "account"), pk=pk
        )
        if not group.is_active:
            raise refused(services.GroupNotActive(group))
        data = {name: request.data.get(name, "") for name in FORM_FIELDS}
        form = EnrollForm(
            {**data, "submission": submission}, request.FILES, dropped=audio_dropped(request)
        )
        if not form.is_valid():
            sent = {"sent_name": data["name"][:200], "sent_desc": data["desc"][:2000]}
            raise form_refused(self.actor, Action.VOICEPRINT_CREATE, form, group, **sent)
        values, recording = form.cleaned_data, form.cleaned_data["audio"]
        try:
            voiceprint = services.enroll(
                self.actor,
                group,
                person=values["person"],
                name=values["name"],
                desc=values["desc"],
                recording=recording,
                submission=submission,
            )
        except services.AlreadySubmitted as resent:
            return self.resent(resent.entry)
        except REFUSALS as error:
            raise refused(error) from None
        except coze.CozeError as error:
            raise refused(error, "enroll") from None
        context = {"coze_user_id": coze_user_id()}
        return answered(request, voiceprint, recording, context, status.HTTP_201_CREATED)

    def resent(self, earlier):
        """The Idempotency-Key was used before: its voiceprint, or why there is none."""
        if earlier.outcome == Outcome.SUCCESS and earlier.target_type == "voiceprint":
            voiceprint = Voiceprint.objects.select_related("group__account").get(
                pk=earlier.target_id
            )
            return answered(self.request, voiceprint, None, {"coze_user_id": coze_user_id()})
        raise ServiceRefused(says.already_submitted(earlier))


@extend_schema(tags=["voiceprints"])
@reads(s.VoiceprintSerializer)
class VoiceprintViewSet(
    ApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Voiceprints: whose voice, in which group (device), under which consent, who enrolled
    it and the audio's figures. Deleted ones are listed with `?state=deleted` or `all`.
    Enroll one with POST /api/groups/{id}/voiceprints/."""

    queryset = Voiceprint.objects.select_related("group__account")
    serializer_class = s.VoiceprintSerializer
    filterset_class = VoiceprintFilterSet
    parser_classes = [JSONParser, MultiPartParser]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @cached_property
    def coze_user_id(self):
        return coze_user_id()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "coze_user_id": self.coze_user_id}

    def get_queryset(self):
        if self.action in ("partial_update", "destroy"):
            # Changed on Coze: its group's device goes on the audit rows.
            return Voiceprint.objects.select_related("group__device", "group__account", "person")
        return super().get_queryset()

    def maker_elsewhere(self, voiceprint):
        return s.maker_elsewhere(voiceprint, self.coze_user_id)

    def refuse(self, voiceprint, action, facts, message):
        audit.refuse(
            self.actor, action, facts=facts, target=voiceprint, device=voiceprint.group.device
        )
        return ServiceRefused(message)

    def unchangeable(self, voiceprint, action):
        """The refusal (audited) when the voiceprint cannot be changed on Coze: ended, or
        made by someone else; None when it can."""
        if not voiceprint.is_active:
            facts = wording.fact("voiceprint_ended", name=voiceprint.name, state=voiceprint.state)
            return self.refuse(voiceprint, action, facts, says.voiceprint_ended(voiceprint))
        maker = self.maker_elsewhere(voiceprint)
        if maker is None:
            return None
        facts = wording.fact("not_the_creator", creator=maker)
        message = says.about(services.NotTheCreator(voiceprint, maker))
        return self.refuse(voiceprint, action, facts, message)

    @extend_schema(
        request={
            "application/json": s.VoiceprintUpdateSerializer,
            "multipart/form-data": s.VoiceprintReenrollSerializer,
        },
        responses={
            200: s.VoiceprintEnrolledSerializer,
            **errors(
                *WRITE_ERRORS,
                415,
                *COZE_ERRORS,
                conflict=f"{CHANGE_CONFLICTS}, `no_consent_*` and `no_person` (new audio "
                "needs a person with consent in force)",
            ),
        },
    )
    def partial_update(self, request, *args, **kwargs):
        """Rename it or re-enroll it with new audio (multipart), as its edit page does; for
        one imported without a person (even one made by someone else), say whose it is."""
        voiceprint = self.get_object()
        person_only = voiceprint.is_active and not voiceprint.person_id
        person_only = person_only and self.maker_elsewhere(voiceprint) is not None
        if not person_only and (refusal := self.unchangeable(voiceprint, Action.VOICEPRINT_UPDATE)):
            raise refusal
        given = request.data if isinstance(request.data, dict) else {}
        sent = {name: given[name] for name in FORM_FIELDS if name in given}
        data = {"name": voiceprint.name, "desc": voiceprint.desc, **sent}
        form = VoiceprintEditForm(
            data,
            request.FILES,
            voiceprint=voiceprint,
            person_only=person_only,
            dropped=not person_only and audio_dropped(request),
        )
        if not form.is_valid():
            raise form_refused(self.actor, Action.VOICEPRINT_UPDATE, form, voiceprint)
        values = form.cleaned_data
        try:
            services.update_voiceprint(
                self.actor,
                voiceprint,
                name=values.get("name", voiceprint.name),
                desc=values.get("desc", voiceprint.desc),
                recording=values.get("audio"),
                person=values.get("person"),
            )
        except (services.NoConsent, services.NoPerson, services.NotTheCreator) as error:
            raise refused(error) from None
        except coze.CozeError as error:
            raise refused(error, "update_voiceprint") from None
        return answered(request, voiceprint, values.get("audio"), self.get_serializer_context())

    @extend_schema(
        responses={204: None, **errors(*WRITE_ERRORS, *COZE_ERRORS, conflict=CHANGE_CONFLICTS)}
    )
    def destroy(self, request, *args, **kwargs):
        """Delete it on Coze (Administrators); it stays in the register as deleted, with
        Coze's logid."""
        voiceprint = self.get_object()
        if refusal := self.unchangeable(voiceprint, Action.VOICEPRINT_DELETE):
            raise refusal
        try:
            services.delete_voiceprint(self.actor, voiceprint)
        except services.NotTheCreator as error:
            raise refused(error) from None
        except coze.CozeError as error:
            raise refused(error, "delete_voiceprint") from None
        return Response(status=status.HTTP_204_NO_CONTENT)
