"""Forms, validated with Coze's own limits before anything is sent. Every text that names
something is trimmed and holds visible characters only (groups.text)."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from .models import DESC_MAX, NAME_MAX, Device, new_submission_id
from .text import reject_control_characters, reject_invisible_characters

VISIBLE_ON_ONE_LINE = [reject_control_characters, reject_invisible_characters]


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
        fields = ["name", "serial", "location", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
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


class GroupForm(GroupFieldsForm):
    """Creation: one token per rendered form, so a resent form creates nothing new."""

    submission = forms.UUIDField(widget=forms.HiddenInput, initial=new_submission_id)


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


class AdminSignInForm(UsernameLengthChecked, AdminAuthenticationForm):
    pass
