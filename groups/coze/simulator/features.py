"""Voiceprints (Coze's "features") in a group, as the simulator answers them: the
multipart form, the audio rules (wav or pcm, 4 MB), ten a group, only their creator may
change them."""

# As in api.py, every choice Coze does not document is marked [inf].

import io
import time
import wave
from email.message import Message

from . import voices
from .api import (
    CODE_INVALID,
    CODE_NO_PERMISSION,
    CODE_NOT_FOUND,
    CODE_QUOTA,
    Refusal,
    page_params,
)
from .state import DESC_MAX

FILE_MAX = 4 * 1024 * 1024  # "≤ 4 MB per file" [doc]; [inf] MB = MiB
FEATURES_MAX = 10  # voiceprints a group may hold [doc]
PCM_RATE, PCM_CHANNELS = 16000, 1  # pcm only 16 kHz, mono, 16-bit [doc]
# Coze's codes for an uploaded file [doc S2]; [inf] that voiceprint calls use them.
CODE_FILE_EMPTY = 4300  # no file (also: the body is not multipart)
CODE_FILE_MANY = 4301  # more than one file
CODE_FILE_TOO_LARGE = 4302
CODE_FILE_TYPE = 4303  # a type Coze does not take
CODE_FILE_INVALID = 4304
# [inf] The leading bytes of the containers people send most, all refused as a type (4303).
OTHER_CONTAINERS = (
    b"ID3",
    b"\xff\xfb",
    b"\xff\xf3",
    b"\xff\xf2",
    b"fLaC",
    b"OggS",
    b"\x1aE\xdf\xa3",
)


def parse_form(content_type, raw):
    """A multipart/form-data body as ({name: text}, [(name, filename, bytes)]); None
    when the body is not multipart."""
    header = Message()
    header["Content-Type"] = content_type or "text/plain"
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not boundary:
        return None
    fields, files = {}, []
    for chunk in raw.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break  # the closing boundary
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        part = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            part[name.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        content = content.removesuffix(b"\r\n")
        if filename is not None:
            files.append((name, filename, content))
        elif name is not None:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


def recorded(form):
    """What a request record keeps of a form: its text fields and, for each file, its
    name, size and audio format (never the audio)."""
    if form is None:
        return None, None
    fields, files = form
    kept = [
        {"name": name, "filename": filename, "size": len(data), **_wav_format(data)}
        for name, filename, data in files
    ]
    return dict(fields), kept


def route(account, method, group_id, feature_id, query, form):
    """One voiceprint call on `account`: the data to answer, or None (update, delete)."""
    group = checked_group(account, group_id, feature_id)
    if method == "GET":
        return _list(account, group_id, query)
    if method == "DELETE":
        account.delete_feature(_own(account, group_id, feature_id)["id"], int(time.time()))
        account.save()
        return None
    if form is None:
        # Coze's 4300 covers "Content-Type not multipart" [doc S2].
        raise Refusal(CODE_FILE_EMPTY, "no file: the body must be multipart/form-data")
    if method == "POST":
        return _create(account, group, form)
    _update(account, _own(account, group_id, feature_id), form)
    return None


def checked_group(account, group_id, feature_id=None):
    """The group a call names (and checks the voiceprint id it names, if any)."""
    for value, what in ((group_id, "group_id"), (feature_id, "feature_id")):
        if value is not None and not (value.isascii() and value.isdigit()):
            # [inf] As for groups: an id that is not a number is an invalid parameter.
            raise Refusal(CODE_INVALID, f"invalid parameter: {what} must be a number")
    group = account.groups.get(group_id)
    if group is None:
        raise Refusal(CODE_NOT_FOUND, f"voiceprint group not found: {group_id}")
    return group


def _create(account, group, form):
    fields, files = form
    name, desc = _text(fields, "name", required=True), _text(fields, "desc")
    audio_format, data = checked_audio(fields, files, required=True)
    # [inf] Coze documents the limit of ten, not its code: the group quota's.
    if len(account.features_of(group["id"])) >= FEATURES_MAX:
        raise Refusal(
            CODE_QUOTA,
            f"voiceprint quota exceeded: a group may hold at most {FEATURES_MAX} voiceprints",
        )
    # [inf] Any user of the team may add to a colleague's group: Coze limits only
    # updates and deletes to the creator.
    feature = account.add_feature(group["id"], name, desc or "", int(time.time()))
    enroll(feature, audio_format, data)
    account.save()
    return {"id": feature["id"]}


def _update(account, feature, form):
    fields, files = form
    changes = {
        key: value
        for key in ("name", "desc")
        if (value := _text(fields, key, required=key == "name" and "name" in fields)) is not None
    }
    audio = checked_audio(fields, files, required=False)
    # [inf] An update that changes nothing is accepted, changing nothing (as for groups).
    if changes or audio:
        now = int(time.time())
        feature.update(changes, updated_at=now)
        if audio:  # a new file replaces the voiceprint [doc]
            enroll(feature, *audio)
            feature["audio_url"] = account.audio_url(feature["id"], now)
        account.recount(feature["group_id"], now)
        account.save()


def _list(account, group_id, query):
    page_num, page_size = page_params(query)
    found = sorted(account.features_of(group_id), key=_newest_first)  # [inf] newest first
    page = found[(page_num - 1) * page_size : page_num * page_size]
    return {"total": len(found), "items": [account.feature_item(item) for item in page]}


def _own(account, group_id, feature_id):
    """The voiceprint, if it is in the group and the token's user made it (Coze: only
    its creator may update or delete it)."""
    feature = account.features.get(feature_id)
    if feature is None or feature["group_id"] != group_id:
        raise Refusal(CODE_NOT_FOUND, f"voiceprint not found: {feature_id}")
    if not account.made_by_user(feature):
        # [inf] Coze documents no code for a non-creator's update or delete: 4101.
        raise Refusal(
            CODE_NO_PERMISSION,
            "no permission: only the voiceprint's creator may change or delete it",
        )
    return feature


def _text(fields, key, *, required=False):
    value = fields.get(key)
    if required and not value:
        raise Refusal(CODE_INVALID, f"invalid parameter: {key} is required")
    # [inf] Coze documents no length limits here: the simulator takes a group's desc limit.
    if value is not None and len(value) > DESC_MAX:
        raise Refusal(CODE_INVALID, f"invalid parameter: {key} is too long")
    return value


def enroll(feature, audio_format, data):
    """Keep what the simulator needs of a voiceprint's new audio: its format, and the
    voice in it (a few dozen numbers, see voices.py), never the audio itself."""
    feature["audio_format"] = audio_format
    # [inf] Coze documents no code for audio without a voice in it (silence, noise): it is
    # enrolled, with no voice to compare, and scores low against every clip.
    feature["voice"] = voices.voice_of(data, audio_format)


def checked_audio(fields, files, *, required):
    """The uploaded audio, checked against Coze's rules: (its format {"format",
    "sample_rate", "channels", "sample_width"}, its bytes); None when no file came and none
    is required."""
    rate, channels = int_field(fields, "sample_rate", PCM_RATE), int_field(fields, "channel", 1)
    if len(files) > 1:
        raise Refusal(CODE_FILE_MANY, "more than one file: send one recording")
    if not files or files[0][0] != "file":
        if not required and not files:
            return None
        raise Refusal(CODE_FILE_EMPTY, "no file: the form has no part named file")
    data = files[0][2]
    if not data:
        raise Refusal(CODE_FILE_EMPTY, "the file is empty")
    if len(data) > FILE_MAX:
        raise Refusal(CODE_FILE_TOO_LARGE, "the file is too large: at most 4 MB")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _checked_wav(data), data
    if data.startswith(OTHER_CONTAINERS) or data[4:8] == b"ftyp" or data[:4] == b"RIFF":
        raise Refusal(CODE_FILE_TYPE, "unsupported file type: only wav or pcm")
    # [inf] Anything else is taken for raw pcm, which must be 16 kHz mono 16-bit.
    if (rate, channels) != (PCM_RATE, PCM_CHANNELS):
        raise Refusal(CODE_FILE_TYPE, "unsupported pcm: only 16 kHz, mono, 16-bit")
    if len(data) % 2:
        raise Refusal(CODE_FILE_INVALID, "invalid pcm: 16-bit samples have an even length")
    return {"format": "pcm", "sample_rate": rate, "channels": channels, "sample_width": 2}, data


def _checked_wav(data):
    described = _wav_format(data)
    if not described:
        # [inf] A WAVE header the standard reader refuses (compressed, cut short): invalid.
        raise Refusal(CODE_FILE_INVALID, "invalid file: the wav header cannot be read")
    if described.pop("frames") == 0:
        raise Refusal(CODE_FILE_INVALID, "invalid file: the wav holds no audio")
    # [inf] Coze documents no sample rate or width for wav (the header carries them).
    return described


def _wav_format(data):
    """The WAV's format and number of frames, or {} when it is not one `wave` reads."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            return {
                "format": "wav",
                "sample_rate": wav.getframerate(),
                "channels": wav.getnchannels(),
                "sample_width": wav.getsampwidth(),
                "frames": wav.getnframes(),
            }
    except (wave.Error, EOFError, ValueError):
        return {}


def int_field(fields, key, default):
    value = fields.get(key)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()):
        raise Refusal(CODE_INVALID, f"invalid parameter: {key} must be a number")
    return int(value)


def _newest_first(feature):
    return -feature["created_at"], -int(feature["id"])
