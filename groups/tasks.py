"""The tasks a worker (`manage.py db_worker`) runs: each run of a job in the register is
one task (groups.services.jobs says what a run does)."""

from django_tasks import task

from .services import jobs


@task()
def run_job(job_id: str):
    """Run the queued job `job_id`; its state, progress and results are in the register."""
    return jobs.run(job_id)
