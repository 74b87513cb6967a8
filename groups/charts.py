"""Small server-rendered SVG charts: the views compute geometry, templates only draw it."""

from datetime import datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, Func, IntegerField
from django.utils import timezone
from django.utils.formats import date_format, number_format

from .models import AuditEntry, VoiceprintGroup

WIDTH, HEIGHT = 900, 120  # the plot area, in SVG units
CLOSED_DAY_SECONDS = 3600  # how long a day long over keeps its counts in the cache
# Stacked bottom to top. `refused` is left out: a refusal is stopped by vpadmin (form,
# quota, permission) before any call, so it is no Coze operation.
OUTCOMES = [
    AuditEntry.Outcome.SUCCESS,
    AuditEntry.Outcome.FAILURE,
    AuditEntry.Outcome.UNKNOWN,
]
COZE_ACTIONS = [
    AuditEntry.Action.GROUP_CREATE,
    AuditEntry.Action.GROUP_UPDATE,
    AuditEntry.Action.GROUP_DELETE,
    AuditEntry.Action.GROUP_SYNC,
    AuditEntry.Action.GROUP_CHECK,
]


def _days(count):
    last = timezone.localdate()
    first = last - timedelta(days=count - 1)
    return first, last, _midnight(first)


def _midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


class DayNumber(Func):
    """The number of the local day (0 for `first`) on which a datetime falls, NULL after the
    last day. The database finds it by comparing with the midnights in between, as nested
    CASEs that halve the days at each step (a binary search: 5 comparisons for 30 days);
    TruncDate calls a Python function for every row on SQLite. The midnights come from the
    current time zone, so days of 23 or 25 hours are counted right."""

    output_field = IntegerField()

    def __init__(self, expression, first, count):
        super().__init__(expression)
        self.midnights = [_midnight(first + timedelta(days=n + 1)) for n in range(count)]

    def as_sql(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        value = connection.ops.adapt_datetimefield_value

        def days(low, high):  # the SQL and parameters choosing a day in low..high
            if low == high:
                return ("NULL" if low == len(self.midnights) else str(low)), []
            middle = (low + high) // 2  # on or before day `middle`: before its next midnight
            before, before_params = days(low, middle)
            after, after_params = days(middle + 1, high)
            sql = f"CASE WHEN {column} < %s THEN {before} ELSE {after} END"
            return sql, [
                *column_params,
                value(self.midnights[middle]),
                *before_params,
                *after_params,
            ]

        return days(0, len(self.midnights))


def _per_day(rows, first):
    """{day: n} from (day number, n) rows; rows after the last day (None) are left out."""
    return {first + timedelta(days=index): n for index, n in rows if index is not None}


def _bars(first, count, series, peak):
    """Stacked bars: series is [(name, {day: n})]; returns one dict per day."""
    step = WIDTH / count
    bars = []
    for index in range(count):
        day = first + timedelta(days=index)
        bottom, parts, total, label = HEIGHT, [], 0, None
        for name, per_day in series:
            n = per_day.get(day, 0)
            height = round(n * HEIGHT / peak, 1) if peak else 0
            if n:
                bottom -= height
                label = label or date_format(day, "DATE_FORMAT")  # once a day, if needed
                title = f"{label}: {number_format(n, force_grouping=True)}"
                parts.append(
                    {"name": name, "y": round(bottom, 1), "h": height, "n": n, "title": title}
                )
            total += n
        bars.append(
            {
                "x": round(index * step + step * 0.1, 1),
                "w": round(step * 0.8, 1),
                "day": day,
                "parts": parts,
                "total": total,
            }
        )
    return bars


def groups_created(days=90):
    """Groups created per day over the last `days` days."""
    first, last, start = _days(days)
    rows = (
        VoiceprintGroup.objects.filter(created_at__gte=start)
        .annotate(day=DayNumber("created_at", first, days))
        .values("day")
        .annotate(n=Count("*"))
        .values_list("day", "n")
    )
    per_day = _per_day(rows, first)
    peak = max(per_day.values(), default=0)
    return _chart(first, last, _bars(first, days, [("created", per_day)], peak), peak)


def coze_outcomes(days=30):
    """Outcomes of Coze operations per day over the last `days` days, stacked.

    A day long over (no attempt of it can still be under way) never changes: its counts are
    kept in the cache for CLOSED_DAY_SECONDS, so the dashboard reads the log's rows of today
    (and of any day not kept yet) only, not a month of a busy team's rows on every load."""
    first, last, _start = _days(days)
    per_outcome = {outcome: {} for outcome in OUTCOMES}
    closed_before = _closed_before()
    keys = {
        first + timedelta(days=n): _day_key(first + timedelta(days=n))
        for n in range(days)
        if first + timedelta(days=n) < closed_before
    }
    kept = cache.get_many(list(keys.values()))
    for day, key in keys.items():
        for outcome, n in kept.get(key, {}).items():
            per_outcome[outcome][day] = n
    missing = [day for day, key in keys.items() if key not in kept]
    read_from = min(missing, default=max(first, closed_before))
    read = _read_outcomes(read_from, (last - read_from).days + 1)
    for day, counts in read.items():
        for outcome, n in counts.items():
            per_outcome[outcome][day] = n
    cache.set_many({keys[day]: read.get(day, {}) for day in missing}, timeout=CLOSED_DAY_SECONDS)
    totals = {}
    for per_day in per_outcome.values():
        for day, n in per_day.items():
            totals[day] = totals.get(day, 0) + n
    peak = max(totals.values(), default=0)
    series = [(outcome, per_outcome[outcome]) for outcome in OUTCOMES]
    chart = _chart(first, last, _bars(first, days, series, peak), peak)
    chart["legend"] = [
        {"name": o, "label": AuditEntry.Outcome(o).label, "n": sum(per_outcome[o].values())}
        for o in OUTCOMES
    ]
    return chart


def _read_outcomes(first, count):
    """{day: {outcome: n}} of the Coze operations of `count` days from `first` on."""
    rows = (
        # Read from the index audit_action_time alone, on both databases: COUNT(*) needs no
        # column that is not in it, and the outcomes not charted are left out here, not in
        # SQL (with outcome IN (...), SQLite chose the outcome's index and read the table:
        # four times slower on a million rows).
        AuditEntry.objects.filter(created_at__gte=_midnight(first), action__in=COZE_ACTIONS)
        .annotate(day=DayNumber("created_at", first, count))
        .values("day", "outcome")
        .annotate(n=Count("*"))
        .values_list("day", "outcome", "n")
        .order_by()
    )
    read = {}
    for index, outcome, n in rows:
        if index is not None and outcome in OUTCOMES:
            read.setdefault(first + timedelta(days=index), {})[outcome] = n
    return read


def _closed_before():
    """The first day that may still change: today, or yesterday just after midnight, while
    an attempt made before midnight may still be under way."""
    from .services.attempts import pending_margin

    return timezone.localdate(timezone.now() - pending_margin())


def _day_key(day):
    return f"vpadmin:coze-outcomes:{timezone.get_current_timezone_name()}:{day.isoformat()}"


def _chart(first, last, bars, peak):
    return {
        "bars": bars,
        "width": WIDTH,
        "height": HEIGHT,
        "peak": peak,
        "first": first,
        "last": last,
        "total": sum(bar["total"] for bar in bars),
    }
