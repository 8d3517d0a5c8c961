import pytest
from django.contrib.auth.models import User

from tenants.models import Membership
from tenants.services import ensure_member
from tests.factories import vacancy

pytestmark = pytest.mark.django_db


def test_a_logged_in_recruiter_uses_the_api_within_their_own_tenant_only(acme, globex, client):
    user = User.objects.create_user("rita", password="pw-rita-123")
    ensure_member(tenant=acme, user=user)
    ours = vacancy(acme, "Cook", encode=False)
    theirs = vacancy(globex, "Cook", encode=False)
    client.force_login(user)
    assert [row["id"] for row in client.get("/api/v1/vacancies/").json()["results"]] == [ours.id]
    assert client.get(f"/api/v1/vacancies/{theirs.id}/").status_code == 404


def test_the_dashboard_asks_for_a_login_and_then_shows_the_tenants_counts(acme, client):
    assert client.get("/").status_code == 302
    user = User.objects.create_user("rita", password="pw-rita-123")
    ensure_member(tenant=acme, user=user)
    vacancy(acme, "Cook")
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "Acme Recruiting" in page
    assert "base-minilm-l6-v2" not in page  # the engineering figures are for the team's admins (#18)
    admin = User.objects.create_user("ada", password="pw-ada-12345", is_staff=True)
    ensure_member(tenant=acme, user=admin, role=Membership.Role.ADMIN)
    client.force_login(admin)
    assert "base-minilm-l6-v2" in client.get("/").content.decode()
