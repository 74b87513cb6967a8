"""The ways a Coze call can fail, each carrying Coze's code, msg, HTTP status and logid."""

NOT_FOUND_CODE = 4200  # "resource not found": a wrong id, or not this account's
# Coze's rate limits, which a retry after a pause can pass: 4009 the system's request
# ceiling ("retry later"), 4020 the RPM peak; HTTP 429 says the same without a code.
RATE_LIMIT_CODES = frozenset({4009, 4020})
# The day's usage limit ("try again tomorrow"): no pause of seconds lifts it.
USAGE_LIMIT_CODE = 4008
# 4013 is Coze's "model error", not a rate limit, whatever some SDKs assume.
AUTH_CODE = 4100  # the token is not valid (any more): fixed in the settings, not per call
NO_PERMISSION_CODE = 4101  # not this item's maker (only they may change or delete it)
# Failures we name before anything is sent, because the id cannot be Coze's: no later try
# of the same call can pass.
NEVER_SENT = frozenset({"bad_id", "bad_voiceprint_id"})


class CozeError(Exception):
    """A Coze call that did not succeed.

    `msg` is Coze's own message when Coze sent one; when the failure is ours to name (no
    answer, not JSON ...), `reason` is its code (groups.wording.COZE_REASONS) and `msg`
    the same in English, for logs. `retry_safe` says whether the call may be sent again
    without harm (every call but a create, which could make a second group).
    """

    summary = "The Coze call failed"
    outcome = "error"

    def __init__(
        self,
        msg,
        *,
        code=None,
        http_status=None,
        logid="",
        duration_ms=0,
        reason=None,
        retry_safe=False,
        **values,
    ):
        super().__init__(msg)
        self.msg, self.code, self.http_status = msg, code, http_status
        self.logid, self.duration_ms = logid, duration_ms
        self.reason, self.retry_safe, self.values = reason, retry_safe, values

    @property
    def rate_limited(self):
        """Coze asked us to slow down for now (HTTP 429, 4009 or 4020): try again later."""
        if self.usage_limited:
            return False
        return self.http_status == 429 or self.code in RATE_LIMIT_CODES

    @property
    def usage_limited(self):
        """The account used up its calls for the day (4008): nothing passes until tomorrow."""
        return self.code == USAGE_LIMIT_CODE

    @property
    def worth_retrying(self):
        """Sending the same call again after a pause may succeed: Coze rate-limited a call
        that does no harm when sent twice. Never a create, never another failure."""
        return self.retry_safe and self.rate_limited

    @property
    def temporary(self):
        """The same call may pass later without anyone changing it: no answer, a server or
        transport failure, a rate or usage limit, or a token refused (fixed once in the
        settings, for every call). Not Coze's refusal of this call (a 4xx or a code), and
        not an id that cannot be Coze's."""
        token_refused = self.code == AUTH_CODE or self.http_status == 401
        if self.rate_limited or self.usage_limited or token_refused:
            return True
        return isinstance(self, CozeFailed | CozeNoAnswer) and self.reason not in NEVER_SENT

    @property
    def not_the_maker(self):
        """Coze says only the item's maker may do this (4101)."""
        return self.code == NO_PERMISSION_CODE

    @property
    def not_found(self):
        """Coze does not know the group (or, Coze says, it is not this account's)."""
        return self.code == NOT_FOUND_CODE

    @property
    def coze_msg(self):
        """Coze's own message ("" when the failure was named by us)."""
        return "" if self.reason else self.msg

    def sentence(self):
        """Why, in the reader's language: our reason, or Coze's msg as Coze wrote it."""
        from groups.wording import coze_reason

        return coze_reason(self.reason, self.values.get("seconds")) if self.reason else self.msg

    def __str__(self):
        details = [f"code {self.code}"] if self.code is not None else []
        if self.http_status not in (None, 200):
            details.append(f"HTTP {self.http_status}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{self.summary}: {self.msg}{suffix}"


class CozeRefused(CozeError):
    """Coze answered and said no: a non-zero code, or an HTTP 4xx."""

    summary = "Coze refused the request"
    outcome = "refused"


class CozeFailed(CozeError):
    """The call failed: HTTP 5xx, an answer that is not Coze's JSON, or no connection."""

    summary = "The Coze call failed"
    outcome = "failed"


class CozeNoAnswer(CozeError):
    """The request was sent but no answer came back: Coze may or may not have acted."""

    summary = "Coze did not answer, so the change may or may not have been made"
    outcome = "no_answer"
