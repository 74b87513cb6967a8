"""The API's lists come in pages of `limit` rows (50 unless asked, at most 500) from `offset`."""

from rest_framework.pagination import LimitOffsetPagination


class Paging(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class DeferredJoinPaging(Paging):
    """The long lists' paging (the audit log, which grows without end; the people, whose
    rows carry figures computed per row), as their pages do it (vpadmin.lists.
    DeferredJoinPaginator): the rows' keys are chosen by a subquery that reads the order's
    index alone (WHERE id IN (SELECT id ... LIMIT n OFFSET m)), from the nearer end, so an
    offset deep in the log skips keys, never rows, and never more than half of them. The
    list's order must end with its key (AuditEntry's and Person's do)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.count = self.get_count(queryset)
        self.offset = self.get_offset(request)
        if self.count == 0 or self.offset > self.count:
            return []
        bottom, top = self.offset, min(self.offset + self.limit, self.count)
        keys = queryset.prefetch_related(None).values("pk")
        if bottom > self.count - top:
            keys = keys.reverse()[self.count - top : self.count - bottom]
        else:
            keys = keys[bottom:top]
        return list(queryset.filter(pk__in=keys))
