"""The API's floor (bench/urls.py serves it at /bench/api-floor/): DRF's cheapest answer
under the API's own settings."""

from rest_framework.response import Response
from rest_framework.views import APIView


class ApiFloor(APIView):
    """The API's floor: the token looked up (groups.api.authentication), the role's
    permission checked (none needed here), the throttle counted, and `{}` as JSON."""

    required_permissions = {"GET": []}

    def get(self, request):
        return Response({})
