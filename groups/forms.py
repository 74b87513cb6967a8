"""Forms, validated with Coze's own limits before anything is sent."""

import unicodedata

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from .models import DESC_MAX, NAME_MAX, Device, new_submission_id


def reject_control_characters(value):
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValidationError(
            _("Control characters (such as line breaks or tabs) are not allowed."),
            code="control_character",
        )


class DeviceForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = ["name", "serial", "location", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "serial", "location"):
            self.fields[name].validators.append(reject_control_characters)


class GroupFieldsForm(forms.Form):
    """Name, description and device of a voiceprint group (Coze counts in characters)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        validators=[reject_control_characters],
        help_text=_("1 to 20 characters, e.g. “living room speaker”."),
    )
    desc = forms.CharField(
        label=_("Description"),
        max_length=DESC_MAX,
        required=False,
        validators=[reject_control_characters],
        help_text=_("Optional, at most 500 characters, on one line."),
    )
    device = forms.ModelChoiceField(
        label=_("Device"),
        queryset=Device.objects.only("id", "name", "serial"),
        empty_label=_("Choose a device"),
        error_messages={"invalid_choice": _("That device does not exist.")},
    )


class GroupForm(GroupFieldsForm):
    """Creation: one token per rendered form, so a resent form creates nothing new."""

    submission = forms.UUIDField(widget=forms.HiddenInput, initial=new_submission_id)


class GroupEditForm(GroupFieldsForm):
    """Editing: name and desc change on Coze; the device is ours alone and may be none."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].required = False
        self.fields["device"].empty_label = _("— unassigned —")


class UsernameLengthChecked:
    """Checks the username's length before anything is looked up: Django's sign-in forms
    set its max_length without a validator, so a longer name would reach the throttling's
    records (and PostgreSQL would refuse it there)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class SignInForm(UsernameLengthChecked, AuthenticationForm):
    pass
