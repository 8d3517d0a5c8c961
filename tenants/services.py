"""Tenants, memberships and API keys."""

import hashlib
import hmac
import secrets

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from .errors import TenancyError
from .models import ApiKey, Membership, Tenant
from .scoping import cross_tenant_scope, tenant_scope

API_KEY_PREFIX = "jm"
ALL_SCOPES = [scope.value for scope in ApiKey.Scope]


def get_tenant_by_slug(*, slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise TenancyError(f"unknown tenant {slug!r}", field="tenant", status=404) from None


def ensure_tenant(*, slug: str, name: str, encoder: models.Model | None = None) -> Tenant:
    """The tenant with this slug, created when missing; `encoder` (an EncoderVersion, which the caller in matching/
    chooses: tenants/ knows no encoders) becomes its active one if it has none yet."""
    tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": name})
    if tenant.active_encoder_id is None and encoder is not None:
        tenant.active_encoder = encoder
        tenant.save(update_fields=["active_encoder"])
    return tenant


def ensure_member(*, tenant: Tenant, user: User, role: str = Membership.Role.RECRUITER) -> Membership:
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return membership


def tenants_of(*, user: User) -> list[Tenant]:
    return [m.tenant for m in Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__slug")]


def role_in(*, user: User, tenant_id: int) -> str | None:
    return Membership.objects.filter(user=user, tenant_id=tenant_id).values_list("role", flat=True).first()


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_key(
    *,
    tenant: Tenant,
    name: str,
    scopes: list[str] | None = None,
    created_by: User | None = None,
    granted_by: set[str] | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is shown once and never stored.

    `granted_by`: the scopes of the credentials asking; a key never gets a scope its creator lacks.
    """
    scopes = list(dict.fromkeys(ALL_SCOPES if scopes is None else scopes))
    if unknown := sorted(set(scopes) - set(ALL_SCOPES)):
        raise TenancyError(f"unknown scope(s): {', '.join(unknown)}", field="scopes")
    if granted_by is not None and (beyond := sorted(set(scopes) - set(granted_by))):
        raise TenancyError(f"these credentials cannot grant {', '.join(beyond)}", field="scopes", status=403)
    if not name.strip():
        raise TenancyError("a key needs a name", field="name")
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    with tenant_scope(tenant.id):
        key = ApiKey.objects.create(
            tenant=tenant,
            name=name.strip(),
            prefix=prefix,
            secret_hash=_hash_secret(secret),
            scopes=scopes,
            created_by=created_by,
        )
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


def revoke_api_key(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        with tenant_scope(key.tenant_id):
            key.save(update_fields=["revoked_at"])


def split_api_key(raw: str) -> tuple[str, str] | None:
    """(prefix, the secret's hash) of a key's plaintext, or None when it is not shaped like a key."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    return parts[1], _hash_secret(parts[2])


def cross_tenant_authenticate_api_key(*, raw: str, touch: bool = True) -> ApiKey | None:
    """The live key that `raw` is the plaintext of, or None; compared in constant time. `touch`: write last_used_at
    when it is over a minute old (tenants/credentials.py decides that itself when Redis answers)."""
    split = split_api_key(raw)
    if split is None:
        return None
    prefix, secret_hash = split
    # Before any tenant is known, the lookup by prefix is the one place a key is read across tenants.
    with cross_tenant_scope():
        key = ApiKey.unscoped.select_related("tenant").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, secret_hash):
        return None
    now = timezone.now()
    if touch and (key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60):
        with tenant_scope(key.tenant_id):  # one write a minute, not per call
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
