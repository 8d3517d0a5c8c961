"""A stateful property run over the API with two tenants' keys: create, read, search, feedback and delete, linked.

hypothesis.stateful drives the real API (DRF's test client, the real database): each step takes a row that an
earlier step created, under either tenant's key, so reads, searches, feedback and deletes aim at live, deleted and
other-tenant rows alike. No answer may be a 5xx; a request with the other tenant's row answers 404 (never a 2xx) and
leaves the row as it was; a tenant's text search never returns the other's rows. Bounded: STATEFUL_EXAMPLES runs of
STATEFUL_STEPS steps, well under 90 s; the counts are printed (-s).
"""

import os
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test
from rest_framework.test import APIClient

from tenants.services import create_api_key

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(180)]
EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "20"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "40"))
KINDS = {"vacancy": "vacancies", "candidate": "candidates"}
TITLES = st.sampled_from(["Welder", "Nurse", "Python developer", "Truck driver", "Accountant"])
COUNTS: Counter = Counter()


class TwoTenants(RuleBasedStateMachine):
    """Rows are (tenant, kind, id); `deleted` holds the ids whose delete was answered 204."""

    tenants: tuple = ()
    vacancies = Bundle("vacancies")
    candidates = Bundle("candidates")

    def __init__(self) -> None:
        super().__init__()
        self.clients = {}
        for tenant in self.tenants:  # fresh keys per run: the rate limits count per key
            _, secret = create_api_key(tenant=tenant, name="stateful")
            self.clients[tenant.slug] = client = APIClient(raise_request_exception=False)
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        self.owned: dict[str, set[int]] = {tenant.slug: set() for tenant in self.tenants}
        self.deleted: set[int] = set()
        self.last_status = 0

    def _call(self, operation: str, caller: str, method: str, path: str, body: dict | None = None):
        response = getattr(self.clients[caller], method)(path, body, format="json")
        COUNTS["requests"] += 1
        COUNTS[operation] += 1
        COUNTS[f"status {response.status_code}"] += 1
        self.last_status = response.status_code
        return response

    def _foreign(self, caller: str, row: tuple) -> bool:
        return row[0] != caller

    def _expect_foreign_404(self, caller: str, row: tuple, response) -> None:
        if self._foreign(caller, row):
            if 200 <= response.status_code < 300:
                COUNTS["cross-tenant 2xx"] += 1
            assert response.status_code in (404, 429), f"{caller} reached {row}: {response.status_code}"

    def _create(self, kind: str, owner: str, title: str) -> tuple:
        body = {"external_id": f"s-{COUNTS['requests']}", "title": title}
        response = self._call("create", owner, "post", f"/api/v1/{KINDS[kind]}/", body)
        assert response.status_code in (201, 429), response.content[:300]
        record_id = response.json()["id"] if response.status_code == 201 else -1
        self.owned[owner].add(record_id)
        return owner, kind, record_id

    @rule(target=vacancies, owner=st.sampled_from(["acme", "globex"]), title=TITLES)
    def create_vacancy(self, owner: str, title: str) -> tuple:
        return self._create("vacancy", owner, title)

    @rule(target=candidates, owner=st.sampled_from(["acme", "globex"]), title=TITLES)
    def create_candidate(self, owner: str, title: str) -> tuple:
        return self._create("candidate", owner, title)

    @rule(caller=st.sampled_from(["acme", "globex"]), row=st.one_of(vacancies, candidates))
    def read(self, caller: str, row: tuple) -> None:
        response = self._call("read", caller, "get", f"/api/v1/{KINDS[row[1]]}/{row[2]}/")
        self._expect_foreign_404(caller, row, response)
        if not self._foreign(caller, row):
            assert response.status_code == (404 if row[2] in self.deleted or row[2] < 0 else 200)

    @rule(caller=st.sampled_from(["acme", "globex"]), row=st.one_of(vacancies, candidates))
    def search_by_row(self, caller: str, row: tuple) -> None:
        kind = "candidates" if row[1] == "vacancy" else "vacancies"
        response = self._call("search", caller, "post", "/api/v1/search/", {f"{row[1]}_id": row[2], "kind": kind})
        if response.status_code == 400 and "kind" in response.content.decode():
            response = self._call("search", caller, "post", "/api/v1/search/", {f"{row[1]}_id": row[2]})
        self._expect_foreign_404(caller, row, response)

    @rule(caller=st.sampled_from(["acme", "globex"]), title=TITLES, kind=st.sampled_from(["vacancies", "candidates"]))
    def search_by_text(self, caller: str, title: str, kind: str) -> None:
        response = self._call("search", caller, "post", "/api/v1/search/", {"text": title, "kind": kind, "k": 50})
        if response.status_code == 200:
            other = next(slug for slug in self.owned if slug != caller)
            leaked = {hit["id"] for hit in response.json()["results"]} & self.owned[other]
            COUNTS["cross-tenant 2xx"] += bool(leaked)
            assert not leaked, f"{caller}'s search returned {other}'s rows {leaked}"

    @rule(caller=st.sampled_from(["acme", "globex"]), job=vacancies, person=candidates, good=st.booleans())
    def feedback(self, caller: str, job: tuple, person: tuple, good: bool) -> None:
        body = {"vacancy_id": job[2], "candidate_id": person[2], "label": "good" if good else "bad"}
        response = self._call("feedback", caller, "post", "/api/v1/feedback/", body)
        for row in (job, person):
            self._expect_foreign_404(caller, row, response)

    @rule(caller=st.sampled_from(["acme", "globex"]), row=consumes(vacancies) | consumes(candidates))
    def delete(self, caller: str, row: tuple) -> None:
        response = self._call("delete", caller, "delete", f"/api/v1/{KINDS[row[1]]}/{row[2]}/")
        self._expect_foreign_404(caller, row, response)
        if response.status_code == 204:
            self.deleted.add(row[2])

    @invariant()
    def no_5xx(self) -> None:
        COUNTS["5xx"] += self.last_status >= 500
        assert self.last_status < 500


def test_linked_operations_over_two_tenants_never_5xx_and_never_cross(acme, globex):
    TwoTenants.tenants = (acme, globex)
    COUNTS.clear()
    started = time.monotonic()
    run_state_machine_as_test(
        TwoTenants,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    operations = {name: COUNTS[name] for name in ("create", "read", "search", "feedback", "delete")}
    statuses = {name: count for name, count in sorted(COUNTS.items()) if name.startswith("status")}
    print(
        f"\nstateful: {EXAMPLES} runs x {STEPS} steps in {time.monotonic() - started:.1f} s: {COUNTS['requests']} "
        f"requests, {operations}, {COUNTS['5xx']} 5xx, {COUNTS['cross-tenant 2xx']} cross-tenant 2xx; {statuses}"
    )
    assert (COUNTS["5xx"], COUNTS["cross-tenant 2xx"]) == (0, 0)
