import pytest

from matching.models import Vacancy
from tenants.errors import TenantScopeError
from tenants.scoping import tenant_scope
from tests.factories import vacancy

pytestmark = pytest.mark.django_db


def test_a_tenant_owned_table_refuses_to_be_queried_outside_a_tenant_scope(acme):
    with pytest.raises(TenantScopeError):
        list(Vacancy.objects.all())


def test_inside_a_scope_only_that_tenants_rows_exist(acme, globex):
    ours = vacancy(acme, "Welder", encode=False)
    vacancy(globex, "Welder", encode=False)
    with tenant_scope(acme.id):
        assert list(Vacancy.objects.values_list("id", flat=True)) == [ours.id]


def test_the_scope_is_restored_when_the_block_raises(acme):
    with pytest.raises(RuntimeError), tenant_scope(acme.id):
        raise RuntimeError("the block fails")
    with pytest.raises(TenantScopeError):
        Vacancy.objects.count()
