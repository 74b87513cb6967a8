"""Speaker identification in a group, as the simulator answers it: the clip is checked by
the rules of an enrollment's audio (wav or pcm, 4 MB), then its voice is compared with
the voice kept of every voiceprint in the group (voices.py)."""

# As in api.py, every choice Coze does not document is marked [inf].

from . import voices
from .api import CODE_INVALID, Refusal
from .features import CODE_FILE_EMPTY, checked_audio, checked_group, int_field


def route(account, group_id, form):
    """Score a clip against the group's voiceprints: {"feature_score_list": [...]}."""
    group = checked_group(account, group_id)
    if form is None:
        # Coze's 4300 covers "Content-Type not multipart" [doc S2].
        raise Refusal(CODE_FILE_EMPTY, "no file: the body must be multipart/form-data")
    fields, files = form
    top_k = int_field(fields, "top_k", None)
    # [inf] Coze says only "the k best": 0 (or text) is an invalid parameter, and a k
    # beyond the group's voiceprints returns them all.
    if top_k is not None and top_k < 1:
        raise Refusal(CODE_INVALID, "invalid parameter: top_k must be a positive integer")
    audio_format, clip = checked_audio(fields, files, required=True)
    heard = voices.voice_of(clip, audio_format)
    # [inf] Every voiceprint of the group is scored, whoever made it; an empty group
    # answers an empty list (cozepy requires the key).
    scores = [_scored(feature, heard, clip) for feature in account.features_of(group["id"])]
    # [inf] Coze does not document the order: best first, as its top_k suggests (ties by
    # id, so an answer never changes between two calls).
    scores.sort(key=lambda item: (-item["score"], item["feature_id"]))
    return {"feature_score_list": scores[:top_k]}


def _scored(feature, heard, clip):
    voice = feature.get("voice")
    if heard is not None and voices.comparable(voice):
        score = voices.score(voice, heard)
    else:
        # A voiceprint made elsewhere (seeded: the simulator never heard its audio), one
        # enrolled from audio without voice, or a clip without voice: a low score that is
        # the same for the same clip, never a match.
        score = voices.unmatched_score(feature["id"], clip)
    return {
        "feature_id": feature["id"],
        "feature_name": feature["name"],
        "feature_desc": feature["desc"],
        "score": score,
    }
