"""The API's views, thin like the pages': permission (groups.api.permissions), input checked
by the pages' forms, one service call with the token's owner as an Actor acting `api`, and
the answer. Lists use the pages' FilterSets and page with limit/offset."""

import uuid

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import APIRootView
from rest_framework.views import APIView

from .. import audit, coze, quota, services, wording
from ..actors import Actor
from ..filtersets import AuditEntryFilterSet, DeviceFilterSet, VoiceprintGroupFilterSet
from ..models import AuditEntry, Device, Job, VoiceprintGroup
from ..services import messages as says
from . import serializers as s
from .errors import ServiceRefused, refused
from .pagination import DeferredJoinPaging

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


def errors(*statuses, conflict=None):
    """The error answers an operation documents (all in the one shape of groups.api.errors);
    `conflict`, the codes of its own 409s."""
    described = {
        400: "Invalid input (code `invalid`, with `fields` and `codes`).",
        401: "No token, or an unknown, expired or revoked one (code `not_authenticated`).",
        403: "The role does not allow it, or the token is read-only.",
        404: "No such object (code `not_found`).",
        409: "A rule of the register refused it (e.g. `quota_full`, `name_taken`).",
        415: "The body is not of the type the operation takes (`unsupported_media_type`).",
        429: "Too many requests (code `throttled`); Retry-After says when to try again.",
        502: "Coze refused (`coze_refused`, with `coze`: code, msg, logid, http_status).",
        503: "Coze's rate or daily limit (`coze_rate_limited`, `coze_usage_limited`).",
        504: "Coze did not answer (`coze_no_answer`): the change may or may not be made.",
    }
    if conflict:
        described[409] = f"A rule of the register refused it: {conflict}."
    return {
        code: OpenApiResponse(s.ErrorSerializer, description=described[code]) for code in statuses
    }


READ_ERRORS = (401, 403, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 429)
COZE_ERRORS = (502, 503, 504)


class ApiMixin:
    """What every API view shares. (DRF marks its views login_not_required: it
    authenticates them itself, and answers 401 rather than sending to the sign-in page.)"""

    def filter_queryset(self, queryset):
        """The FilterSets choose a list's rows; one object is found by its id alone (a
        deleted group too, which the groups' list leaves out unless asked)."""
        if self.action in ("list", None):
            return super().filter_queryset(queryset)
        return queryset

    @property
    def actor(self):
        return Actor.for_api(self.request, self.request.user)

    def checked(self, serializer, action, target=None, **fields):
        """The serializer's values, or a 400; a refusal is audited as the pages audit a form's."""
        if serializer.is_valid():
            return serializer.validated_data
        if serializer.form is not None and serializer.form.errors:
            facts = wording.form_facts(serializer.form)
        else:
            facts = wording.fact(
                "invalid_form",
                errors={
                    field: [{"code": getattr(problem, "code", "invalid")} for problem in problems]
                    for field, problems in serializer.errors.items()
                    if isinstance(problems, list)
                },
            )
        audit.refuse(self.actor, action, facts=facts, target=target, **fields)
        raise ValidationError(serializer.errors)


def reads(serializer, detail=None):
    """A list's and one object's answers (`detail`: when one object says more than a row).
    On the class, they override what its own methods declare."""
    return extend_schema_view(
        list=extend_schema(responses={200: serializer(many=True), **errors(*READ_ERRORS, 400)}),
        retrieve=extend_schema(responses={200: detail or serializer, **errors(*READ_ERRORS, 404)}),
    )


@extend_schema(tags=["devices"])
@reads(s.DeviceSerializer)
class DeviceViewSet(ApiMixin, viewsets.ModelViewSet):
    """The device register."""

    queryset = Device.objects.select_related("account")
    serializer_class = s.DeviceSerializer
    filterset_class = DeviceFilterSet

    @extend_schema(responses={201: s.DeviceSerializer, **errors(*WRITE_ERRORS)})
    def create(self, request, *args, **kwargs):
        serializer = s.DeviceSerializer(data=request.data)
        values = self.checked(serializer, Action.DEVICE_CREATE)
        try:
            device = services.create_device(self.actor, **values)
        except services.SerialTaken as taken:
            raise refused(taken) from None
        return Response(s.DeviceSerializer(device).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.DeviceSerializer, **errors(*WRITE_ERRORS)})
    def update(self, request, *args, partial=False, **kwargs):
        device = self.get_object()
        serializer = s.DeviceSerializer(device, data=request.data, partial=partial)
        values = self.checked(serializer, Action.DEVICE_UPDATE, target=device)
        try:
            services.update_device(self.actor, device, **values)
        except (services.SerialTaken, services.DeviceGone) as error:
            raise refused(error) from None
        return Response(s.DeviceSerializer(device).data)

    @extend_schema(responses={200: s.DeviceSerializer, **errors(*WRITE_ERRORS)})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={204: None, **errors(*WRITE_ERRORS)})
    def destroy(self, request, *args, **kwargs):
        self.perform_destroy(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, device):
        try:
            services.delete_device(self.actor, device)
        except services.DeviceBusy as busy:
            raise refused(busy) from None


class ApiRoot(ApiMixin, APIRootView):
    """The API's resources, by name."""

    permission_classes = [IsAuthenticated]
    schema = None  # not an operation of the API


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.UUID,
    OpenApiParameter.HEADER,
    description=(
        "A UUID the client makes for this creation: sent again (a retry after a lost "
        "answer), it creates nothing new and the answer points at the first request's "
        "group. Without it each request is a new creation."
    ),
)


@extend_schema(tags=["groups"])
@reads(s.GroupSerializer)
class GroupViewSet(ApiMixin, viewsets.ModelViewSet):
    """Voiceprint groups: made, changed and deleted on Coze through the same service as the
    pages; deleted ones are listed with `?state=deleted` or `?state=all`."""

    queryset = VoiceprintGroup.objects.select_related("creator", "account")
    serializer_class = s.GroupSerializer
    filterset_class = VoiceprintGroupFilterSet

    def get_serializer_class(self):
        if self.action == "create":
            return s.GroupCreateSerializer
        if self.action in ("update", "partial_update"):
            return s.GroupUpdateSerializer
        return s.GroupSerializer

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=s.GroupCreateSerializer,
        responses={
            201: s.GroupSerializer,
            200: OpenApiResponse(
                s.GroupSerializer, description="The Idempotency-Key was used: its group."
            ),
            **errors(*WRITE_ERRORS, *COZE_ERRORS),
        },
    )
    def create(self, request, *args, **kwargs):
        submission = idempotency_key(request)
        serializer = s.GroupCreateSerializer(data=request.data)
        data = request.data if isinstance(request.data, dict) else {}
        values = self.checked(
            serializer,
            Action.GROUP_CREATE,
            sent_name=str(data.get("name", ""))[:200],
            sent_desc=str(data.get("desc", ""))[:2000],
        )
        try:
            group = services.create_group(self.actor, submission=submission, **values)
        except services.AlreadySubmitted as resent:
            return self.resent(resent.entry)
        except (services.DeviceGone, services.NameTaken, services.AttemptUnresolved) as error:
            raise refused(error, "create") from None
        except (services.QuotaExceeded, services.NotRegistered, coze.CozeError) as error:
            raise refused(error, "create") from None
        answer = s.GroupSerializer(group).data
        return Response(answer, status=status.HTTP_201_CREATED, headers=located(request, group))

    def resent(self, earlier):
        """The Idempotency-Key was used before: its group, or why there is none."""
        if earlier.outcome == Outcome.SUCCESS and earlier.target_id:
            group = VoiceprintGroup.objects.select_related("creator", "account").get(
                pk=earlier.target_id
            )
            return Response(s.GroupSerializer(group).data, headers=located(self.request, group))
        raise ServiceRefused(says.already_submitted(earlier))

    @extend_schema(
        request=s.GroupUpdateSerializer,
        responses={200: s.GroupSerializer, **errors(*WRITE_ERRORS, *COZE_ERRORS)},
    )
    def update(self, request, *args, partial=False, **kwargs):
        group = self.get_object()
        if not group.is_active:
            raise ServiceRefused(says.group_ended(group))
        serializer = s.GroupUpdateSerializer(group, data=request.data, partial=partial)
        values = self.checked(serializer, Action.GROUP_UPDATE, target=group, device=group.device)
        try:
            services.update_group(self.actor, group, **values)
        except services.OtherAccount as error:
            raise refused(error) from None
        except coze.CozeError as error:
            if group.state == VoiceprintGroup.State.GONE:
                raise ServiceRefused(says.group_gone(group, error), error=error) from None
            raise refused(error, "update") from None
        return Response(s.GroupSerializer(group).data)

    @extend_schema(
        request=s.GroupUpdateSerializer,
        responses={200: s.GroupSerializer, **errors(*WRITE_ERRORS, *COZE_ERRORS)},
    )
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={204: None, **errors(*WRITE_ERRORS, *COZE_ERRORS)})
    def destroy(self, request, *args, **kwargs):
        group = self.get_object()
        if not group.is_active:
            raise ServiceRefused(says.group_ended(group))
        try:
            services.delete_group(self.actor, group)
        except coze.CozeError as error:
            raise refused(error, "delete") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


def idempotency_key(request):
    """The Idempotency-Key header as the submission's id (a new one when there is none)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return uuid.uuid4()
    try:
        return uuid.UUID(key)
    except ValueError:
        message = _("The Idempotency-Key header must be a UUID.")
        raise ValidationError({"Idempotency-Key": [message]}) from None


def located(request, group):
    return {"Location": request.build_absolute_uri(f"/api/groups/{group.pk}/")}


@extend_schema(tags=["audit"])
@reads(s.AuditEntrySerializer)
class AuditEntryViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    """The audit log, newest first, with the audit page's filters."""

    queryset = AuditEntry.objects.select_related("account")
    serializer_class = s.AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    pagination_class = DeferredJoinPaging  # deep in the log as cheap as its first page


@extend_schema(tags=["jobs"])
@reads(s.JobSerializer, s.JobDetailSerializer)
class JobViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    """Background jobs (syncs, deletions retried, retention sweeps): state and progress; one
    job's per-row results."""

    queryset = Job.objects.select_related("account")

    def get_queryset(self):
        jobs = Job.objects.select_related("account").defer("params")
        return jobs.defer("results") if self.action == "list" else jobs

    def get_serializer_class(self):
        return s.JobDetailSerializer if self.action == "retrieve" else s.JobSerializer


@extend_schema(tags=["quota"], responses={200: s.QuotaSerializer, **errors(*READ_ERRORS)})
class QuotaView(ApiMixin, APIView):
    """The group quota: used (held plus pending), free, the limit, across every Coze
    account (with one: its own), and each account's in `accounts`."""

    required_permissions = {"GET": ["groups.view_voiceprintgroup"]}

    def get(self, request):
        usages = quota.usages()
        total = usages.total if usages.several else usages.accounts[0]
        fields = s.UsageSerializer().fields
        values = {name: getattr(total, name) for name in fields}
        values["accounts"] = [
            {"account": usage.account, **{name: getattr(usage, name) for name in fields}}
            for usage in usages.accounts
        ]
        return Response(s.QuotaSerializer(values).data)


@extend_schema(
    tags=["jobs"],
    request=s.SyncStartSerializer,
    responses={
        202: OpenApiResponse(
            s.SyncStartedSerializer,
            description="A sync was queued (one per account when no account is named): the "
            "first account's job, and every account's in `jobs`.",
        ),
        200: OpenApiResponse(
            s.SyncStartedSerializer, description="Every sync asked for was under way already."
        ),
        **errors(*READ_ERRORS),
    },
)
class SyncView(ApiMixin, APIView):
    """Start a sync of the register with Coze: one background job per Coze account (as
    the groups page's button does), or of the `account` named only."""

    required_permissions = {"POST": ["groups.sync_voiceprintgroup"]}

    def post(self, request):
        asked = s.SyncStartSerializer(data=request.data if isinstance(request.data, dict) else {})
        if not asked.is_valid():
            raise ValidationError(asked.errors)
        jobs = services.start_syncs(self.actor, account=asked.validated_data.get("account"))
        answer = {**s.JobSerializer(jobs[0][0]).data}
        answer["jobs"] = s.JobSerializer([job for job, _new in jobs], many=True).data
        started = any(new for _job, new in jobs)
        return Response(answer, status=status.HTTP_202_ACCEPTED if started else status.HTTP_200_OK)
