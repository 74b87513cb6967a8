"""An import run by `manage.py db_worker` processes, as in production: a worker killed in
the middle of a 200-row import, while Coze has a row's creation, is replaced, the import
resumes where it stopped, and Coze ends with exactly 200 groups: none lost, none twice."""

import csv
import io
import os
import signal

import pytest

from groups.models import AuditEntry, Job, VoiceprintGroup
from tests.serving.test_workers import start_worker, wait_for  # noqa: F401  (a fixture)

from .helpers import devices_csv, dry_run, fleet
from .test_import_run import creations

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_worker_killed_mid_import_is_replaced_and_nothing_is_created_twice(
    start_worker,  # noqa: F811
    operator_client,
    coze_sim,
):
    device_import = dry_run(operator_client, devices_csv(fleet(200)))
    job_url = operator_client.post(f"/imports/{device_import.pk}/run/")["Location"]
    job = Job.objects.get(pk=job_url.split("/")[2])
    # Coze holds the 41st creation: the first worker is killed once Coze has received it,
    # with that row's `pending` row committed and no answer recorded.
    coze_sim.add_fault("delay", method="POST", seconds=30.0, after=40)

    first = start_worker()
    wait_for(lambda: len(creations(coze_sim)) == 41, "Coze to receive the 41st creation", 240)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    # ... and the held request is then dropped, not applied: Coze never made that group
    # (as when the worker dies before its request reaches Coze).
    coze_sim.default.generation += 1
    job.refresh_from_db()
    assert (job.state, job.done, len(coze_sim.groups)) == ("running", 40, 40)
    lost = AuditEntry.objects.get(action="group.create", outcome="pending")
    assert lost.sent_name == "kiosk 41"
    start_worker()  # on this machine: it sees the first worker's process is gone

    wait_for(lambda: Job.objects.get(pk=job.pk).state == "succeeded", "the import to end", 300)

    job.refresh_from_db()
    assert job.attempts == 2 and (job.done, job.total) == (200, 200)
    assert len(coze_sim.groups) == 200 and len(creations(coze_sim)) == 201
    # The lost try was looked up, concluded not made, and the row's second try made it.
    assert lost.resolution_or_none(fresh=True).facts["say"] == "not_on_coze"
    assert sorted(g["name"] for g in coze_sim.groups.values()) == sorted(
        f"kiosk {i}" for i in range(1, 201)
    )
    assert VoiceprintGroup.objects.count() == 200
    assert set(device_import.rows.values_list("outcome", flat=True)) == {"success"}
    assert not AuditEntry.objects.filter(outcome="pending").exists()
    response = operator_client.get(f"/imports/{device_import.pk}/results.csv")
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(table) == 201 and {row[4] for row in table[1:]} == {"success"}
    page = operator_client.get(job_url).content.decode()
    assert "200 groups created, 0 rows failed" in page
