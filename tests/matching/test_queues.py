"""Encoding and re-index steps run on the encode queue, everything else on the default one: two real workers, one
per queue, each gets only its own tasks, and the encode worker being down stalls encoding and nothing else."""

import re
import time
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings

from jobmatch_site.celery import app
from jobmatch_site.workers import celery_commands, parse_workers
from matching import task_names
from matching.models import Job, Kind, VacancyEmbedding
from matching.services import request_refit
from tenants.scoping import tenant_scope
from tests.conftest import Worker, manage, wait_until
from tests.factories import make_record

pytestmark = pytest.mark.timeout(180)


def test_encoding_and_reindex_steps_are_routed_to_the_encode_queue_and_the_rest_to_the_default_one():
    app.loader.import_default_modules()
    names = {value for key, value in vars(task_names).items() if key.isupper()}
    queues = {name: app.amqp.router.route({}, name)["queue"].name for name in names}
    assert {name for name, queue in queues.items() if queue == "encode"} == {
        task_names.ENCODE_RECORDS,
        task_names.REINDEX_STEP,
    }
    assert {queue for name, queue in queues.items() if name not in settings.ENCODE_TASKS} == {"celery"}


def test_serve_runs_one_worker_per_queue_and_exactly_one_beat(tmp_path):
    commands = celery_commands(parse_workers("encode=2,default=1"), schedule=tmp_path / "schedule")
    workers = {name: argv for name, argv in commands if "worker" in argv}
    beats = [argv for _, argv in commands if "beat" in argv or "--beat" in argv or "-B" in argv]
    assert {name: argv[argv.index("--queues") + 1] for name, argv in workers.items()} == {
        "encode worker": "encode",
        "default worker": "celery",
    }
    assert workers["encode worker"][workers["encode worker"].index("--concurrency") + 1] == "2"
    assert len(beats) == 1 and beats[0][beats[0].index("beat") - 1] == "jobmatch_site"  # beat alone, no worker in it


def test_one_worker_for_all_queues_consumes_both():
    [(_, argv), _beat] = celery_commands(parse_workers("all=1"), schedule=settings.BASE_DIR / "s")
    assert argv[argv.index("--queues") + 1] == "celery,encode"


@pytest.mark.parametrize("spec", ["encode=0", "gpu=1", "encode=1,encode=2", "all=1,encode=1", "encode"])
def test_a_bad_workers_spec_is_refused_naming_the_option(spec):
    with pytest.raises(ValueError, match="--workers"):
        parse_workers(spec)


def test_a_bad_workers_spec_makes_serve_exit_2_with_one_line():
    result = manage("serve", "--workers", "gpu=1", "--no-demo")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--workers" in result.stderr


@pytest.fixture
def queue_workers() -> Iterator[dict[str, Worker]]:
    """An encode worker and a default worker, alone: any other test's worker is paused, then restarted."""
    paused = [worker for worker in Worker.started if worker.running()]
    for worker in paused:
        worker.stop()
    app.control.purge()
    workers = {"encode": Worker(name="test-encode-worker", queues="encode"),
               "default": Worker(name="test-default-worker", queues="celery")}  # fmt: skip
    for worker in workers.values():
        worker.log.unlink(missing_ok=True)
        worker.start()
    try:
        yield workers
    finally:
        for worker in workers.values():
            worker.stop()
            Worker.started.remove(worker)
        for worker in paused:
            worker.start()


def _tasks_run(worker: Worker) -> set[str]:
    """The task names in the worker's "Task NAME[id] succeeded" log lines (its start-up banner lists every task)."""
    return set(re.findall(r"Task (\S+)\[[0-9a-f-]+\] succeeded", worker.log.read_text()))


def _encoded(tenant, record) -> bool:
    with tenant_scope(tenant.id):
        return VacancyEmbedding.objects.filter(record=record, encoder_version=tenant.active_encoder).exists()


def _refit_done(tenant) -> Callable[[], bool]:
    """Queue a threshold refit (a default-queue task); the returned check says whether a worker has run it."""
    with tenant_scope(tenant.id):
        job = request_refit(tenant=tenant)

    def done() -> bool:
        with tenant_scope(tenant.id):
            return Job.objects.get(pk=job.pk).status == Job.Status.DONE

    return done


@pytest.mark.django_db(transaction=True)
def test_each_task_class_lands_on_the_worker_of_its_queue(acme, queue_workers):
    record = make_record(acme, Kind.VACANCIES, "Welder", encode=False)  # queues the encode task on commit
    refit_done = _refit_done(acme)
    wait_until(lambda: _encoded(acme, record), timeout_s=90, what="the encode worker to store the vector")
    wait_until(refit_done, timeout_s=90, what="the default worker to run the refit")
    # The vector commits before the task returns (it fills the row's occupations after): wait for its log line.
    wait_until(lambda: _tasks_run(queue_workers["encode"]), timeout_s=30, what="the encode task's log line")
    ran = {name: _tasks_run(worker) for name, worker in queue_workers.items()}
    assert ran == {"encode": {task_names.ENCODE_RECORDS}, "default": {task_names.CALIBRATE_TENANT}}


@pytest.mark.django_db(transaction=True)
def test_with_the_encode_worker_killed_only_encoding_waits(acme, queue_workers):
    queue_workers["encode"].kill()
    record = make_record(acme, Kind.VACANCIES, "Nurse", encode=False)
    wait_until(_refit_done(acme), timeout_s=90, what="the default worker to run the refit")
    time.sleep(1)  # the default worker had its chance at the encode task too
    assert not _encoded(acme, record)
    queue_workers["encode"].start()
    wait_until(lambda: _encoded(acme, record), timeout_s=90, what="the restarted encode worker to catch up")
