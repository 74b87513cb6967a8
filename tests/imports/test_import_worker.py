"""An import run by `manage.py db_worker` processes, as in production: a worker killed in
the middle of a 200-row import is replaced, the import resumes where it stopped, and Coze
ends with exactly 200 groups: not one created twice."""

import csv
import io
import os
import signal

import pytest

from groups.models import AuditEntry, Job, VoiceprintGroup
from tests.serving.test_workers import start_worker, wait_for  # noqa: F401  (a fixture)

from .helpers import devices_csv, dry_run, fleet

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_worker_killed_mid_import_is_replaced_and_nothing_is_created_twice(
    start_worker,  # noqa: F811
    operator_client,
    coze_sim,
):
    device_import = dry_run(operator_client, devices_csv(fleet(200)))
    job_url = operator_client.post(f"/imports/{device_import.pk}/run/")["Location"]
    job = Job.objects.get(pk=job_url.split("/")[2])
    coze_sim.add_fault("delay", method="POST", seconds=0.05, times=None)  # every creation slow

    first = start_worker()
    wait_for(lambda: Job.objects.get(pk=job.pk).done >= 40, "the first worker to be under way", 120)
    os.killpg(first.pid, signal.SIGKILL)  # mid-import, most likely mid-call
    first.wait(timeout=10)
    job.refresh_from_db()
    assert job.state == "running" and 40 <= job.done < 200
    start_worker()  # on this machine: it sees the first worker's process is gone

    wait_for(lambda: Job.objects.get(pk=job.pk).state == "succeeded", "the import to end", 240)

    job.refresh_from_db()
    assert job.attempts == 2 and (job.done, job.total) == (200, 200)
    assert len(coze_sim.groups) == 200
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
