"""What every management command shares: refusals exit 2 with one line; the tenant comes from --tenant."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tenants.services import get_tenant_by_slug

from .errors import DomainError


@contextmanager
def refusals_exit_2() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        raise CommandError(exc.message, returncode=2) from exc


@contextmanager
def command_tenant(slug: str) -> Iterator[Tenant]:
    """The tenant named on the command line, scoped for the block; an unknown slug exits 2."""
    with refusals_exit_2():
        tenant = get_tenant_by_slug(slug=slug)
    with tenant_scope(tenant.id), refusals_exit_2():
        yield tenant
