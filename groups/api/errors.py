"""Every API error as one JSON shape: `{"code", "message", "coze"?, "fields"?, "codes"?}`. A
stable code (the services' own, from groups.services.messages, or DRF's), a message in the
requested language, Coze's code, msg, logid and HTTP status when Coze answered, and each
field's problems when the input was invalid: in words (`fields`) and as the forms' stable
codes (`codes`: e.g. an enrollment's audio `too_short`). Never a stack trace."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from .. import coze
from ..services import messages as says

# The HTTP status of each refusal or failure a service reports (by its stable code).
STATUS = {
    "coze_refused": status.HTTP_502_BAD_GATEWAY,
    "not_registered": status.HTTP_502_BAD_GATEWAY,
    "coze_no_answer": status.HTTP_504_GATEWAY_TIMEOUT,
    "coze_rate_limited": status.HTTP_503_SERVICE_UNAVAILABLE,
    "coze_usage_limited": status.HTTP_503_SERVICE_UNAVAILABLE,
    "device_gone": status.HTTP_404_NOT_FOUND,
}
# DRF's own errors, by their class: the codes the API documents.
CODES = [
    (exceptions.ValidationError, "invalid"),
    (exceptions.ParseError, "invalid"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.NotFound, "not_found"),
    (exceptions.Throttled, "throttled"),
]


class ServiceRefused(exceptions.APIException):
    """A service's refusal or failure, said as groups.services.messages says it."""

    def __init__(self, message, *, error=None, status_code=None):
        super().__init__(detail=message.text, code=message.code)
        self.message = message
        self.coze = error if isinstance(error, coze.CozeError) else None
        self.status_code = status_code or STATUS.get(message.code, status.HTTP_409_CONFLICT)


def refused(error, doing=""):
    """The ServiceRefused for a service's error (raised while `doing` what)."""
    return ServiceRefused(says.about(error, doing), error=error)


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a bug, which Django reports as a 500
    response.data = body(exc)
    return response


def body(exc):
    """The JSON of an API error."""
    if isinstance(exc, ServiceRefused):
        data = {"code": exc.message.code, "message": exc.message.text}
        if exc.coze is not None and not isinstance(exc.coze, coze.CozeNoAnswer):
            data["coze"] = {
                "code": exc.coze.code,
                "msg": exc.coze.coze_msg,
                "logid": exc.coze.logid,
                "http_status": exc.coze.http_status,
            }
        return data
    code = next((code for kind, code in CODES if isinstance(exc, kind)), None)
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _("The request is not valid: see each field's problems.")
        codes = exc.get_codes()
        codes = codes if isinstance(codes, dict) else {"non_field_errors": codes}
        return {"code": code, "message": message, "fields": fields, "codes": codes}
    if code is None:
        detail_code = getattr(exc.detail, "code", None)
        code = detail_code if isinstance(detail_code, str) else exc.default_code
    return {"code": code, "message": str(exc.detail)}


def is_api(request):
    return request.path_info.startswith("/api/")


def page_not_found(request, exception):
    """handler404: an address under /api/ that names nothing (`/api/people/0.5/withdraw/`,
    `/api/nothing/`) answers the API's JSON 404, as an object that does not exist does;
    everywhere else, the page."""
    if is_api(request):
        return JsonResponse(body(exceptions.NotFound()), status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: a bug under /api/ answers JSON (`server_error`), never the page; the
    error itself goes to the log, as every 500 does."""
    if is_api(request):
        error = exceptions.APIException()
        return JsonResponse(
            {"code": "server_error", "message": str(error.detail)},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return defaults.server_error(request)
