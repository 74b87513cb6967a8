"""Forms, validated with Coze's own limits before anything is sent. Every text that names
something is trimmed and holds visible characters only (groups.text)."""

from html import escape

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import audio, wording
from .coze.accounts import names as account_names
from .models import (
    DESC_MAX,
    FEATURES_MAX,
    NAME_MAX,
    PERSON_NAME_MAX,
    VOICEPRINT_NAME_MAX,
    Consent,
    Device,
    Person,
    VoiceprintGroup,
    new_submission_id,
)
from .models.people import default_keep_until
from .services import messages as says
from .services import people
from .text import (
    reject_control_characters,
    reject_control_characters_but_line_breaks,
    reject_invisible_characters,
)

VISIBLE_ON_ONE_LINE = [reject_control_characters, reject_invisible_characters]
ON_SEVERAL_LINES = [reject_control_characters_but_line_breaks, reject_invisible_characters]


class LimitsInCharacters:
    """Lengths are counted in characters, as Coze and the server count them. A browser
    applies `maxlength` in UTF-16 units (an emoji counts two, so 15 emoji were cut to 10):
    no field carries one; the help text says the limit, and the server checks it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("maxlength", None)
            field.widget.attrs.pop("minlength", None)


class DeviceForm(LimitsInCharacters, forms.ModelForm):
    """The serial is read in its canonical form (groups.text.SerialFormField), so a device
    typed another way (`ser-001`, `ＳＥＲ-００１`) is found already used."""

    class Meta:
        model = Device
        fields = ["name", "serial", "location", "notes", "identify_threshold"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"identify_threshold": _("Recognition threshold")}
        error_messages = {
            "identify_threshold": {
                code: _("Enter a whole number from 0 to 100.")
                for code in ("invalid", "min_value", "max_value")
            }
        }
        help_texts = {
            "identify_threshold": _(
                "A score at or above which the device recognises a person; Coze's real-time "
                "sessions use 40."
            ),
            "name": _("At most 100 characters, e.g. “Living room speaker”."),
            "serial": _(
                "The device's own identifier, as printed on it: at most 100 characters, no "
                "spaces. Letters are kept in upper case."
            ),
            "location": _("Optional, at most 200 characters."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "location"):
            self.fields[name].validators += VISIBLE_ON_ONE_LINE
        # Left out (a form or a client of before the threshold): the device keeps its own.
        self.fields["identify_threshold"].required = False

    def clean_identify_threshold(self):
        threshold = self.cleaned_data["identify_threshold"]
        return self.instance.identify_threshold if threshold is None else threshold


class GroupFieldsForm(LimitsInCharacters, forms.Form):
    """Name, description and device of a voiceprint group (Coze counts in characters)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        validators=VISIBLE_ON_ONE_LINE,
        help_text=_("1 to 20 characters, e.g. “living room speaker”."),
    )
    desc = forms.CharField(
        label=_("Description"),
        max_length=DESC_MAX,
        required=False,
        validators=VISIBLE_ON_ONE_LINE,
        help_text=_("Optional, at most 500 characters, on one line."),
    )
    device = forms.ModelChoiceField(
        label=_("Device"),
        queryset=Device.objects.only("id", "name", "serial"),
        empty_label=_("Choose a device"),
        error_messages={"invalid_choice": _("That device does not exist.")},
    )


class AccountChoice(forms.Form):
    """The Coze account of a new group for a device that has none yet (a configured
    account's name; blank: the one with the most free quota). A device that has one keeps
    it: another is refused."""

    account = forms.ChoiceField(
        label=_("Coze account"),
        required=False,
        help_text=_("For a device that has no group yet; a device that has one keeps its account."),
        error_messages={"invalid_choice": _("No Coze account of that name is configured.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = Device.objects.select_related("account").only(
            "id", "name", "serial", "account__name"
        )
        self.fields["account"].choices = [("", "")] + [(name, name) for name in account_names()]

    def clean(self):
        data = super().clean()
        device, account = data.get("device"), data.get("account")
        if device is not None and account and device.account_id:
            own = device.account.name
            if own != account:
                self.add_error(
                    "account",
                    forms.ValidationError(
                        _("This device is served from account %(account)s: its groups go there."),
                        code="other_account",
                        params={"account": own},
                    ),
                )
        return data


class GroupForm(AccountChoice, GroupFieldsForm):
    """Creation: one token per rendered form, so a resent form creates nothing new. With
    several Coze accounts, the account of a device that has none yet: the Operator's
    choice, or by default the one with the most free quota (`usages`: quota.usages())."""

    submission = forms.UUIDField(widget=forms.HiddenInput, initial=new_submission_id)

    def __init__(self, *args, usages=None, **kwargs):
        super().__init__(*args, **kwargs)
        if usages is None or not usages.several:
            del self.fields["account"]
            return
        best = usages.most_free
        self.fields["account"].choices = [
            ("", _("The most free (now %(account)s)") % {"account": best.account}),
            *[(usage.account, account_figures(usage)) for usage in usages.accounts],
        ]


class GroupCreateForm(AccountChoice, GroupFieldsForm):
    """The API's creation: the page's fields and its optional account."""


def account_figures(usage):
    """An account as the creation form offers it: "cn2: 1 of 2 free"."""
    return _("%(account)s: %(free)s of %(limit)s free") % {
        "account": usage.account,
        "free": usage.free,
        "limit": usage.limit,
    }


class GroupEditForm(GroupFieldsForm):
    """Editing: name and desc change on Coze; the device is ours alone and may be none."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].required = False
        self.fields["device"].empty_label = _("— unassigned —")


class UsernameLengthChecked(LimitsInCharacters):
    """Checks the username's length before anything is looked up: Django's sign-in forms
    set its max_length without a validator, so a longer name would reach the throttling's
    records (and PostgreSQL would refuse it there)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class SignInForm(UsernameLengthChecked, AuthenticationForm):
    pass


class PasswordField(forms.CharField):
    widget = forms.PasswordInput(attrs={"autocomplete": "new-password"})

    def __init__(self, **kwargs):
        super().__init__(strip=False, **kwargs)


class AccountForm(forms.Form):
    """Adding a person: username, role and a first password (they change it on /me/)."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    role = forms.ChoiceField(label=_("Role"))
    password = PasswordField(label=_("Password"), help_text=_("At least 8 characters."))

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles

    def clean_username(self):
        # As it will be stored (create_user normalises it), so the check is of that name.
        username = get_user_model().normalize_username(self.cleaned_data["username"])
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError(_("Someone has this username already."), code="unique")
        return username

    def clean(self):
        data = super().clean()
        if "password" in data:
            person = get_user_model()(username=data.get("username", ""))
            try:
                password_validation.validate_password(data["password"], person)
            except ValidationError as error:
                self.add_error("password", error)
        return data


class AccountChangeForm(forms.Form):
    """A person's role, and whether they may sign in."""

    role = forms.ChoiceField(label=_("Role"))
    is_active = forms.BooleanField(
        label=_("Active (may sign in)"),
        required=False,
        help_text=_("Deactivated people keep their history but can no longer sign in."),
    )

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles


class PasswordResetForm(forms.Form):
    """An Administrator sets someone's password (for a person who forgot theirs)."""

    password = PasswordField(label=_("New password"), help_text=_("At least 8 characters."))

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, self.person)
        return password


class MyPasswordForm(PasswordChangeForm):
    """Changing my own password: the current one, then the new one twice."""


class ApiTokenForm(LimitsInCharacters, forms.Form):
    """A new API token: what it is for, what it may do, how long it works."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        validators=VISIBLE_ON_ONE_LINE,
        help_text=_("What the token is for, e.g. “factory line 2”."),
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=[("read", _("read-only")), ("write", _("read-write"))],
        initial="read",
    )
    expires_days = forms.TypedChoiceField(
        label=_("Expires"),
        coerce=int,
        choices=[
            (0, _("never")),
            (30, _("in 30 days")),
            (90, _("in 90 days")),
            (365, _("in 365 days")),
        ],
        initial=90,
    )


class PersonForm(LimitsInCharacters, forms.ModelForm):
    """A person in the register: how the team knows them, its own reference, notes."""

    class Meta:
        model = Person
        fields = ["name", "reference", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"name": _("Name"), "reference": _("Reference"), "notes": _("Notes")}
        help_texts = {
            "name": _("How the team knows them, at most 100 characters; a pseudonym is fine."),
            "reference": _(
                "Optional: the team's own identifier for them, at most 100 characters. No two "
                "people share one."
            ),
            "notes": _("Optional, at most 2,000 characters: only what the team needs."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "reference"):
            self.fields[name].validators += VISIBLE_ON_ONE_LINE
        self.fields["notes"].validators += ON_SEVERAL_LINES

    def clean_reference(self):
        # Said on the field, as the model's conditional constraint would say it on the form.
        reference = self.cleaned_data["reference"]
        taken = Person.objects.filter(reference=reference).exclude(pk=self.instance.pk)
        if reference and taken.exists():
            raise ValidationError(
                Person._meta.get_field("reference").error_messages["unique"], code="unique"
            )
        return reference

    def validate_constraints(self):
        pass  # the reference is checked above, the database checks it again on save


def default_purpose():
    """The purpose a consent form starts with, in the reader's language."""
    return _(
        "Recognising your voice on our devices so that they can respond to you personally. "
        "Your voiceprint is kept until the date below and deleted when you withdraw consent."
    )


class DayInput(forms.DateInput):
    """The browser's date picker; it sends the day as YYYY-MM-DD."""

    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ConsentForm(LimitsInCharacters, forms.Form):
    """A consent as it was given: by whom, how, for what, when, and until when voiceprints
    may be kept (services.people.consent_problems has the rules)."""

    given_by = forms.ChoiceField(
        label=_("Given by"),
        choices=Consent.GivenBy.choices,
        initial=Consent.GivenBy.PERSON,
        widget=forms.RadioSelect,
    )
    guardian_name = forms.CharField(
        label=_("Guardian's name"),
        max_length=PERSON_NAME_MAX,
        required=False,
        validators=VISIBLE_ON_ONE_LINE,
        help_text=_("When a guardian gave it: who they are."),
    )
    guardian_relation = forms.CharField(
        label=_("Guardian's relation"),
        max_length=50,
        required=False,
        validators=VISIBLE_ON_ONE_LINE,
        help_text=_("When a guardian gave it: e.g. mother, father or legal guardian."),
    )
    method = forms.ChoiceField(
        label=_("How it was given"), choices=Consent.Method.choices, widget=forms.RadioSelect
    )
    purpose = forms.CharField(
        label=_("Purpose, as shown to them"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=ON_SEVERAL_LINES,
        help_text=_("What they agreed to, as they read or heard it: at most 2,000 characters."),
    )
    given_on = forms.DateField(label=_("Given on"), widget=DayInput())
    keep_until = forms.DateField(
        label=_("Voiceprints kept until"), required=False, widget=DayInput()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["given_on"].initial = today
        self.fields["purpose"].initial = default_purpose()
        self.fields["keep_until"].help_text = _(
            "Leave empty to keep them %(days)s days from the consent (until %(date)s for a "
            "consent given today). An earlier date if they asked for less; never later."
        ) % {
            "days": wording.shown(settings.VOICEPRINT_RETENTION_DAYS),
            "date": date_format(default_keep_until(today), "DATE_FORMAT"),
        }

    def clean(self):
        data = super().clean()
        if data.get("given_by") != Consent.GivenBy.GUARDIAN:
            data["guardian_name"] = data["guardian_relation"] = ""  # not asked, not kept
            self.errors.pop("guardian_name", None)
            self.errors.pop("guardian_relation", None)
        problems = people.consent_problems(
            given_by=data.get("given_by"),
            guardian_name=data.get("guardian_name", ""),
            guardian_relation=data.get("guardian_relation", ""),
            method=data.get("method"),
            purpose=data.get("purpose"),
            given_on=data.get("given_on"),
            keep_until=data.get("keep_until"),
        )
        for name, error in problems.items():
            if name not in self.errors:  # a field's own error says it first
                self.add_error(name, error)
        return data


class WithdrawalForm(LimitsInCharacters, forms.Form):
    """How a person asked to withdraw their consent, and a note if the team needs one."""

    withdrawal_method = forms.ChoiceField(
        label=_("How they asked"),
        choices=Consent.WithdrawalMethod.choices,
        widget=forms.RadioSelect,
    )
    withdrawal_note = forms.CharField(
        label=_("Note"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=ON_SEVERAL_LINES,
        help_text=_(
            "Optional, at most 2,000 characters: e.g. the letter's reference or who took the call."
        ),
    )


class AudioField(forms.FileField):
    """A recording, read whole and turned into what Coze accepts (groups.audio) while the
    form is checked: the cleaned value is an audio.Recording, never a file on disk."""

    widget = forms.FileInput(attrs={"accept": "audio/*,.wav,.flac,.mp3,.m4a,.aac,.ogg,.opus,.webm"})

    @sensitive_variables()  # the audio: never on an error page
    def clean(self, data, initial=None):
        uploaded = super().clean(data, initial)
        if not uploaded:
            return None
        if uploaded.size > audio.UPLOAD_MAX:
            error = audio.AudioRejected("too_large_upload", megabytes=audio.UPLOAD_MAX >> 20)
            raise ValidationError(says.audio_refused(error), code=error.code)
        try:
            return audio.prepare(uploaded.read())
        except audio.AudioRejected as error:
            raise ValidationError(says.audio_refused(error), code=error.code) from None


class AudioDropped:
    """`dropped`: the request was too large for Django to keep its file in memory, so the
    audio field arrives empty; it says so (code `too_large_upload`) rather than "required"."""

    def __init__(self, *args, dropped=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.dropped = dropped
        if dropped:
            self.fields["audio"].required = False  # clean_audio() says why it is missing

    def clean_audio(self):
        if self.dropped:
            refused = audio.AudioRejected("too_large_upload")
            raise ValidationError(says.audio_refused(refused), code=refused.code)
        return self.cleaned_data["audio"]


class VoiceprintFieldsForm(AudioDropped, LimitsInCharacters, forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=VOICEPRINT_NAME_MAX,
        required=False,
        validators=VISIBLE_ON_ONE_LINE,
        help_text=_("At most 20 characters; leave empty to use the person's name."),
    )
    desc = forms.CharField(
        label=_("Description"),
        max_length=DESC_MAX,
        required=False,
        validators=VISIBLE_ON_ONE_LINE,
        help_text=_("Optional, at most 500 characters, on one line."),
    )

    def name_or_persons(self, person):
        """The name typed, or else the person's, which must then fit Coze's limit."""
        name = self.cleaned_data.get("name")
        if name or person is None:
            return name
        if len(person.name) > VOICEPRINT_NAME_MAX:
            self.add_error(
                "name",
                ValidationError(
                    _("The person's name is longer than 20 characters: type a shorter one."),
                    code="max_length",
                ),
            )
        return person.name


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, person):
        return f"{person.name} ({person.reference})" if person.reference else person.name


class EnrollForm(VoiceprintFieldsForm):
    """Enrollment: whose voice, its name on Coze, and the audio (a file, or the browser's
    recording put into the same field). One token per rendered form."""

    field_order = ["person", "name", "desc", "audio"]
    person = PersonChoiceField(
        label=_("Person"),
        queryset=Person.objects.only("id", "name", "reference"),
        empty_label=_("Choose a person"),
        error_messages={"invalid_choice": _("That person does not exist.")},
    )
    audio = AudioField(
        label=_("Audio"),
        help_text=_(
            "A recording of the person alone, 10 to 30 seconds of natural speech: WAV, FLAC, "
            "MP3, M4A, OGG or WebM. It is converted for Coze and never stored."
        ),
    )
    submission = forms.UUIDField(widget=forms.HiddenInput, initial=new_submission_id)

    def clean(self):
        data = super().clean()
        data["name"] = self.name_or_persons(data.get("person"))
        return data


class VoiceprintEditForm(VoiceprintFieldsForm):
    """Rename, re-describe, re-enroll with new audio, or (for one imported without a
    person) say whose voice it is."""

    person = PersonChoiceField(
        label=_("Person"),
        queryset=Person.objects.only("id", "name", "reference"),
        required=False,
        empty_label=_("— unknown —"),
        help_text=_("Whose voice this is; they need a consent on record."),
        error_messages={"invalid_choice": _("That person does not exist.")},
    )
    audio = AudioField(
        label=_("New audio"),
        required=False,
        help_text=_("Optional: a new recording replaces the voiceprint on Coze."),
    )

    def __init__(self, *args, voiceprint, person_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True
        self.fields["name"].help_text = _("At most 20 characters.")
        if voiceprint.person_id:  # whose voice it is, once said, stays said
            del self.fields["person"]
        if person_only:  # made on Coze by someone else: only the register's facts change
            for name in ("name", "desc", "audio"):
                del self.fields[name]
            self.fields["person"].required = True


class LongSelect(forms.Select):
    """A select written out here: Django's Select renders each option through a template,
    about 0.1 ms each."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{escape(key)}"{" selected" if key in chosen else ""}>'
            f"{escape(label)}</option>"
            for key, label in ((str(key), str(label)) for key, label in self.choices)
        )
        attrs = self.build_attrs(self.attrs, {"name": name, **(attrs or {})})
        return format_html("<select{}>{}</select>", flatatt(attrs), mark_safe(options))  # noqa: S308


def tested_group_choices(groups):
    """(id, "group — device") of `groups` (a queryset), read as values, not as instances."""
    label, no_device = str(_("%(group)s — %(device)s")), str(_("no device"))
    for pk, name, device in groups.values_list("pk", "name", "device__name"):
        yield (pk, label % {"group": name, "device": device or no_device})


class TestedGroupField(forms.ModelChoiceField):
    """An active group, shown with its device: testing a device is testing its group. Any
    active group is accepted; only the few found for the page are offered (`offer()`), since
    a register holds thousands."""

    widget = LongSelect

    def offer(self, choices):
        """Offer `choices` ((id, label) pairs) after the empty choice."""
        self.widget.choices = [("", self.empty_label), *choices]


class IdentifyForm(AudioDropped, forms.Form):
    """A speaker identification test: which group, the clip (a file, or the browser's
    recording put into the same field), and optionally how many results."""

    group = TestedGroupField(
        label=_("Group"),
        queryset=VoiceprintGroup.objects.active().select_related("device"),
        empty_label=_("Choose a group (device)"),
        help_text=_("The device's group of voiceprints the clip is compared with."),
        error_messages={
            "required": _("Choose the group to test."),
            "invalid_choice": _("That group does not exist, or is no longer on Coze."),
        },
    )
    audio = AudioField(
        label=_("Audio"),
        help_text=_(
            "One person speaking, a few seconds or more (as they would talk to the device): "
            "WAV, FLAC, MP3, M4A, OGG or WebM. It is converted for Coze and never stored."
        ),
    )
    top_k = forms.IntegerField(
        label=_("Number of results"),
        required=False,
        min_value=1,
        max_value=FEATURES_MAX,
        help_text=_("Optional: only the best 1 to 10; leave empty to see every voiceprint."),
        error_messages={
            code: _("Enter a whole number from 1 to 10, or leave it empty.")
            for code in ("invalid", "min_value", "max_value")
        },
    )

    def __init__(self, *args, offered=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].offer(offered)


class ImportUploadForm(forms.Form):
    """The CSV of devices an import reads (groups.devices_csv says what it may hold)."""

    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("One row per device, with the columns above."),
    )


class ImportDeviceForm(DeviceForm):
    """A device row of an import, checked by the device page's form. Whether its serial is
    someone's is known from one lookup of every serial of the file, and the serial field
    gives the canonical form the database's check asks for, so the model's two queries a
    row (its uniqueness, its check constraint) are left out."""

    def _get_validation_exclusions(self):
        return {*super()._get_validation_exclusions(), "serial"}

    def validate_unique(self):
        pass


class ImportGroupForm(GroupFieldsForm):
    """A group row of an import, checked by the group page's fields; its device is the row's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["device"]
