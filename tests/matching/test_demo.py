import re

import pytest

from matching.management.demo import demo_rows, seed_demo
from matching.models import Candidate, Vacancy
from tenants.models import Membership
from tenants.scoping import tenant_scope

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_a_tenant_user_and_real_rows_and_a_second_run_changes_nothing():
    first = seed_demo(slug="demo")
    with tenant_scope(first.tenant.id):
        before = sorted(Vacancy.objects.values_list("external_id", "title", "updated_at"))
        assert Candidate.objects.count() == first.candidates > 0
        assert Vacancy.objects.filter(title__icontains="veterinary nurse").exists()  # featured for the rules example
    assert Membership.objects.get(user__username="demo", tenant=first.tenant).role == "admin"
    second_team = Membership.objects.get(user__username="demo", tenant__slug="demo-north")  # for the team switcher
    assert second_team.role == "recruiter"
    with tenant_scope(second_team.tenant_id):
        assert Vacancy.objects.count() == 20 and Candidate.objects.count() == 40
        assert not Vacancy.objects.filter(external_id__in=[v[0] for v in before]).exists()

    second = seed_demo(slug="demo")
    with tenant_scope(second.tenant.id):
        assert sorted(Vacancy.objects.values_list("external_id", "title", "updated_at")) == before
    assert second.tenant.id == first.tenant.id


def test_demo_rows_read_like_postings_and_cvs():
    """No "Senior senior ...", no "1 years", no bare acronyms as titles (#18)."""
    vacancies, candidates = demo_rows()
    titles = [row["title"] for row in vacancies + candidates]
    levels = re.compile(r"(?i)\b(senior|junior|lead|chief|head)\b.*\b(senior|junior)\b")
    assert not [t for t in titles if levels.search(t) or t.isupper() or len(t) < 4]
    assert all(t[0].isupper() or not t[0].isalpha() for t in titles)
    assert not [row["description"] for row in candidates if re.search(r"\b1 years\b", row["description"])]
