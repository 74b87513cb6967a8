"""Moving a group to a device that has no account yet, while a creation gives that device
another account: the group stays in its account, so it must not end up serving a device
whose groups go elsewhere."""

import threading
import time
import uuid

import pytest
from django.db import connection

from groups.models import AuditEntry, CozeAccount, Device, VoiceprintGroup
from groups.services import create_group, update_group
from groups.wording import render

from .. import factories


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_device_given_another_account_during_a_rename_does_not_get_the_group(
    coze_accounts, coze_sim, operator
):
    coze_accounts(default=3, cn2=2)
    actor = factories.actor(operator)
    home = factories.device("Home", "HOME-1")
    group = create_group(
        actor, name="hall", desc="", device=home, submission=uuid.uuid4(), account="default"
    )
    kiosk = Device.objects.get(pk=factories.device("Kiosk", "KIOSK-1").pk)  # no account yet
    coze_sim.add_fault("delay", method="PUT", seconds=1.5)  # the rename takes its time
    errors = []

    def rename_and_move():
        try:
            update_group(actor, group, name="hall two", desc="", device=kiosk)
        except Exception as error:  # noqa: BLE001 (told to the test below)
            errors.append(error)
        finally:
            connection.close()

    mover = threading.Thread(target=rename_and_move)
    mover.start()
    time.sleep(0.5)  # the move's account check is done; Coze is renaming
    create_group(
        actor,
        name="kiosk",
        desc="",
        device=Device.objects.get(pk=kiosk.pk),
        submission=uuid.uuid4(),
        account="cn2",
    )
    mover.join(10)

    assert not errors, errors
    assert Device.objects.get(pk=kiosk.pk).account == CozeAccount.named("cn2")
    moved = VoiceprintGroup.objects.get(pk=group.pk)
    assert moved.name == "hall two"  # Coze's change is kept
    assert moved.device_id == home.pk  # not moved to a device of another account
    row = AuditEntry.objects.filter(action="group.update").order_by("pk").last()
    assert row.outcome == "success"  # the rename
    assert "given another Coze account meanwhile (cn2)" in render(row.facts)
