"""Reads of tenants/ data; never writes. Another tenant's key reads exactly like a missing one."""

from django.db.models import QuerySet

from .errors import TenancyError
from .models import ApiKey, Tenant


def list_api_keys(*, tenant: Tenant) -> QuerySet:
    return ApiKey.objects.filter(tenant=tenant).order_by("-id")


def get_api_key(*, tenant: Tenant, key_id: int) -> ApiKey:
    try:
        return ApiKey.objects.get(tenant=tenant, pk=int(key_id))
    except (ApiKey.DoesNotExist, ValueError, TypeError):
        raise TenancyError(f"API key {key_id} not found", status=404) from None
