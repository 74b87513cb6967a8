"""What text vpadmin accepts in the fields that name things (devices, groups): visible
characters only, and the one canonical spelling of a device's serial.

A serial is the device's own identifier as printed on it, so the ways of typing the same
label are one serial: NFKC-normalised (full-width `ＳＥＲ-００１` is `SER-001`), trimmed,
upper-case (`ser-001` is `SER-001`), with no whitespace, control or invisible character
inside. The database holds serials only in that form (migration 0011 adds a check).
"""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ZERO_WIDTH_JOINER = "\u200d"
VARIATION_SELECTOR_16 = "\ufe0f"  # "show as emoji"
BLACK_FLAG = "\U0001f3f4"  # the base of the subdivision flags (England, Scotland, Wales)
TAGS = range(0xE0020, 0xE0080)  # the letters and end of a subdivision flag's tag sequence
# Not in category Cf, yet they show nothing: Hangul fillers, the braille blank, the
# combining grapheme joiner, the Mongolian free variation selectors and Khmer inherent vowels.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180b\u180c\u180d\u180f\u17b4\u17b5")


def invisible_character(text):
    """The first character of `text` that is invisible or changes the text's direction
    (category Cf: zero-width space, right-to-left override, word joiner, BOM, soft hyphen
    ...; and the blanks above), or None. The joiners inside an emoji stay allowed."""
    for index, char in enumerate(text):
        if char in BLANKS:
            return char
        if unicodedata.category(char) != "Cf":
            continue
        if char == ZERO_WIDTH_JOINER and _joins_emoji(text, index):
            continue
        if ord(char) in TAGS and _in_flag(text, index):
            continue
        return char
    return None


def _joins_emoji(text, index):
    """A ZWJ between two pictographs (👩‍💻, 👨‍👩‍👧, 🏳️‍🌈) draws one emoji: it is seen."""
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if before == VARIATION_SELECTOR_16 and index >= 2:
        before = text[index - 2]
    return _pictograph(before) and _pictograph(after)


def _pictograph(char):
    return bool(char) and (unicodedata.category(char) == "So" or 0x1F3FB <= ord(char) <= 0x1F3FF)


def _in_flag(text, index):
    while index > 0 and ord(text[index - 1]) in TAGS:
        index -= 1
    return index > 0 and text[index - 1] == BLACK_FLAG


def reject_control_characters(value):
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        raise ValidationError(
            _("Control characters (such as line breaks or tabs) are not allowed."),
            code="control_character",
        )


def reject_control_characters_but_line_breaks(value):
    """For text on several lines (notes, a consent's purpose): line breaks and tabs pass."""
    if any(
        unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value if char not in "\r\n\t"
    ):
        raise ValidationError(
            _("Control characters are not allowed (line breaks are)."),
            code="control_character",
        )


def reject_invisible_characters(value):
    char = invisible_character(value)
    if char is not None:
        raise ValidationError(
            _(
                "Invisible or direction-changing characters are not allowed (found "
                "%(character)s, such as a zero-width space or a right-to-left mark): "
                "retype the text rather than pasting it."
            ),
            code="invisible_character",
            params={"character": f"U+{ord(char):04X}"},
        )


def canonical_serial(text):
    """The one spelling of a serial: NFKC, trimmed, upper-case (see the module's doc)."""
    text = unicodedata.normalize("NFKC", text).strip().upper()
    return unicodedata.normalize("NFKC", text)  # upper() can decompose (ǰ → J̌)


def reject_spaces(value):
    if any(char.isspace() for char in value):
        raise ValidationError(
            _("A serial has no spaces: type it as printed on the device, without spaces."),
            code="invalid",
        )


class SerialFormField(forms.CharField):
    """A serial as typed, read in its canonical form: the checks (length, spaces, visible
    characters) and the uniqueness of the register apply to what will be stored."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators += [reject_control_characters, reject_invisible_characters, reject_spaces]

    def to_python(self, value):
        value = super().to_python(value)
        # As typed, so the message names the character the person typed or pasted.
        reject_control_characters(value)
        reject_invisible_characters(value)
        return canonical_serial(value)
