"""The dashboard's figures about voiceprints (nobody vouching, keeping dates coming) as
their definitions say, on the benchmark's data in small: withdrawn, expired and renewed
consents, imported voiceprints with no person, deleted ones."""

from datetime import timedelta

from django.utils import timezone

from groups.models import Voiceprint


def build_small_account(coze_user=("7484523878849822754", "bench")):
    from bench import dataset

    return dataset.build(coze_user=coze_user, **dataset.sizes(0.02))


def test_unvouched_voiceprints_are_those_with_no_person_or_no_consent_in_force(db):
    build_small_account()
    imported = Voiceprint.objects.active().filter(group__state="active").order_by("pk").first()
    Voiceprint.objects.filter(pk=imported.pk).update(person=None, consent=None)
    today = timezone.localdate()
    voiceprints = Voiceprint.objects.active().filter(group__state="active")
    expected = {
        v.pk
        for v in voiceprints.select_related("person").prefetch_related("person__consents")
        if v.person is None or not any(c.in_force(today) for c in v.person.consents.all())
    }
    assert expected  # the data set has some of each kind
    assert Voiceprint.objects.filter(person=None, pk__in=expected).exists()
    assert Voiceprint.objects.exclude(person=None).filter(pk__in=expected).exists()
    assert set(Voiceprint.objects.unvouched().values_list("pk", flat=True)) == expected


def test_expiring_voiceprints_are_those_whose_earlier_date_comes_soonest_first(db):
    build_small_account()
    # A few with a date of their own earlier than their consent's, or none of their own.
    first, second, third = Voiceprint.objects.active().exclude(consent=None).order_by("pk")[:3]
    soon = timezone.localdate() + timedelta(days=3)
    Voiceprint.objects.filter(pk=first.pk).update(keep_until=soon)
    Voiceprint.objects.filter(pk=second.pk).update(keep_until=None)
    Voiceprint.objects.filter(pk=third.pk).update(deletion_requested_at=timezone.now())

    for days in (-30, 0, 30, 400):
        until = timezone.localdate() + timedelta(days=days)
        expected = []
        for v in Voiceprint.objects.active().filter(deletion_requested_at=None):
            dates = [d for d in (v.keep_until, v.consent.keep_until if v.consent else None) if d]
            if dates and min(dates) <= until:
                expected.append((min(dates), v.pk))
        found = Voiceprint.objects.expiring(until)
        assert [(v.expires_on, v.pk) for v in found] == sorted(expected)
    assert expected and first.pk in [pk for _, pk in expected]


def test_a_devices_page_lists_the_active_voiceprints_of_its_active_groups(viewer_client):
    build_small_account()
    from groups.models import Device

    for device in Device.objects.order_by("pk")[:4]:
        expected = {
            v.pk
            for v in Voiceprint.objects.active().select_related("group")
            if v.group.device_id == device.pk and v.group.state == "active"
        }
        shown = viewer_client.get(f"/devices/{device.pk}/").context["voiceprints"]
        assert {v.pk for v in shown} == expected


def test_the_dashboard_counts_them_all_and_lists_the_newest_ten(viewer_client):
    from tests import factories

    group = factories.group()
    made = [factories.voiceprint(group) for _ in range(12)]
    page = viewer_client.get("/")
    assert page.context["unvouched_count"] == 12 and page.context["unvouched_more"] == 2
    newest_first = sorted(made, key=lambda v: (v.created_at, v.pk), reverse=True)
    assert [v.pk for v in page.context["unvouched"]] == [v.pk for v in newest_first[:10]]
    assert page.context["unvouched"][0].group.name == group.name  # joined, no query a row
