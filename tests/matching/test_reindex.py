"""Re-index to a new encoder version: search serves the old version until every row has the new one, then
switches; a worker killed midway loses nothing and mixes nothing."""

import json
import math

import pytest
from django.db import connection

from matching.index_sql import create_vector_indexes
from matching.ml.encoder import BASE_MODEL, resolve_model_path
from matching.ml.train import TrainConfig, train
from matching.models import CandidateEmbedding, EncoderVersion, Job, Kind, VacancyEmbedding
from matching.services import encode_records, search, upsert_records
from matching.services.reindex import reindex_step, start_reindex
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.conftest import ROOT, wait_until


@pytest.fixture(scope="session")
def head_artifact(tmp_path_factory):
    """A real second encoder (the base backbone under an untrained 4x32 softmax-group head): 128 dimensions."""
    out = tmp_path_factory.mktemp("models") / "sg4x32"
    config = TrainConfig(
        base_model=str(resolve_model_path(BASE_MODEL)), head="softmax_groups", epochs=0, groups=4, group_size=32
    )
    train(config, [], out)
    return out


@pytest.fixture
def new_version(db, head_artifact):
    shipped = json.loads((ROOT / "matching/data/confidence/base-minilm-l6-v2.json").read_text())["confidence"]
    version = EncoderVersion.objects.create(  # a calibrator as a worker would fit one (the base one's, for speed)
        name="sg4x32-test", dimension=128, artifact_path=str(head_artifact), has_confidence=True,
        config={"confidence": shipped},
    )  # fmt: skip
    create_vector_indexes(connection, version_id=version.id, dimension=128)
    return version


def _rows(tenant, n):
    titles = ["Welder", "Cook", "Nurse", "Accountant", "Software developer", "Electrician"]
    with tenant_scope(tenant.id):
        upsert_records(
            tenant=tenant,
            kind=Kind.VACANCIES,
            rows=[{"external_id": f"v{i}", "title": titles[i % 6]} for i in range(n // 3)],
        )
        upsert_records(
            tenant=tenant,
            kind=Kind.CANDIDATES,
            rows=[{"external_id": f"c{i}", "title": f"{titles[i % 6]} {i}"} for i in range(n - n // 3)],
        )


@pytest.mark.django_db
def test_the_reindex_command_switches_the_tenant_and_reports_the_rows(acme, new_version):
    from django.core.management import call_command

    _rows(acme, 9)
    call_command("reindex", tenant="acme", encoder=new_version.name)
    acme.refresh_from_db()
    assert acme.active_encoder_id == new_version.id
    assert _vector_counts(acme, new_version) == 9


def _vector_counts(tenant, version):
    with tenant_scope(tenant.id):
        return (
            VacancyEmbedding.objects.filter(encoder_version=version).count()
            + CandidateEmbedding.objects.filter(encoder_version=version).count()
        )


@pytest.mark.django_db
def test_search_serves_the_old_version_until_the_last_row_is_re_encoded_then_switches(acme, new_version):
    _rows(acme, 30)
    old = acme.active_encoder
    with tenant_scope(acme.id):
        for kind in Kind:
            encode_records(tenant=acme, kind=kind, record_ids=kind.record_model.objects.values_list("pk", flat=True))
        job = start_reindex(tenant=acme, version=new_version)
        assert reindex_step(tenant=acme, job=job, step=0, batch_size=10) is False
        acme.refresh_from_db()
        midway = search(tenant=acme, target=Kind.CANDIDATES, text="welding", k=5)
        assert (acme.active_encoder_id, midway.encoder) == (old.id, old.name)
        step = 1
        while (
            finished := reindex_step(tenant=acme, job=Job.objects.get(pk=job.pk), step=step, batch_size=10)
        ) is False:
            step += 1
        assert finished is True
        acme.refresh_from_db()
        after = search(tenant=acme, target=Kind.CANDIDATES, text="welding", k=5)
    assert (acme.active_encoder_id, after.encoder) == (new_version.id, new_version.name)
    assert all(m.confidence is not None for m in after.matches)
    assert _vector_counts(acme, new_version) == 30


@pytest.mark.django_db
def test_a_duplicate_of_an_already_run_step_does_nothing(acme, new_version):
    _rows(acme, 12)
    with tenant_scope(acme.id):
        job = start_reindex(tenant=acme, version=new_version)
        assert reindex_step(tenant=acme, job=job, step=0, batch_size=5) is False
        assert reindex_step(tenant=acme, job=job, step=0, batch_size=5) is None


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_midway_through_a_re_index_loses_and_mixes_nothing(acme, new_version, celery_worker):
    _rows(acme, 900)
    with tenant_scope(acme.id):
        job = start_reindex(tenant=acme, version=new_version)
    wait_until(lambda: 64 <= _vector_counts(acme, new_version) < 900, timeout_s=120, what="the re-index to be midway")
    celery_worker.kill()
    acme.refresh_from_db()
    assert acme.active_encoder_id != new_version.id  # still serving the old version
    celery_worker.start()
    wait_until(
        lambda: Tenant.objects.get(pk=acme.pk).active_encoder_id == new_version.id,
        timeout_s=300,
        what="the re-index to finish after the restart",
    )
    with tenant_scope(acme.id):
        assert Job.objects.get(pk=job.pk).status == Job.Status.DONE
        for model in (VacancyEmbedding, CandidateEmbedding):
            rows = model.objects.filter(encoder_version=new_version)
            assert rows.count() == rows.values("record").distinct().count()  # one vector per row, none twice
    assert _vector_counts(acme, new_version) == 900


@pytest.mark.django_db(transaction=True)  # the tenant index is built CONCURRENTLY, outside any transaction
def test_a_large_tenant_switches_only_once_its_own_index_for_the_new_version_is_built(acme, new_version, settings):
    from matching.index_sql import tenant_index_name
    from matching.services.reindex import run_reindex

    settings.SEARCH_EXACT_MAX_ROWS = 5
    _rows(acme, 9)  # 6 candidates: past the limit; 3 vacancies: ranked exactly
    with tenant_scope(acme.id):
        job = run_reindex(tenant=acme, version=new_version)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", [f"%_hnsw_v{new_version.id}_t%"])
        built = [name for (name,) in cursor.fetchall()]
    acme.refresh_from_db()
    assert built == [tenant_index_name("matching_candidateembedding", new_version.id, acme.id)]
    assert acme.active_encoder_id == new_version.id and job.status == Job.Status.DONE
    assert job.params["build_index"] is True


@pytest.mark.django_db(transaction=True)
def test_a_small_tenant_switches_without_a_graph_and_the_version_gets_one_once_large(acme, head_artifact, settings):
    from matching.index_sql import index_name, tenant_index_name
    from matching.services.reindex import run_reindex
    from matching.services.vector_indexes import cross_tenant_ensure_indexes

    version = EncoderVersion.objects.create(  # as train_encoder registers one: no HNSW index yet
        name="sg4x32-unindexed", dimension=128, artifact_path=str(head_artifact), has_confidence=True
    )

    def graphs() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indisvalid "
                "AND c.relname LIKE %s ORDER BY 1",
                [f"%_hnsw_v{version.id}%"],
            )
            return [name for (name,) in cursor.fetchall()]

    def candidates(n: int) -> None:
        with tenant_scope(acme.id):
            rows = [{"external_id": f"c{i}", "title": f"Welder {i}"} for i in range(n)]
            ids = upsert_records(tenant=acme, kind=Kind.CANDIDATES, rows=rows).ids
            encode_records(tenant=acme, kind=Kind.CANDIDATES, record_ids=ids, version=version)

    settings.SEARCH_EXACT_MAX_ROWS = 5
    candidates(5)  # every search of this tenant is ranked exactly
    with tenant_scope(acme.id):
        job = run_reindex(tenant=acme, version=version)
        assert search(tenant=acme, target=Kind.CANDIDATES, text="welder", k=3).encoder == "sg4x32-unindexed"
    assert job.status == Job.Status.DONE and "build_index" not in job.params
    assert graphs() == []
    assert cross_tenant_ensure_indexes() == []  # 5 rows under the version: not more than the limit
    candidates(6)
    built = cross_tenant_ensure_indexes()
    own = tenant_index_name("matching_candidateembedding", version.id, acme.id)
    assert sorted(index.name for index in built) == sorted([own, index_name("matching_candidateembedding", version.id)])
    assert graphs() == sorted(index.name for index in built)


@pytest.mark.django_db(transaction=True)  # graphs are dropped CONCURRENTLY, outside any transaction
def test_vectors_of_a_version_a_tenant_left_are_deleted_with_its_graph_once_the_grace_period_is_over(
    acme, globex, new_version, settings
):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command

    from matching.index_sql import tenant_index_name
    from matching.services.reindex import run_reindex
    from matching.services.vector_indexes import cross_tenant_ensure_indexes, cross_tenant_retire_vectors

    old = acme.active_encoder
    assert globex.active_encoder_id == old.id
    settings.SEARCH_EXACT_MAX_ROWS = 5
    for tenant in (acme, globex):
        with tenant_scope(tenant.id):
            rows = [{"external_id": f"c{i}", "title": f"Welder {i}"} for i in range(8)]
            ids = upsert_records(tenant=tenant, kind=Kind.CANDIDATES, rows=rows).ids
            encode_records(tenant=tenant, kind=Kind.CANDIDATES, record_ids=ids)
    cross_tenant_ensure_indexes()  # both tenants are past the limit: each has its own graph of the old version
    old_graphs = {t.id: tenant_index_name("matching_candidateembedding", old.id, t.id) for t in (acme, globex)}
    with tenant_scope(acme.id):
        run_reindex(tenant=acme, version=new_version)

    def graphs() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(old_graphs.values())])
            return {name for (name,) in cursor.fetchall()}

    assert cross_tenant_retire_vectors() == []  # within RETIRED_VECTORS_KEEP_S of the switch a rollback is still cheap
    assert _vector_counts(acme, old) == 8
    settings.RETIRED_VECTORS_KEEP_S = 0
    listed = StringIO()
    call_command("vector_indexes", "--dry-run", stdout=listed)
    assert (
        f"to retire: tenant {acme.id}, version {old.id}, 8 vectors, indexes {old_graphs[acme.id]}" in listed.getvalue()
    )
    assert _vector_counts(acme, old) == 8 and graphs() == set(old_graphs.values())  # a dry run deletes nothing

    retired = cross_tenant_retire_vectors(keep=timedelta(0))
    assert [(r.tenant_id, r.version_id, r.rows) for r in retired] == [(acme.id, old.id, 8)]
    assert (_vector_counts(acme, old), _vector_counts(acme, new_version), _vector_counts(globex, old)) == (0, 8, 8)
    assert graphs() == {old_graphs[globex.id]}  # globex still serves the old version through its graph
    with tenant_scope(acme.id):
        result = search(tenant=acme, target=Kind.CANDIDATES, text="welder", k=3)
    assert result.encoder == new_version.name and len(result.matches) == 3
    assert cross_tenant_retire_vectors(keep=timedelta(0)) == []


@pytest.mark.django_db
def test_a_hits_confidence_is_the_same_whatever_k_asks_for_and_falls_with_rank(acme, new_version):
    from matching.services.reindex import run_reindex

    _rows(acme, 45)  # 30 candidates
    with tenant_scope(acme.id):
        run_reindex(tenant=acme, version=new_version)
        one = search(tenant=acme, target=Kind.CANDIDATES, text="welder", k=1).matches
        many = search(tenant=acme, target=Kind.CANDIDATES, text="welder", k=25).matches
    assert len(one) == 1 and len(many) == 25 and one[0].record == many[0].record
    assert math.isclose(one[0].confidence, many[0].confidence)  # read from the best 10 rows, not from k
    assert all(0.0 <= m.confidence <= 1.0 for m in many)  # a probability, from the version's calibrator
    assert many[0].confidence >= many[-1].confidence


@pytest.mark.django_db
def test_the_first_search_after_a_switch_has_the_new_versions_global_threshold(acme, new_version, settings):
    from django.core.management import call_command

    from matching.services.calibration import threshold_for

    settings.GLOBAL_CALIBRATION_AUTO = True  # as in production (the suite fits global thresholds itself)
    settings.GLOBAL_CALIBRATION_TITLES = 200  # a small fit: production's full one takes minutes
    _rows(acme, 9)
    call_command("reindex", tenant="acme", encoder=new_version.name)
    acme.refresh_from_db()
    assert acme.active_encoder_id == new_version.id
    with tenant_scope(acme.id):
        threshold = threshold_for(tenant=acme, version=new_version)
    assert threshold is not None and threshold.source == "global"
