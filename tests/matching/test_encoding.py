"""Encoding happens in a real Celery worker after commit; it is idempotent, and the sweep catches what was lost."""

import numpy as np
import pytest

from jobmatch_site.celery import app
from matching.models import Kind, VacancyEmbedding
from matching.services import create_record, encode_records
from matching.services.encoding import sweep_unencoded
from tenants.scoping import tenant_scope
from tests.conftest import wait_until
from tests.factories import vacancy


def _embedding(tenant, record_id):
    with tenant_scope(tenant.id):
        return VacancyEmbedding.objects.filter(record_id=record_id).first()


@pytest.mark.django_db
def test_encoding_a_row_twice_stores_one_vector_and_the_second_run_does_nothing(acme):
    row = vacancy(acme, "Welder")
    with tenant_scope(acme.id):
        again = encode_records(tenant=acme, kind=Kind.VACANCIES, record_ids=[row.id])
        assert again == 0
        assert VacancyEmbedding.objects.filter(record=row).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_vacancy_saved_over_the_api_gets_its_vector_from_the_worker(acme, api_client, celery_worker):
    response = api_client(acme).post("/api/v1/vacancies/", {"external_id": "v1", "title": "Welder"}, format="json")
    stored = wait_until(lambda: _embedding(acme, response.json()["id"]), what="the worker to encode v1")
    assert len(stored.vector) == 384
    assert stored.encoder_version_id == acme.active_encoder_id


@pytest.mark.django_db(transaction=True)
def test_a_changed_text_is_re_encoded_and_a_payload_only_edit_is_not(acme, api_client, celery_worker):
    client = api_client(acme)
    row_id = client.post("/api/v1/vacancies/", {"external_id": "v1", "title": "Welder"}, format="json").json()["id"]
    first = wait_until(lambda: _embedding(acme, row_id), what="first vector")

    client.patch(f"/api/v1/vacancies/{row_id}/", {"city": "Berlin"}, format="json")
    marker = client.post("/api/v1/vacancies/", {"external_id": "v2", "title": "Cook"}, format="json").json()["id"]
    wait_until(lambda: _embedding(acme, marker), what="the task queued after the payload edit")  # FIFO: it ran
    after_payload_edit = _embedding(acme, row_id)
    assert after_payload_edit.text_hash == first.text_hash
    assert np.array_equal(after_payload_edit.vector, first.vector)

    client.patch(f"/api/v1/vacancies/{row_id}/", {"title": "Nurse"}, format="json")
    changed = wait_until(
        lambda: (e := _embedding(acme, row_id)).text_hash != first.text_hash and e,
        what="re-encoding after a title change",
    )
    assert not np.allclose(changed.vector, first.vector)


@pytest.mark.django_db(transaction=True)
def test_the_sweep_re_queues_a_row_whose_encode_task_was_lost(acme, celery_worker):
    row = vacancy(acme, "Welder", encode=False)
    wait_until(lambda: _embedding(acme, row.id), what="the first encoding")
    with tenant_scope(acme.id):
        VacancyEmbedding.objects.filter(record=row).delete()  # as if the broker had lost the task
    app.send_task("matching.tasks.sweep_unencoded_task")
    assert wait_until(lambda: _embedding(acme, row.id), what="the sweep to restore the vector")


@pytest.mark.django_db
def test_back_to_back_sweeps_queue_each_stale_row_once(acme):
    with tenant_scope(acme.id):
        for i in range(10):
            create_record(tenant=acme, kind=Kind.VACANCIES, data={"external_id": f"s{i}", "title": "Cook"})
    assert (sweep_unencoded(), sweep_unencoded()) == (10, 0)  # the first sweep's tasks are still waiting
