"""What the API reads and writes. Input is checked by the pages' own forms (groups.forms),
so the API accepts exactly what the pages accept, with the same messages; output is the
register's rows, with texts (an audit row's explanation, a job's summary) in the reader's
language."""

import copy

from django.core.validators import MaxLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from ..coze.accounts import names as account_names
from ..forms import (
    ConsentForm,
    DeviceForm,
    GroupCreateForm,
    GroupEditForm,
    PersonForm,
    WithdrawalForm,
)
from ..models import (
    DESC_MAX,
    NAME_MAX,
    PERSON_NAME_MAX,
    VOICEPRINT_NAME_MAX,
    AuditEntry,
    Consent,
    Device,
    Job,
    Person,
    Voiceprint,
    VoiceprintGroup,
)
from ..models.people import consent_state


class RegisterSerializer(serializers.ModelSerializer):
    # A register's row as JSON. (Comments, not a docstring: the schema would show it as
    # every row's description.) A choice that may be left empty (a consent's withdrawal
    # method before any withdrawal, a voiceprint's deletion reason) is still documented as
    # possibly empty when the field is read-only: DRF drops `allow_blank` from read-only
    # fields, and the schema would then promise one of the choices where "" is sent.

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        blank_choice = "choices" in kwargs and kwargs.get("allow_blank", False)
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank_choice:
            kwargs["allow_blank"] = True
        return kwargs


class FormChecked(serializers.Serializer):
    """Input checked by a Django form: DRF checks only the JSON types, the form the rest
    (lengths, characters, a serial already used, a device that does not exist)."""

    form_class = None
    form = None  # the form, once checked (its errors are the audit row's facts)

    def form_kwargs(self):
        return {}

    def current(self):
        """The values a partial update leaves as they are."""
        return {}

    def validate(self, attrs):
        data = {**self.current(), **attrs}
        self.form = self.form_class(data=data, **self.form_kwargs())
        if not self.form.is_valid():
            raise serializers.ValidationError(form_errors(self.form))
        return {name: self.form.cleaned_data[name] for name in self.form.fields}


def form_errors(form):
    """A checked form's errors as DRF's: each field's messages, with the form's stable codes."""
    return {
        field: [ErrorDetail(error["message"], code=error["code"] or "invalid") for error in errors]
        for field, errors in form.errors.get_json_data().items()
    }


class FormText(serializers.CharField):
    """Text whose limit the schema documents and the form checks (after trimming, with
    the pages' message), not DRF."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]


def text(max_length, **kwargs):
    kwargs.setdefault("allow_blank", True)
    return FormText(trim_whitespace=False, max_length=max_length, **kwargs)


class DeviceSerializer(FormChecked, RegisterSerializer):
    form_class = DeviceForm
    name = text(100)
    serial = text(100, help_text="The device's own identifier; kept in upper case.")
    location = text(200, required=False)
    notes = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False)
    # Checked by the form (0 to 100, with the pages' message); left out, it stays as it is.
    identify_threshold = serializers.IntegerField(
        required=False,
        help_text="A score (0 to 100) at or above which the device recognises a person; "
        "40 when the device is created without one.",
    )

    account = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="The Coze account that serves it (its groups'); null until its first group.",
    )

    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "serial",
            "location",
            "notes",
            "identify_threshold",
            "account",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["account", "created_at", "updated_at"]

    def form_kwargs(self):
        return {"instance": self.instance} if self.instance is not None else {}

    def current(self):
        if self.instance is None or not self.partial:
            return {}
        fields = ("name", "serial", "location", "notes", "identify_threshold")
        return {name: getattr(self.instance, name) for name in fields}

    def create(self, validated_data):  # the view saves through the service
        raise NotImplementedError

    def update(self, instance, validated_data):
        raise NotImplementedError


class GroupSerializer(RegisterSerializer):
    creator = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    account = serializers.SlugRelatedField(
        slug_field="name", read_only=True, help_text="The Coze account the group is in."
    )

    class Meta:
        model = VoiceprintGroup
        fields = [
            "id",
            "coze_id",
            "account",
            "name",
            "desc",
            "device",
            "state",
            "created_at",
            "creator",
            "logid",
            "feature_count",
            "ended_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"logid": {"help_text": "Coze's logid of the call that created it."}}


class GroupCreateSerializer(FormChecked):
    """A group to create on Coze for a device (name 1 to 20 characters, desc at most 500)."""

    form_class = GroupCreateForm
    name = text(NAME_MAX, allow_blank=False)
    desc = text(DESC_MAX, required=False, default="")
    device = serializers.IntegerField(min_value=1, help_text="The device's id.")
    account = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The Coze account (a configured name) of the group when the device has "
        "none yet; left out, the one with the most free quota. A device that has an "
        "account keeps it (another is refused, code other_account).",
    )


class GroupUpdateSerializer(FormChecked):
    """New name, desc (on Coze) and device (ours alone; null: none) of a group."""

    form_class = GroupEditForm
    name = text(NAME_MAX, allow_blank=False)
    desc = text(DESC_MAX, required=False, default="")
    device = serializers.IntegerField(min_value=1, allow_null=True, required=False, default=None)

    def current(self):
        if not self.partial:
            return {}
        group = self.instance
        return {"name": group.name, "desc": group.desc, "device": group.device_id}


class AudioQualitySerializer(serializers.Serializer):
    source_format = serializers.CharField(required=False, help_text="e.g. `wav/pcm_s16le`.")
    source_rate = serializers.IntegerField(required=False)
    source_channels = serializers.IntegerField(required=False)
    peak_dbfs = serializers.FloatField(required=False)
    rms_dbfs = serializers.FloatField(required=False)
    clipped_share = serializers.FloatField(required=False)


class AudioFiguresSerializer(serializers.Serializer):
    """What the register keeps of the latest audio: figures, never the audio itself."""

    sha256 = serializers.CharField(source="audio_sha256", help_text="Of the upload as sent.")
    duration = serializers.FloatField(allow_null=True, help_text="Seconds sent to Coze.")
    speech_seconds = serializers.FloatField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True, help_text="As sent to Coze.")
    quality = AudioQualitySerializer(help_text="Empty for a voiceprint made elsewhere.")


class VoiceprintSerializer(RegisterSerializer):
    device = serializers.IntegerField(source="group.device_id", allow_null=True, read_only=True)
    account = serializers.CharField(
        source="group.account.name", read_only=True, help_text="Its group's Coze account."
    )
    enrolled_by = serializers.CharField(source="enrolled_by_name", read_only=True)
    audio = AudioFiguresSerializer(source="*", read_only=True)
    changeable = serializers.SerializerMethodField(
        help_text="Whether vpadmin's Coze token may change or delete it on Coze: false when "
        "another Coze user made it (coze_creator_name), whom only Coze lets do so."
    )
    deletion_state = serializers.ChoiceField(
        choices=["", "done", "waiting", "needs_maker", "needs_person"],
        read_only=True,
        help_text="Where a deletion the law asks for (deletion_reason) stands; empty: none.",
    )

    class Meta:
        model = Voiceprint
        fields = [
            "id",
            "coze_id",
            "name",
            "desc",
            "group",
            "account",
            "device",
            "person",
            "consent",
            "keep_until",
            "state",
            "created_at",
            "enrolled_at",
            "enrolled_by",
            "logid",
            "audio",
            "coze_creator_id",
            "coze_creator_name",
            "changeable",
            "ended_at",
            "deletion_requested_at",
            "deletion_reason",
            "deletion_state",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "logid": {"help_text": "Coze's logid of the latest enrollment (or deletion)."},
            "enrolled_at": {"help_text": "When its current audio was enrolled."},
        }

    def get_changeable(self, voiceprint) -> bool:
        return maker_elsewhere(voiceprint, self.context.get("coze_user_id", {})) is None


def maker_elsewhere(voiceprint, coze_user_id):
    """Who made `voiceprint` on Coze when its account's token (whose user is
    `coze_user_id`: text, or {account id: text}, "" when not known yet) did not: only they
    may change or delete it. None when the token may, or cannot be told not to (Coze then
    decides)."""
    if isinstance(coze_user_id, dict):
        coze_user_id = coze_user_id.get(voiceprint.group.account_id, "")
    creator = voiceprint.coze_creator_id
    if not creator or not coze_user_id or creator == coze_user_id:
        return None
    return voiceprint.coze_creator_name or creator


class AudioWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["short", "long", "found_after_no_answer"])
    message = serializers.CharField(help_text="In the requested language.")


class VoiceprintEnrolledSerializer(VoiceprintSerializer):
    warnings = AudioWarningSerializer(
        many=True,
        read_only=True,
        help_text="What the page shows beside the success: little speech (`short`), a long "
        "recording (`long`), or found on Coze after its answer was lost.",
    )

    class Meta(VoiceprintSerializer.Meta):
        fields = [*VoiceprintSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


class VoiceprintFields(serializers.Serializer):
    name = text(VOICEPRINT_NAME_MAX, required=False)
    desc = text(DESC_MAX, required=False)


class EnrollSerializer(VoiceprintFields):
    """An enrollment, as the page's form posts it (multipart/form-data; checked by that form)."""

    person = serializers.IntegerField(help_text="The person's id; a consent of theirs in force.")
    name = text(
        VOICEPRINT_NAME_MAX, required=False, help_text="Empty or left out: the person's name."
    )
    audio = serializers.FileField(
        help_text="10 to 30 s of the person's speech: WAV, FLAC, MP3, M4A/AAC, OGG/Opus or "
        "WebM; converted for Coze in memory and never stored."
    )


class VoiceprintUpdateSerializer(VoiceprintFields):
    """A rename (name, desc on Coze) and, for one imported without a person, whose it is;
    left out, a field stays as it is."""

    person = serializers.IntegerField(
        required=False, help_text="Only while nobody is named: whose voice it is."
    )


class VoiceprintReenrollSerializer(VoiceprintUpdateSerializer):
    """The same as multipart/form-data, with new audio that replaces the voiceprint on Coze."""

    audio = serializers.FileField(required=False, help_text="As for an enrollment.")


class ConsentSerializer(RegisterSerializer):
    recorded_by = serializers.CharField(source="recorded_by_name", read_only=True)
    withdrawn_by = serializers.CharField(source="withdrawn_by_name", read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = [
            "id",
            "state",
            "given_by",
            "guardian_name",
            "guardian_relation",
            "method",
            "purpose",
            "given_on",
            "keep_until",
            "recorded_at",
            "recorded_by",
            "withdrawn_at",
            "withdrawn_by",
            "withdrawal_method",
            "withdrawal_note",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["in_force", "expired", "withdrawn"]))
    def get_state(self, consent):
        return consent.state()["code"]


class ConsentCreateSerializer(FormChecked):
    """A consent as it was given (the page's form and rules: a guardian named, no day in the
    future, kept at most VOICEPRINT_RETENTION_DAYS)."""

    form_class = ConsentForm
    given_by = serializers.ChoiceField(choices=Consent.GivenBy.choices)
    guardian_name = text(PERSON_NAME_MAX, required=False, help_text="When a guardian gave it.")
    guardian_relation = text(50, required=False, help_text="e.g. mother, legal guardian.")
    method = serializers.ChoiceField(choices=Consent.Method.choices)
    purpose = text(2000, allow_blank=False, help_text="What they agreed to, as they read it.")
    given_on = serializers.DateField()
    keep_until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Left out: VOICEPRINT_RETENTION_DAYS after given_on; earlier if they asked.",
    )


class WithdrawalSerializer(FormChecked):
    """How the person asked to withdraw their consent, and a note if the team needs one."""

    form_class = WithdrawalForm
    withdrawal_method = serializers.ChoiceField(choices=Consent.WithdrawalMethod.choices)
    withdrawal_note = text(2000, required=False)


class PersonSerializer(RegisterSerializer):
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    consent_state = serializers.SerializerMethodField(
        help_text="A consent in force, else how the latest one ended, or none recorded."
    )
    consent_until = serializers.SerializerMethodField(
        help_text="Until when the consent in force (else the latest) keeps voiceprints."
    )
    voiceprint_count = serializers.IntegerField(read_only=True, help_text="Active ones.")

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "reference",
            "notes",
            "created_at",
            "created_by",
            "consent_state",
            "consent_until",
            "voiceprint_count",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(choices=["in_force", "expired", "withdrawn", "none"])
    )
    def get_consent_state(self, person):
        return consent_state(person)["code"]

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_consent_until(self, person):
        return person.consent_until or person.latest_until


class PersonVoiceprintSerializer(VoiceprintSerializer):
    class Meta(VoiceprintSerializer.Meta):
        fields = [
            "id",
            "coze_id",
            "name",
            "group",
            "device",
            "state",
            "keep_until",
            "created_at",
            "deletion_reason",
            "deletion_state",
        ]
        read_only_fields = fields


class PersonDetailSerializer(PersonSerializer):
    consents = ConsentSerializer(many=True, read_only=True, help_text="Newest first.")
    voiceprints = PersonVoiceprintSerializer(many=True, read_only=True, help_text="Newest first.")

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "consents", "voiceprints"]
        read_only_fields = fields


class PersonWriteSerializer(FormChecked):
    """A person as the page records them: name (a pseudonym is fine), the team's reference
    (no two people share one), notes."""

    form_class = PersonForm
    name = text(PERSON_NAME_MAX, allow_blank=False)
    reference = text(100, required=False)
    notes = text(2000, required=False)

    def form_kwargs(self):
        # The form checks a copy: what was sent must not reach the person before the
        # service compares it with what is stored.
        return {"instance": copy.copy(self.instance)} if self.instance is not None else {}

    def current(self):
        if self.instance is None or not self.partial:
            return {}
        return {name: getattr(self.instance, name) for name in ("name", "reference", "notes")}


class AuditEntrySerializer(RegisterSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)
    action_label = serializers.CharField(read_only=True)
    outcome_label = serializers.CharField(read_only=True)
    explanation = serializers.CharField(
        read_only=True, help_text="What the row says, in the reader's language."
    )
    coze_code = serializers.IntegerField(read_only=True, allow_null=True)
    account = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="The Coze account the row's call went to (null: none, or a row older than "
        "several accounts, which was the default account's).",
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "via",
            "action",
            "action_label",
            "outcome",
            "outcome_label",
            "request_id",
            "target_type",
            "target_id",
            "target_label",
            "device",
            "account",
            "sent_name",
            "sent_desc",
            "coze_code",
            "coze_msg",
            "coze_logid",
            "http_status",
            "duration_ms",
            "explanation",
        ]
        read_only_fields = fields


class JobSerializer(RegisterSerializer):
    started_by = serializers.CharField(read_only=True)
    kind_label = serializers.CharField(read_only=True)
    state_label = serializers.CharField(read_only=True)
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    summary = serializers.CharField(source="summary_text", read_only=True)
    account = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="The Coze account a sync job concerns (null: none).",
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "kind_label",
            "account",
            "state",
            "state_label",
            "started_by",
            "via",
            "created_at",
            "run_after",
            "started_at",
            "finished_at",
            "attempts",
            "done",
            "total",
            "percent",
            "summary",
        ]
        read_only_fields = fields


class SyncStartSerializer(serializers.Serializer):
    account = serializers.ChoiceField(
        choices=[],
        required=False,
        help_text="The Coze account (a configured name) to sync; left out, every account.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = account_names()


class SyncStartedSerializer(JobSerializer):
    jobs = JobSerializer(many=True, help_text="The sync job of each account asked for.")

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "jobs"]
        read_only_fields = fields


class JobRowSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    outcome_label = serializers.CharField()
    text = serializers.CharField()
    logid = serializers.CharField()


class JobDetailSerializer(JobSerializer):
    results = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "results"]
        read_only_fields = fields

    @extend_schema_field(JobRowSerializer(many=True))
    def get_results(self, job):
        return job.rows


class WithdrawnSerializer(serializers.Serializer):
    """What a withdrawal did."""

    person = PersonDetailSerializer(help_text="The person now, consents withdrawn.")
    consents = serializers.ListField(
        child=serializers.IntegerField(), help_text="The ids of the consents withdrawn."
    )
    voiceprints = PersonVoiceprintSerializer(
        many=True, help_text="Those whose deletion on Coze was asked for (the job does it)."
    )
    job = JobSerializer(
        allow_null=True, help_text="The deletions run that deletes them (null: none to delete)."
    )


class UsageSerializer(serializers.Serializer):
    used = serializers.IntegerField(help_text="Groups held plus creations without an outcome.")
    held = serializers.IntegerField(help_text="Active groups in the register.")
    pending = serializers.IntegerField(help_text="Creations under way or without an answer.")
    unassigned = serializers.IntegerField(help_text="Active groups serving no device.")
    limit = serializers.IntegerField(
        help_text="The group quota (COZE_GROUP_QUOTA, COZE_<NAME>_GROUP_QUOTA; in total: the sum)."
    )
    free = serializers.IntegerField()
    percent = serializers.IntegerField()
    level = serializers.ChoiceField(choices=["ok", "warning", "full"])
    remote_total = serializers.IntegerField(
        allow_null=True, help_text="Coze's own count at the last sync."
    )
    synced_at = serializers.DateTimeField(allow_null=True)


class AccountUsageSerializer(UsageSerializer):
    account = serializers.CharField(help_text="The Coze account's name.")


class QuotaSerializer(UsageSerializer):
    """The quota across every Coze account (with one: its own), and each account's."""

    accounts = AccountUsageSerializer(many=True)


class CozeAnswerSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True, help_text="Coze's code (0 is success).")
    msg = serializers.CharField(help_text="Coze's own message.")
    logid = serializers.CharField(help_text="Coze's x-tt-logid: quote it to Coze's support.")
    http_status = serializers.IntegerField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    """Every error's shape (groups.api.errors)."""

    code = serializers.CharField(help_text="A stable code, e.g. quota_full, invalid, not_found.")
    message = serializers.CharField(help_text="What happened, in the requested language.")
    coze = CozeAnswerSerializer(required=False, help_text="What Coze answered, when it did.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Each invalid field's problems (code `invalid`).",
    )
    codes = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="The same problems as stable codes (code `invalid`), e.g. `required`, "
        "`unique`, `invalid_choice`, `max_length`; an enrollment's audio: `not_audio`, "
        "`too_large_upload`, `too_long`, `silent`, `clipped`, `too_short`, `too_large`.",
    )
