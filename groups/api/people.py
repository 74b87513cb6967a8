"""People and their consents through the API, as their pages do them: the register of
people (with the state of their consent), one person with their consents and voiceprints,
recording and changing a person, recording a consent, and recording a withdrawal, which
asks for every voiceprint of theirs to be deleted on Coze by a job. The same forms and
services, with the token's owner as the actor.

A person's consents come inside the person (no list of their own): a script that is about
to enroll someone reads one answer to learn whether a consent is in force and what is
enrolled already, and a person has a handful of consents, never a page of them."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response

from .. import audit, services, wording
from ..filtersets import PersonFilterSet
from ..models import AuditEntry, Person, Voiceprint
from . import serializers as s
from .errors import refused
from .pagination import DeferredJoinPaging
from .views import WRITE_ERRORS, ApiMixin, errors, reads

Action = AuditEntry.Action
# What a person's own answer holds beside them, read in a query each.
THEIR_RECORDS = (
    "consents",
    Prefetch(
        "voiceprints",
        Voiceprint.objects.select_related("group__account").order_by("-created_at", "-id"),
    ),
)
TAKEN = "`reference_taken` (by someone else since the request was checked)"
# The permission each of a person's actions needs, beside the model's own for the rest.
ACTION_PERMISSIONS = {
    "consents": {"POST": ["groups.add_consent"]},
    "withdraw": {"POST": ["groups.withdraw_consent"]},
}


@extend_schema(tags=["people"])
@reads(s.PersonSerializer, s.PersonDetailSerializer)
class PersonViewSet(
    ApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The people whose voices are enrolled: a name (a pseudonym is fine), the team's own
    reference, notes, and the state of their consent."""

    queryset = Person.objects.with_consent_state().select_related("created_by")
    serializer_class = s.PersonSerializer
    filterset_class = PersonFilterSet
    pagination_class = DeferredJoinPaging  # each row's figures computed for its page only

    @property
    def required_permissions(self):
        return ACTION_PERMISSIONS.get(self.action)  # None: the model's permissions

    def get_serializer_class(self):
        return s.PersonSerializer if self.action == "list" else s.PersonDetailSerializer

    def their_records(self, pk):
        """The person with their consents and voiceprints, as their answer shows them."""
        return self.get_queryset().prefetch_related(*THEIR_RECORDS).get(pk=pk)

    def retrieve(self, request, *args, **kwargs):
        """A person with their consents and voiceprints (and how their deletions stand)."""
        person = self.get_object()
        return Response(s.PersonDetailSerializer(self.their_records(person.pk)).data)

    @extend_schema(
        request=s.PersonWriteSerializer,
        responses={201: s.PersonDetailSerializer, **errors(*WRITE_ERRORS, conflict=TAKEN)},
    )
    def create(self, request, *args, **kwargs):
        """Record a person (then their consent, before any enrollment)."""
        values = self.checked(s.PersonWriteSerializer(data=request.data), Action.PERSON_CREATE)
        try:
            person = services.create_person(self.actor, **values)
        except services.ReferenceTaken as taken:
            raise self.reference_taken(taken, Action.PERSON_CREATE, None) from None
        answer = s.PersonDetailSerializer(self.their_records(person.pk)).data
        return Response(answer, status=status.HTTP_201_CREATED, headers=located(request, person))

    @extend_schema(
        request=s.PersonWriteSerializer,
        responses={200: s.PersonDetailSerializer, **errors(*WRITE_ERRORS, conflict=TAKEN)},
    )
    def partial_update(self, request, *args, **kwargs):
        """Change a person's name, reference or notes; left out, a field stays as it is."""
        person = self.get_object()
        serializer = s.PersonWriteSerializer(person, data=request.data, partial=True)
        values = self.checked(serializer, Action.PERSON_UPDATE, target=person)
        try:
            services.update_person(self.actor, person, **values)
        except services.ReferenceTaken as taken:
            raise self.reference_taken(taken, Action.PERSON_UPDATE, person) from None
        return Response(s.PersonDetailSerializer(self.their_records(person.pk)).data)

    def reference_taken(self, taken, action, person):
        """A reference taken since the form was checked: the field's error, as on the page."""
        error = DjangoValidationError(refused(taken).message.text, code="unique")
        audit.refuse(
            self.actor, action, wording.invalid_facts({"reference": [error]}), target=person
        )
        return refused(taken)

    @extend_schema(
        request=s.ConsentCreateSerializer,
        responses={201: s.ConsentSerializer, **errors(400, 401, 403, 404, 429)},
    )
    @action(detail=True, methods=["post"])
    def consents(self, request, pk=None):
        """Record a consent of the person's, as it was given: by them or a guardian (a
        child under 14), how, for what, on which day, and until when voiceprints may be
        kept. Refused (400) by the consent page's rules."""
        person = self.get_object()
        serializer = s.ConsentCreateSerializer(data=request.data)
        values = self.checked(serializer, Action.CONSENT_CREATE, target=person)
        try:
            consent = services.record_consent(self.actor, person, **values)
        except services.ConsentRefused as refusal:  # checked again there (and audited)
            raise ValidationError(
                {
                    name: [ErrorDetail(message, code=error.code) for message in error.messages]
                    for name, error in refusal.errors.items()
                }
            ) from None
        return Response(s.ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.WithdrawalSerializer,
        responses={
            200: s.WithdrawnSerializer,
            **errors(*WRITE_ERRORS, conflict="`nothing_to_withdraw` (no consent in force)"),
        },
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Record that the person withdrew their consent: every consent of theirs in force
        is withdrawn, and each of their voiceprints is to be deleted on Coze by a deletions
        job (retried until Coze has done it). The answer names them, and the job."""
        person = self.get_object()
        serializer = s.WithdrawalSerializer(data=request.data)
        values = self.checked(serializer, Action.CONSENT_WITHDRAW, target=person)
        try:
            withdrawal = services.withdraw_consent(
                self.actor,
                person,
                method=values["withdrawal_method"],
                note=values["withdrawal_note"],
            )
        except services.NothingToWithdraw as nothing:
            raise refused(nothing) from None
        deleting = Voiceprint.objects.filter(pk__in=withdrawal.voiceprints).select_related(
            "group__account"
        )
        answer = {
            "person": self.their_records(person.pk),
            "consents": [consent.pk for consent in withdrawal.consents],
            "voiceprints": deleting.order_by("pk"),
            "job": withdrawal.job,
        }
        return Response(s.WithdrawnSerializer(answer).data)


def located(request, person):
    return {"Location": request.build_absolute_uri(f"/api/people/{person.pk}/")}
