"""The API's lists come in pages of `limit` rows (50 unless asked, at most 500) from `offset`."""

from rest_framework.pagination import LimitOffsetPagination


class Paging(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500
