"""A bounded property-based run (schemathesis) against our own OpenAPI schema, with two tenants' keys.

For every documented operation, generated requests made with tenant A's key must answer without a 5xx, with a
status, headers and body the schema documents, accept what the schema calls valid (2xx, or 404 for an id that does
not exist) and refuse what it calls invalid; they never show any of tenant B's data. The same request aimed at B's
object ids answers 404 when the id is in the path (the object is looked up before the body is read), and what an
id that never existed gets (status and field) when it is in the body (a body refused first is a 400 either way).
Bounded: a few examples per operation, no database of examples.

The schema states every rule the API enforces, but one it cannot state in OpenAPI 3.0: that no string may hold NUL
(the description says so; generation leaves NUL out).
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from jobmatch_site.middleware import Utf8OnlyWsgi
from tenants.services import create_api_key
from tests.factories import candidate, vacancy

# The app as jobmatch_site/wsgi.py wraps it, without its forbid_encoder_builds(): importing wsgi.py would stop
# this whole test process from building encoder exports.
application = Utf8OnlyWsgi(get_wsgi_application())

EXAMPLES_PER_OPERATION = 10  # ~1,000 requests over 18 operations: about a minute on 2 busy cores
MISSING_ID = 2**31 - 1  # an id no test row reaches
B_MARKER = "globex-only-7f3a"  # in every text of tenant B's rows: it must never appear in a response to A

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Revoking by a generated id could revoke the fuzzing key itself (ids are small); its isolation is tested directly.
schema = schema.exclude(operation_id="api_keys_revoke")
schema.config.generation.update(allow_x00=False)


@pytest.fixture
def tenants(acme, globex, in_test_transaction, request):
    if "normalize" in request.node.name:  # prepared, as a worker does: else every answer is the documented 503
        request.getfixturevalue("esco_prepared")
    _, a_key = create_api_key(tenant=acme, name="fuzz")
    b_key_row, _ = create_api_key(tenant=globex, name=B_MARKER)
    b_ids = {
        "vacancies": vacancy(globex, B_MARKER, external_id=f"{B_MARKER}-v", encode=True).id,
        "candidates": candidate(globex, B_MARKER, external_id=f"{B_MARKER}-c", encode=True).id,
        "keys": b_key_row.id,
    }
    return {"Authorization": f"Api-Key {a_key}"}, b_ids


def _aim(case, ids: dict) -> str | None:
    """Point the case's object ids at `ids`; where they sit ("path" or "body"), or None when it names no object."""
    aimed = None
    for name in ("record_id", "key_id"):
        if case.path_parameters and name in case.path_parameters:
            kind = "keys" if name == "key_id" else case.path.split("/")[3]
            case.path_parameters[name] = ids[kind]
            aimed = "path"
    if isinstance(case.body, dict):
        for field, kind in (("vacancy_id", "vacancies"), ("candidate_id", "candidates")):
            if field in case.body:
                case.body[field] = ids[kind]
                aimed = aimed or "body"
    return aimed


def _answer(response) -> tuple[int, object]:
    """Status and field: the detail may echo the id (test_api_isolation compares it word for word)."""
    return response.status_code, response.json().get("field") if response.status_code >= 400 else None


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,  # nothing written to .hypothesis/; every run starts fresh and stays bounded
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_answers_as_documented_and_no_cross_tenant_data(case, tenants):
    headers, b_ids = tenants
    response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
    assert B_MARKER not in response.text, f"{case.method} {case.formatted_path} returned tenant B's data"
    if case.method.upper() != case.operation.method.upper():
        return  # a negative case with another method: 405 before any lookup
    aimed = _aim(case, b_ids)
    if aimed is None:
        return
    at_b = case.call(headers=headers)
    assert B_MARKER not in at_b.text
    if aimed == "path":
        assert at_b.status_code == 404, f"{case.method} {case.formatted_path} at tenant B's object: {at_b.status_code}"
    else:
        missing = dict.fromkeys(b_ids, MISSING_ID)
        _aim(case, missing)
        at_missing = case.call(headers=headers)
        assert _answer(at_b) == _answer(at_missing), f"{case.method} {case.formatted_path}"
