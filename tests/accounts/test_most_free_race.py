"""The most free account is chosen before its lock is taken: filled meanwhile by another
creation while another account has room, a group whose account nobody imposed goes there
rather than being refused for a full quota."""

import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from groups.models import CozeAccount
from groups.services import create_group

from .. import factories


def waiting_for_the_lock(thread, seconds=5):
    """Until a PostgreSQL session waits for a row lock (the creation, on cn2's row)."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline and thread.is_alive():
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the creation never waited for cn2's lock")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite locks the whole database, not rows"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_most_free_account_filled_meanwhile_sends_the_group_to_one_with_room(
    coze_accounts, operator
):
    coze_accounts(default=1, cn2=2)
    CozeAccount.objects.configured()  # the accounts' rows, before anyone locks one
    device = factories.device("Kiosk", "K-1")
    held, release, result = threading.Event(), threading.Event(), {}

    def fill_cn2():  # another creation (an import, an Operator) takes cn2's last places
        try:
            with transaction.atomic():
                cn2 = CozeAccount.locked("cn2")
                held.set()
                release.wait(10)
                for n in range(2):
                    factories.group(name=f"made {n}", account=cn2)
        finally:
            connection.close()

    def create():
        try:
            result["group"] = create_group(
                factories.actor(operator),
                name="kiosk",
                desc="",
                device=device,
                submission=uuid.uuid4(),
            )
        except Exception as error:  # noqa: BLE001 (told to the test below)
            result["error"] = error
        finally:
            connection.close()

    holder = threading.Thread(target=fill_cn2)
    holder.start()
    assert held.wait(5)
    creator = threading.Thread(target=create)
    creator.start()
    waiting_for_the_lock(creator)  # it has chosen cn2 (2 free against 1)
    release.set()
    holder.join(10)
    creator.join(10)

    assert "error" not in result, result
    assert result["group"].account.name == "default"
