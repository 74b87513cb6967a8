"""The dashboard, and the health check load balancers call."""

from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import charts, quota
from ..models import AuditEntry, Device, Job, Voiceprint
from .common import permission_required

Outcome = AuditEntry.Outcome
UNVOUCHED_SHOWN = 10  # voiceprints nobody vouched for, listed by name (all are counted)
EXPIRING_DAYS = 30  # how far ahead the voiceprints whose keeping date comes are shown
EXPIRING_SHOWN = 5


@permission_required("groups.view_voiceprintgroup")
def dashboard(request):
    usages = quota.usages()
    usage = usages.total if usages.several else usages.accounts[0]
    latest = list(AuditEntry.objects.all()[:10])
    # An unknown outcome found out later (by a sync or a lookup) is no longer a failure.
    # Each outcome's latest ten read by itself, newest first along its index, then merged:
    # with both outcomes in one query the database sorted every failure of the log.
    failed = AuditEntry.objects.filter(outcome=Outcome.FAILURE)[:10]
    unknown = AuditEntry.objects.filter(outcome=Outcome.UNKNOWN).unresolved()[:10]
    failures = _newest([*failed, *unknown])
    # The same for what waits: pending rows and unresolved creations read apart (as one
    # query with OR, PostgreSQL walked the whole log's time index: 0.5 s at a million rows).
    pending = AuditEntry.objects.filter(outcome=Outcome.PENDING)[:10]
    # The few open creations (their own table, which the database keeps), pending ones too.
    creations = AuditEntry.objects.unresolved_creations()[:10]
    waiting = _newest([*pending, *creations])
    # The devices of the tables in one query. Not joined: joined, the failures' ORDER BY
    # ... LIMIT 10 sorts every failure with its device (10 times slower on SQLite).
    prefetch_related_objects(latest + failures + waiting, "device")
    # Runs deferred to later (tomorrow's sweep, a retry after a pause) are not under way yet.
    under_way = Job.objects.filter(state__in=Job.UNDER_WAY).exclude(run_after__gt=timezone.now())
    # Each figure's keys read once (its subqueries run once, not for the count and again
    # for the rows shown), then the few rows shown by their keys.
    unvouched = list(Voiceprint.objects.unvouched().values_list("pk", flat=True))
    unvouched_count = len(unvouched)
    unvouched_shown = list(
        Voiceprint.objects.filter(pk__in=unvouched[:UNVOUCHED_SHOWN]).select_related("group")
    )
    today = timezone.localdate()
    expiring = Voiceprint.objects.expiring(today + timedelta(days=EXPIRING_DAYS))
    expiring = list(expiring.values_list("pk", flat=True))
    expiring_count = len(expiring)
    expiring_shown = list(
        Voiceprint.objects.filter(pk__in=expiring[:EXPIRING_SHOWN])
        .with_expiry()
        .select_related("person", "group__device")
        .order_by("expires_on", "pk")
    )
    for voiceprint in expiring_shown:
        voiceprint.overdue = voiceprint.expires_on < today  # the next sweep deletes it
    context = {
        "quota": usage,
        "usages": usages,
        "device_count": Device.objects.count(),
        "unassigned_count": usage.unassigned,
        "latest_entries": latest,
        "latest_failures": failures,
        "waiting": waiting,
        "outcomes": charts.coze_outcomes(days=30),
        "jobs_under_way": list(under_way.defer("params", "results")[:5]),
        "unvouched_count": unvouched_count,
        "unvouched": unvouched_shown,
        "unvouched_more": unvouched_count - len(unvouched_shown),
        "expiring_days": EXPIRING_DAYS,
        "expiring_count": expiring_count,
        "expiring": expiring_shown,
        "expiring_more": expiring_count - len(expiring_shown),
    }
    return render(request, "groups/dashboard.html", context)


def _newest(entries, n=10):
    """The newest `n` of `entries`, each once (in the log's order)."""
    unique = {entry.pk: entry for entry in entries}.values()
    return sorted(unique, key=lambda e: (e.created_at, e.pk), reverse=True)[:n]


@login_not_required
@never_cache
@require_safe  # HEAD too: load balancers check with it
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database error means "not healthy", never a 500 page
        return HttpResponse("database unreachable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
