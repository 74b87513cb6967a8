"""What the API reads and writes. Input is checked by the pages' own forms (groups.forms),
so the API accepts exactly what the pages accept, with the same messages; output is the
register's rows, with texts (an audit row's explanation, a job's summary) in the reader's
language."""

from django.core.validators import MaxLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..forms import DeviceForm, GroupEditForm, GroupFieldsForm
from ..models import DESC_MAX, NAME_MAX, AuditEntry, Device, Job, VoiceprintGroup


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
            raise serializers.ValidationError(
                {
                    field: [error["message"] for error in errors]
                    for field, errors in self.form.errors.get_json_data().items()
                }
            )
        return {name: self.form.cleaned_data[name] for name in self.form.fields}


class FormText(serializers.CharField):
    """Text whose limit the schema documents and the form checks (after trimming, with
    the pages' message), not DRF."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]


def text(max_length, **kwargs):
    kwargs.setdefault("allow_blank", True)
    return FormText(trim_whitespace=False, max_length=max_length, **kwargs)


class DeviceSerializer(FormChecked, serializers.ModelSerializer):
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

    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "serial",
            "location",
            "notes",
            "identify_threshold",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

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


class GroupSerializer(serializers.ModelSerializer):
    creator = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = VoiceprintGroup
        fields = [
            "id",
            "coze_id",
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

    form_class = GroupFieldsForm
    name = text(NAME_MAX, allow_blank=False)
    desc = text(DESC_MAX, required=False, default="")
    device = serializers.IntegerField(min_value=1, help_text="The device's id.")


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


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)
    action_label = serializers.CharField(read_only=True)
    outcome_label = serializers.CharField(read_only=True)
    explanation = serializers.CharField(
        read_only=True, help_text="What the row says, in the reader's language."
    )
    coze_code = serializers.IntegerField(read_only=True, allow_null=True)

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


class JobSerializer(serializers.ModelSerializer):
    started_by = serializers.CharField(read_only=True)
    kind_label = serializers.CharField(read_only=True)
    state_label = serializers.CharField(read_only=True)
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    summary = serializers.CharField(source="summary_text", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "kind_label",
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


class QuotaSerializer(serializers.Serializer):
    used = serializers.IntegerField(help_text="Groups held plus creations without an outcome.")
    held = serializers.IntegerField(help_text="Active groups in the register.")
    pending = serializers.IntegerField(help_text="Creations under way or without an answer.")
    unassigned = serializers.IntegerField(help_text="Active groups serving no device.")
    limit = serializers.IntegerField(help_text="COZE_GROUP_QUOTA.")
    free = serializers.IntegerField()
    percent = serializers.IntegerField()
    level = serializers.ChoiceField(choices=["ok", "warning", "full"])
    remote_total = serializers.IntegerField(
        allow_null=True, help_text="Coze's own count at the last sync."
    )
    synced_at = serializers.DateTimeField(allow_null=True)


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
