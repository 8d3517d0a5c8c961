"""Django admin offers a tenant admin their own tenant's people and rows only: in every changelist filter, add or
change form choice list, raw-id lookup and autocomplete answer, of every registered ModelAdmin."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.db import models

from matching.models import Feedback, Kind
from matching.services import record_feedback
from rules.services import Actor, create_rule
from shortlists.services import add_to_shortlist, set_pipeline_labels
from tenants.admin_scoping import ScopedRelationsAdmin
from tenants.models import ApiKey, Tenant
from tenants.scoping import TenantOwned, tenant_scope
from tenants.services import create_api_key, ensure_member
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db
MARK = "globexonly"  # in every name, title and external id of globex's twin data: it must never reach acme's admin
RULE = {"trigger_text": "nurse", "exclude_text": "vet", "trigger_radius": 0.75, "exclude_radius": 0.75}


def _twin_data(tenant: Tenant, user: User, prefix: str) -> None:
    """One of everything admin shows, owned by `tenant`, authored by `user`."""
    job = vacancy(tenant, f"{prefix} welder", external_id=f"{prefix}-v")
    person = candidate(tenant, f"{prefix} welder", external_id=f"{prefix}-c")
    with tenant_scope(tenant.id):
        create_rule(tenant=tenant, data=RULE | {"name": f"{prefix} rule"}, actor=Actor.of(user=user))
        key, _ = create_api_key(tenant=tenant, name=f"{prefix} key", created_by=user)
        record_feedback(tenant=tenant, vacancy=job, candidate=person, good=True, user=user, api_key=key)
        add_to_shortlist(tenant=tenant, vacancy=job, candidate_ids=[person.pk], note=f"{prefix} note", user=user)
        set_pipeline_labels(tenant=tenant, labels={"hired": f"{prefix} hired"})


@pytest.fixture
def twins(acme, globex, acme_admin):
    """acme's admin (holding every Django view permission, as a careless operator might grant) and twin data."""
    ada = User.objects.get(username="ada")
    ada.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    gus = User.objects.create_user(f"{MARK}-gus", password="pw-gus-123", is_staff=True)
    ensure_member(tenant=globex, user=gus, role="admin")
    _twin_data(acme, ada, "acme")
    _twin_data(globex, gus, MARK)
    return acme_admin


def _registered() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _url(model: type[models.Model], page: str = "") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{page}"


def _an_acme_row(model: type[models.Model], acme: Tenant) -> models.Model | None:
    if issubclass(model, TenantOwned):
        return model.unscoped.filter(tenant=acme).first()
    if model is Tenant:
        return acme
    return model._default_manager.filter(username="ada").first() if model is User else None


def _relations(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.get_fields() if f.is_relation and f.concrete and (f.many_to_one or f.many_to_many)]


def _assert_no_globex(response, where: str) -> None:
    assert response.status_code in (200, 302, 403, 404), f"{where}: {response.status_code}"
    body = response.content.decode().lower()
    assert MARK not in body, f"{where} shows globex: ...{body[max(0, body.find(MARK) - 300) : body.find(MARK) + 80]}"


@pytest.mark.parametrize("model", [model for model, _ in _registered()], ids=lambda model: model._meta.label)
def test_no_admin_page_shows_another_tenants_people_or_rows(twins, acme, model):
    _assert_no_globex(twins.get(_url(model)), f"{model._meta.label} changelist")
    _assert_no_globex(twins.get(_url(model, "add/")), f"{model._meta.label} add form")
    if (row := _an_acme_row(model, acme)) is not None:
        _assert_no_globex(twins.get(_url(model, f"{row.pk}/change/")), f"{model._meta.label} change form")
    for field in _relations(model):
        related = field.related_model
        if related in admin.site._registry:  # the raw-id popup a ForeignKeyRawIdWidget opens
            popup = twins.get(_url(related), {"_to_field": field.target_field.attname, "_popup": "1"})
            _assert_no_globex(popup, f"{model._meta.label}.{field.name} raw-id lookup")


@pytest.mark.parametrize("model", [model for model, _ in _registered()], ids=lambda model: model._meta.label)
def test_no_autocomplete_answer_offers_another_tenants_people_or_rows(twins, model):
    for field in _relations(model):
        params = {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field.name}
        for term in ("", MARK, "welder"):
            answer = twins.get("/admin/autocomplete/", params | {"term": term})
            _assert_no_globex(answer, f"autocomplete {model._meta.label}.{field.name} term={term!r}")


def test_the_rule_list_filters_by_acme_authors_only(twins):
    page = twins.get("/admin/rules/exclusionrule/").content.decode()
    assert "By author" in page and ">ada<" in page  # the filter is there, with acme's own author
    gus = User.objects.get(username=f"{MARK}-gus")
    assert f"author__id__exact={gus.id}" not in page


def test_twin_data_reaches_the_admin_of_its_own_tenant(twins, globex, client):
    """The markers are really there: globex's admin sees them, so their absence from acme's pages means something."""
    client.force_login(User.objects.get(username=f"{MARK}-gus"))
    assert MARK in client.get("/admin/rules/exclusionrule/").content.decode()
    with tenant_scope(globex.id):
        assert Feedback.objects.count() == 1 and ApiKey.objects.filter(name__startswith=MARK).exists()
        assert Kind.VACANCIES.record_model.objects.filter(external_id=f"{MARK}-v").exists()


@pytest.mark.parametrize("model_admin", [a for _, a in _registered()], ids=lambda a: a.model._meta.label)
def test_every_registered_admin_and_inline_scopes_its_relations(model_admin):
    """A new ModelAdmin that forgets the mixin would offer every tenant's rows as soon as it gets a related field."""
    assert isinstance(model_admin, ScopedRelationsAdmin)
    assert all(issubclass(inline, ScopedRelationsAdmin) for inline in model_admin.inlines)


def test_a_superuser_still_filters_by_every_tenants_authors(twins, client):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    for model, _ in _registered():
        assert client.get(_url(model)).status_code == 200, model._meta.label
    assert f">{MARK}-gus<" in client.get("/admin/rules/exclusionrule/").content.decode()
