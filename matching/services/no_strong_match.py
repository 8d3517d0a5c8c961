"""The dashboard's "vacancies with no strong match": the team's newest vacancies whose match list (the vacancy's
page, as it opens: k=10, the tenant's requirement mode, no filters) has no hit graded strong or possible.

A search per vacancy per dashboard load would cost a nearest-neighbour query, an encode of the title and the rule
checks for each, so it is bounded and cached:
- only the NEWEST_VACANCIES most recently added vacancies that are encoded under the active version are judged
  (a vacancy waiting for its vector is left out, rather than encoded on a dashboard load);
- each answer is cached in Redis under the tenant, the encoder version, the threshold in use, the vacancy's own
  state and a fingerprint of the candidate side (how many candidates and vectors, and when the last one changed),
  the requirement policy's last change, and the tenant's settings generation (jobmatch_site/generations.py: bumped
  by every rule, threshold and policy write, rules/ included, which matching/ may not import). Any of those moving
  is a new key, so a new, edited, deleted or re-encoded candidate, an edited rule, a refit threshold or a re-index
  is seen on the next load. Without Redis nothing is cached.
The dashboard renders the cached answer at once and otherwise fetches this list in its own request (htmx), so a
cold cache slows only that panel: 10 vacancies x 200 candidates took 1.1 s cold, 0.1 s warm on a busy 2-core box.
"""

import contextlib
import hashlib

from django.core.cache import cache
from django.db.models import Count, Max

from jobmatch_site.generations import generations
from tenants.models import Tenant

from ..models import Candidate, CandidateEmbedding, Kind, RequirementPolicy, Vacancy, VacancyEmbedding
from .calibration import threshold_for
from .encoding import active_encoder_version
from .search import search

NEWEST_VACANCIES = 10
CACHE_S = 15 * 60
MATCH_PAGE_K = 10  # what the vacancy's page shows first (views/records.py MATCHES_STEP): the two agree


def _candidate_side(*, tenant: Tenant, version_id: int) -> str:
    """Changes whenever a candidate is added, edited, deleted or (re-)encoded, or the requirement policy changes."""
    people = Candidate.objects.filter(tenant=tenant).aggregate(n=Count("id"), at=Max("updated_at"))
    vectors = CandidateEmbedding.objects.filter(tenant=tenant, encoder_version_id=version_id).aggregate(
        n=Count("id"), at=Max("encoded_at")
    )
    policy = RequirementPolicy.objects.filter(tenant=tenant).values_list("updated_at", flat=True).first()
    return f"{people['n']}/{people['at']}/{vectors['n']}/{vectors['at']}/{policy}"


def vacancies_without_strong_match(
    *, tenant: Tenant, newest: int = NEWEST_VACANCIES, search_missing: bool = True
) -> list[Vacancy] | None:
    """Of the tenant's `newest` most recently added encoded vacancies, those whose match list has no strong or
    possible hit, newest first. With search_missing=False, None when any answer is not cached (the dashboard then
    asks for it in a second request, so the page itself never waits on searches)."""
    version = active_encoder_version(tenant=tenant)
    threshold = threshold_for(tenant=tenant, version=version, shape="record")
    vectors = VacancyEmbedding.objects.filter(tenant=tenant, encoder_version=version).select_related("record")
    encoded = list(vectors.order_by("-record_id")[:newest])  # ids grow with creation: the newest, off an index
    if not encoded:
        return []
    side = _candidate_side(tenant=tenant, version_id=version.pk)
    line = "none" if threshold is None else f"{threshold.source}:{threshold.value!r}"
    line += f"|{generations(tenant.pk)}"
    keys = {}
    for e in encoded:
        state = f"{tenant.pk}|{version.pk}|{line}|{e.record_id}|{e.record.updated_at}|{e.encoded_at}|{side}"
        keys[e.record_id] = "no-strong-match:" + hashlib.sha256(state.encode()).hexdigest()
    try:
        known = cache.get_many(list(keys.values()))
    except Exception:  # noqa: BLE001 - Redis down: judge them now (at most `newest` searches), cache nothing
        known = None
    answers = dict(known or {})
    if not search_missing and len(answers) < len(keys):
        return None
    for e in encoded:
        if keys[e.record_id] not in answers:
            result = search(tenant=tenant, target=Kind.CANDIDATES, record=e.record, k=MATCH_PAGE_K)
            answers[keys[e.record_id]] = result.no_strong_match
    if known is not None and len(answers) > len(known):
        with contextlib.suppress(Exception):  # Redis down: the next load judges them again
            cache.set_many({k: v for k, v in answers.items() if k not in known}, timeout=CACHE_S)
    return [e.record for e in encoded if answers[keys[e.record_id]]]
