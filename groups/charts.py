"""Small server-rendered SVG charts: the views compute geometry, templates only draw it."""

from datetime import datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import AuditEntry, VoiceprintGroup

WIDTH, HEIGHT = 900, 120  # the plot area, in SVG units
OUTCOMES = [  # stacked bottom to top
    AuditEntry.Outcome.SUCCESS,
    AuditEntry.Outcome.REFUSED,
    AuditEntry.Outcome.FAILURE,
    AuditEntry.Outcome.UNKNOWN,
]
COZE_ACTIONS = [
    AuditEntry.Action.GROUP_CREATE,
    AuditEntry.Action.GROUP_UPDATE,
    AuditEntry.Action.GROUP_DELETE,
    AuditEntry.Action.GROUP_SYNC,
]


def _days(count):
    last = timezone.localdate()
    first = last - timedelta(days=count - 1)
    return first, last, timezone.make_aware(datetime.combine(first, time.min))


def _bars(first, count, series, peak):
    """Stacked bars: series is [(name, {day: n})]; returns one dict per day."""
    step = WIDTH / count
    bars = []
    for index in range(count):
        day = first + timedelta(days=index)
        bottom, parts, total = HEIGHT, [], 0
        for name, per_day in series:
            n = per_day.get(day, 0)
            height = round(n * HEIGHT / peak, 1) if peak else 0
            if n:
                bottom -= height
                parts.append({"name": name, "y": round(bottom, 1), "h": height, "n": n})
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
    per_day = dict(
        VoiceprintGroup.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    peak = max(per_day.values(), default=0)
    return _chart(first, last, _bars(first, days, [("created", per_day)], peak), peak)


def coze_outcomes(days=30):
    """Outcomes of Coze operations per day over the last `days` days, stacked."""
    first, last, start = _days(days)
    per_outcome = {outcome: {} for outcome in OUTCOMES}
    rows = (
        AuditEntry.objects.filter(
            created_at__gte=start, action__in=COZE_ACTIONS, outcome__in=OUTCOMES
        )
        .annotate(day=TruncDate("created_at"))
        .values("day", "outcome")
        .annotate(n=Count("id"))
        .values_list("day", "outcome", "n")
    )
    for day, outcome, n in rows:
        per_outcome[outcome][day] = n
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
