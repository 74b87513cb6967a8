"""The database keeps until when each person's consents allow keeping their voiceprints
(migration 0031): whatever writes people and consents, the table says what asking each
person's consents says."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from groups.models import Consent, ConsentInForce, Person

from .. import factories


def kept():
    return dict(ConsentInForce.objects.values_list("person_id", "until"))


def asked(today):
    """The rule, asked of each person's consents as before the table."""
    in_force = Consent.objects.in_force(today).filter(person=OuterRef("pk"))
    return set(Person.objects.filter(~Exists(in_force)).values_list("pk", flat=True))


def lapsed(today):
    return set(ConsentInForce.lapsed(today).values_list("person_id", flat=True))


def test_it_follows_new_people_consents_withdrawals_and_rollbacks(db):
    today = timezone.localdate()
    nobody, ann, bob = (factories.enrollee(name) for name in ("nobody", "ann", "bob"))
    assert kept() == {nobody.pk: None, ann.pk: None, bob.pk: None}

    short = factories.consent_for(ann, given_on=today - timedelta(days=10), keep_until=today)
    long = factories.consent_for(ann, given_on=today - timedelta(days=5))
    expired = factories.consent_for(
        bob, given_on=today - timedelta(days=30), keep_until=today - timedelta(days=1)
    )
    assert kept()[ann.pk] == long.keep_until and kept()[bob.pk] == expired.keep_until
    assert lapsed(today) == asked(today) == {nobody.pk, bob.pk}

    Consent.objects.filter(pk=long.pk).update(withdrawn_at=timezone.now())
    assert kept()[ann.pk] == short.keep_until  # the other one still allows today
    assert lapsed(today) == asked(today) == {nobody.pk, bob.pk}
    tomorrow = today + timedelta(days=1)
    assert lapsed(tomorrow) == asked(tomorrow) == {nobody.pk, ann.pk, bob.pk}

    with pytest.raises(RuntimeError), transaction.atomic():
        factories.consent_for(bob)
        raise RuntimeError("rolled back")
    assert lapsed(today) == asked(today) == {nobody.pk, bob.pk}

    Consent.objects.filter(pk=short.pk).update(withdrawn_at=timezone.now())
    assert kept()[ann.pk] is None
    assert lapsed(today) == asked(today) == {nobody.pk, ann.pk, bob.pk}


def test_people_and_consents_made_in_bulk_are_kept_too(db):
    today = timezone.localdate()
    people = Person.objects.bulk_create(Person(name=f"p{n}") for n in range(20))
    Consent.objects.bulk_create(
        Consent(
            person=person,
            given_by=Consent.GivenBy.PERSON,
            method=Consent.Method.SIGNED_FORM,
            purpose="p",
            given_on=today,
            keep_until=today + timedelta(days=n),
        )
        for n, person in enumerate(people[:10])
    )
    assert lapsed(today) == asked(today) == {person.pk for person in people[10:]}


def test_its_triggers_are_in_place_once_every_migration_has_run(db):
    """A migration that rebuilds the SQLite tables of people or consents drops their
    triggers: it must put these back (migration 0031 says how)."""
    names = {f"groups_consentinforce_{event}" for event in ("insert", "update", "delete")}
    names |= {"groups_consentinforce_person_insert", "groups_consentinforce_person_delete"}
    if connection.vendor == "sqlite":
        listed = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        listed = "SELECT tgname FROM pg_trigger"
    with connection.cursor() as cursor:
        cursor.execute(listed)
        assert names <= {name for (name,) in cursor.fetchall()}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite lets one transaction write at a time"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_transactions_writing_one_persons_consents_leave_the_true_date():
    """One records a new consent while another withdraws the old one: the withdrawal
    waits for the new consent and counts it (each counting its own snapshot, the last to
    commit left no consent in force)."""
    today = timezone.localdate()
    person = factories.enrollee("ann")
    old = factories.consent_for(person, given_on=today - timedelta(days=10))
    recorded, release = threading.Event(), threading.Event()
    new = {}

    def record_a_new_consent():
        try:
            with transaction.atomic():
                new["consent"] = factories.consent_for(
                    person, keep_until=old.keep_until + timedelta(days=365)
                )
                recorded.set()
                release.wait(10)
        finally:
            connection.close()

    recorder = threading.Thread(target=record_a_new_consent)
    recorder.start()
    assert recorded.wait(10)
    threading.Timer(0.5, release.set).start()  # commits while the withdrawal waits
    Consent.objects.filter(pk=old.pk).update(withdrawn_at=timezone.now())
    recorder.join(10)
    assert kept()[person.pk] == new["consent"].keep_until
    assert person.pk not in lapsed(today) and person.pk not in asked(today)
