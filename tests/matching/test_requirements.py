"""A vacancy's own requirements drive its matches (services/requirements.py), in both directions, in three modes."""

import numpy as np
import pytest
from django.db import connection

from matching.models import CandidateEmbedding, Kind
from matching.services import SearchFilters, search, upsert_records
from matching.services.nearest import nearest
from matching.services.requirements import policy_for, requirements_q, set_requirement_policy
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db

WARSAW = {"country": "PL", "city": "Warsaw", "latitude": 52.23, "longitude": 21.012}
PIASECZNO = {"country": "PL", "city": "Piaseczno", "latitude": 52.081, "longitude": 21.024}  # 17 km south
KRAKOW = {"country": "PL", "city": "Krakow", "latitude": 50.065, "longitude": 19.945}  # 252 km
PARIS = {"country": "FR", "city": "Paris", "latitude": 48.857, "longitude": 2.352}


def _search(tenant, **kwargs):
    with tenant_scope(tenant.id):
        return search(tenant=tenant, **kwargs)


@pytest.fixture
def warsaw_nurses(acme):
    job = vacancy(acme, "Nurse", description="Ward nursing", languages={"pl": "C1"}, **WARSAW)
    people = {
        "warsaw_c2": candidate(acme, "Nurse", languages={"pl": "C2"}, **WARSAW),
        "nearby_c1": candidate(acme, "Nurse", languages={"pl": "C1"}, **PIASECZNO),
        "warsaw_b2": candidate(acme, "Nurse", languages={"pl": "B2", "en": "C2"}, **WARSAW),
        "krakow_c1": candidate(acme, "Nurse", languages={"pl": "C1"}, **KRAKOW),
        "paris_none": candidate(acme, "Nurse", languages={"fr": "C2"}, **PARIS),
    }
    return job, people


def _ids(result):
    return {m.record.id for m in result.matches}


def test_a_vacancys_matches_speak_its_languages_at_level_and_are_within_its_radius(acme, warsaw_nurses):
    job, people = warsaw_nurses
    result = _search(acme, target=Kind.CANDIDATES, record=job, k=10)
    assert result.requirements == "filter"
    assert _ids(result) == {people["warsaw_c2"].id, people["nearby_c1"].id}


def test_rank_keeps_who_misses_a_requirement_below_by_the_penalty_and_ignore_keeps_everyone(acme, warsaw_nurses):
    job, people = warsaw_nurses
    with tenant_scope(acme.id):
        set_requirement_policy(tenant=acme, rank_penalty=0.25, radius_km=50, custom_fields=[])
    ranked = _search(acme, target=Kind.CANDIDATES, record=job, k=10, requirements="rank")
    ignored = _search(acme, target=Kind.CANDIDATES, record=job, k=10, requirements="ignore")
    assert _ids(ranked) == _ids(ignored) == {person.id for person in people.values()}
    by_id = {m.record.id: m for m in ranked.matches}
    paris = by_id[people["paris_none"].id]  # misses Polish and the location
    assert paris.score == pytest.approx(paris.similarity - 0.5)
    assert paris.explanation.penalty == pytest.approx(0.5)
    assert [m.score for m in ranked.matches] == sorted((m.score for m in ranked.matches), reverse=True)
    assert {m.record.id for m in ranked.matches[:2]} == {people["warsaw_c2"].id, people["nearby_c1"].id}
    assert all(m.score == m.similarity and m.explanation.requirements == [] for m in ignored.matches)


def test_the_explanation_names_every_met_and_missed_requirement(acme, warsaw_nurses):
    job, people = warsaw_nurses
    result = _search(acme, target=Kind.CANDIDATES, record=job, k=10, requirements="rank")
    by_id = {m.record.id: m.explanation for m in result.matches}
    b2 = by_id[people["warsaw_b2"].id]
    assert [(c.requirement, c.wanted, c.have, c.met) for c in b2.requirements] == [
        ("language pl", "C1", "B2", False),
        ("location", "Warsaw, PL or within 50 km", "Warsaw, PL (0 km)", True),
    ]
    krakow = by_id[people["krakow_c1"].id]
    assert [(c.requirement, c.met) for c in krakow.requirements] == [("language pl", True), ("location", False)]
    assert krakow.distance_km == pytest.approx(252, abs=3)
    assert krakow.requirements[1].have == "Krakow, PL (252 km)"


def test_a_remote_vacancy_has_no_location_requirement(acme):
    job = vacancy(acme, "Translator", languages={"pl": "C1"}, remote=True, **WARSAW)
    paris = candidate(acme, "Translator", languages={"pl": "C2"}, **PARIS)
    result = _search(acme, target=Kind.CANDIDATES, record=job, k=10)
    assert _ids(result) == {paris.id}
    assert result.matches[0].explanation.requirements[-1].met


def test_a_candidate_is_not_offered_a_vacancy_whose_language_level_they_miss(acme):
    person = candidate(acme, "Nurse", languages={"pl": "B2", "en": "C1"}, **WARSAW)
    fits = vacancy(acme, "Nurse", languages={"pl": "B1", "en": "C1"}, **WARSAW)
    vacancy(acme, "Nurse", languages={"pl": "C1"}, **WARSAW)  # needs more Polish
    vacancy(acme, "Nurse", languages={"de": "A2"}, **WARSAW)  # needs German they lack
    vacancy(acme, "Nurse", languages={"en": "B2"}, **PARIS)  # too far
    remote = vacancy(acme, "Nurse", languages={"en": "B2"}, remote=True, **PARIS)
    anywhere = vacancy(acme, "Nurse")  # requires nothing
    result = _search(acme, target=Kind.VACANCIES, record=person, k=10)
    assert _ids(result) == {fits.id, remote.id, anywhere.id}
    assert all(c.met for m in result.matches for c in m.explanation.requirements)


def test_a_custom_field_the_tenant_declares_a_requirement_must_match(acme):
    with tenant_scope(acme.id):
        set_requirement_policy(tenant=acme, rank_penalty=0.1, radius_km=50, custom_fields=["licence"])
    job = vacancy(acme, "Truck driver", custom_fields={"licence": "C", "shift": "night"})
    licensed = candidate(acme, "Truck driver", custom_fields={"licence": "C", "shift": "day"})
    candidate(acme, "Truck driver", custom_fields={"licence": "B"})
    candidate(acme, "Truck driver")
    result = _search(acme, target=Kind.CANDIDATES, record=job, k=10)
    assert _ids(result) == {licensed.id}  # shift is not declared: it does not count
    (check,) = result.matches[0].explanation.requirements
    assert (check.requirement, check.wanted, check.have, check.met) == ("custom licence", "C", "C", True)
    back = _search(acme, target=Kind.VACANCIES, record=licensed, k=10)
    assert _ids(back) == {job.id}


def test_the_requirement_filter_still_returns_k_rows_through_the_hnsw_index(acme, settings):
    settings.SEARCH_EXACT_MAX_ROWS = 0  # the index path, a large tenant's
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(1500, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    speaks = np.arange(1500) % 40 == 0  # 38 rows of 1,500 meet the requirement
    rows = [
        {"external_id": f"c{i}", "title": f"Candidate {i}", "languages": {"pl": "C2" if speaks[i] else "B1"}}
        for i in range(1500)
    ]
    with tenant_scope(acme.id):
        ids = np.array(
            [i for s in (0, 750) for i in upsert_records(tenant=acme, kind=Kind.CANDIDATES, rows=rows[s : s + 750]).ids]
        )
        CandidateEmbedding.objects.bulk_create(
            CandidateEmbedding(tenant=acme, record_id=i, encoder_version=acme.active_encoder, vector=v, text_hash="x")
            for i, v in zip(ids, vectors, strict=True)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE matching_candidateembedding")
        job = vacancy(acme, "Vacancy", languages={"pl": "C1"}, encode=False)
        query = vectors[~speaks][0]  # nearest to a row that does not qualify
        required = tuple(requirements_q(query=job, policy=policy_for(tenant=acme), prefix=p) for p in ("record__", ""))
        hits = nearest(
            tenant=acme,
            target=Kind.CANDIDATES,
            version=acme.active_encoder,
            query=query,
            filters=SearchFilters(),
            k=20,
            required=required,
        )
    exact = set(ids[speaks][np.argsort(-(vectors[speaks] @ query))[:20]])
    assert len(hits) == 20
    assert all(hit.record.languages["pl"] == "C2" for hit in hits)
    assert len({hit.record.id for hit in hits} & exact) >= 18  # recall@20 against an exact search


def test_a_text_search_has_no_requirements(acme):
    job = vacancy(acme, "Nurse", languages={"pl": "C1"}, **WARSAW)
    result = _search(acme, target=Kind.VACANCIES, text="nurse", k=5)
    assert _ids(result) == {job.id}
    assert result.matches[0].explanation.requirements == []


def test_the_search_api_takes_a_mode_and_answers_grade_explanation_and_no_strong_match(
    acme, globex, api_client, warsaw_nurses
):
    job, people = warsaw_nurses
    client = api_client(acme, scopes=["search"])
    body = client.post("/api/v1/search/", {"vacancy_id": job.id, "requirements": "rank"}, format="json").json()
    assert body["requirements"] == "rank" and isinstance(body["no_strong_match"], bool)
    hit = next(r for r in body["results"] if r["id"] == people["warsaw_b2"].id)
    assert hit["grade"] in ("strong", "possible", "weak", "below")
    assert hit["explanation"]["requirements"][0] == {
        "requirement": "language pl", "wanted": "C1", "have": "B2", "met": False
    }  # fmt: skip
    assert hit["score"] == pytest.approx(hit["similarity"] - 0.1, abs=1e-6)
    default = client.post("/api/v1/search/", {"vacancy_id": job.id}, format="json").json()
    assert default["requirements"] == "filter" and len(default["results"]) == 2
    refused = client.post("/api/v1/search/", {"vacancy_id": job.id, "requirements": "strict"}, format="json")
    assert (refused.status_code, refused.json()["field"]) == (400, "requirements")
    theirs = api_client(globex, scopes=["search"]).post("/api/v1/search/", {"vacancy_id": job.id}, format="json")
    assert theirs.status_code == 404


def test_a_record_query_is_cut_by_the_record_fit_and_free_text_by_the_text_fit(acme, warsaw_nurses):
    from matching.services.global_calibration import load_shipped_global_calibration

    stored = load_shipped_global_calibration(acme.active_encoder)  # what preparing the base version does
    job, _ = warsaw_nurses
    record = _search(acme, target=Kind.CANDIDATES, record=job, k=3)
    text = _search(acme, target=Kind.CANDIDATES, text="nurse", k=3)
    assert record.threshold == stored.by_shape["record"]["threshold"] > text.threshold
    assert text.threshold == stored.by_shape["text"]["threshold"]
    assert record.matches[0].explanation.threshold_source == "global (record)"
    assert text.matches[0].explanation.threshold_source == "global (text)"


def test_a_tenant_admin_sets_the_requirement_policy_in_admin_and_a_bad_penalty_is_refused_on_its_field(
    acme, globex, acme_admin, warsaw_nurses
):
    from matching.models import RequirementPolicy

    form = {"rank_penalty": "5", "radius_km": "300", "custom_fields": "[]"}
    refused = acme_admin.post("/admin/matching/requirementpolicy/add/", form)
    assert refused.status_code == 200 and "rank_penalty" in refused.context["adminform"].form.errors
    saved = acme_admin.post("/admin/matching/requirementpolicy/add/", form | {"rank_penalty": "0.2"})
    assert saved.status_code == 302
    with tenant_scope(acme.id):
        assert RequirementPolicy.objects.get(tenant=acme).radius_km == 300
    with tenant_scope(globex.id):
        assert not RequirementPolicy.objects.exists()
    job, people = warsaw_nurses  # Krakow is 252 km from Warsaw: within the tenant's 300 km now
    assert people["krakow_c1"].id in _ids(_search(acme, target=Kind.CANDIDATES, record=job, k=10))
