"""Lists of rows on a page: paging (one cheap query even deep in a log without end), and
sorting by a column named in the query string (filters are in groups/filtersets.py)."""

from functools import lru_cache
from urllib.parse import quote

from django.core.paginator import Paginator
from django.urls import get_script_prefix, get_urlconf, reverse

PAGE_SIZE = 50
_AN_ID = "987654321987654321"  # stands for the id in a reversed URL; no real path holds it


def page_of(request, queryset, paginator=Paginator):
    return paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


class DeferredJoinPaginator(Paginator):
    """Pages of a long list (the audit log, which grows without end; the people, whose
    rows carry figures computed per row) in one query as cheap on the last page as on the
    first: the page's keys are chosen by a subquery that reads the order's index alone
    (WHERE id IN (SELECT id ... LIMIT 50 OFFSET n)), so rows skipped by OFFSET are never
    read from the table nor given their figures; and past the middle, keys are counted
    from the other end (the reverse order, reversed back), so OFFSET never skips more
    than half."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = self.object_list.prefetch_related(None).values("pk")
        if bottom > self.count - top:
            keys = keys.reverse()[self.count - top : self.count - bottom]
        else:
            keys = keys[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


def sort_by(request, queryset, columns, default):
    """Order by the `sort` parameter (a column name, `-` for descending) if it names one of
    `columns` ({name: ordering fields}, each a field's name or a function giving an
    expression: built only when the list is sorted by it); returns the queryset and, per
    column, the `sort` value its header links to (the other direction when it is the
    current one) and its state."""
    sort = request.GET.get("sort", default)
    name = sort.removeprefix("-")
    if name not in columns:
        sort, name = default, default.removeprefix("-")
    descending = sort.startswith("-")
    fields = [_ordering(field, descending) for field in columns[name]]
    links = {}
    for column in columns:
        state = ("descending" if descending else "ascending") if column == name else ""
        links[column] = {"sort": f"-{column}" if state == "ascending" else column, "state": state}
    return queryset.order_by(*fields, "-pk" if descending else "pk"), links


def _ordering(field, descending):
    if callable(field):
        expression = field()
        return expression.desc() if descending else expression.asc()
    return f"-{field}" if descending else field


def url_of_id(name):
    """A function of an id giving the URL of pattern `name` (with one id), reversed once per
    URL conf and script prefix: a list of 50 rows with a few links each would otherwise
    reverse hundreds of times (about 10 µs each)."""
    url = _reversed(name, get_urlconf(), get_script_prefix())
    return lambda pk: url.replace(_AN_ID, quote(str(pk), safe=""))


@lru_cache(maxsize=64)
def _reversed(name, urlconf, prefix):
    return reverse(name, args=[_AN_ID], urlconf=urlconf)
