"""Exclusion rules: create/update/(de)activate/delete with an audit trail, anchor encoding, and the trigger query.

A rule's radius is a cosine-similarity threshold; "inside an anchor" means similarity >= radius. A search finds
the rules its query triggers against the anchors of the tenant's active encoder, which each process keeps in
memory per tenant and version until a rule or anchor changes (`active_anchors`, `triggered_rules`, reached through
matching/services/exclusions.py, where rules/apps.py registers `RuleExclusions`); matching/services/search.py then
leaves out results inside each triggered rule's anchor B in the same SQL query that ranks them. Anchors are
encoded when a rule is saved and before a re-index switches a tenant to a new version, never by a search.
"""

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from jobmatch_site.generations import Memo, bump
from jobmatch_site.integrity import key_share_locked
from matching.models import EncoderVersion
from matching.services import active_encoder_version
from matching.services.encoding import encoder_for
from matching.services.exclusions import TriggeredRule
from tenants.models import Tenant

from .errors import RulesError
from .models import ExclusionRule, RuleAnchor, RuleChange

logger = logging.getLogger(__name__)

RULE_FIELDS = ("name", "trigger_text", "trigger_radius", "exclude_text", "exclude_radius", "active", "note")
TEXT_FIELDS = ("trigger_text", "exclude_text")
MAX_TEXT_CHARS = 500


@dataclass(frozen=True)
class Actor:
    """Who made a change: a logged-in user, or an integration's API key."""

    name: str
    user: AbstractBaseUser | None = None

    @classmethod
    def of(cls, *, user: object = None, api_key: object = None) -> "Actor":
        if user is not None and getattr(user, "is_authenticated", False):
            return cls(name=user.get_username(), user=user)
        if api_key is not None:
            return cls(name=f"api-key:{api_key.prefix}")
        return cls(name="system")


def _radius(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RulesError(f"{field} must be a number between -1 and 1", field=field)
    try:
        number = float(value)
    except ValueError:
        raise RulesError(f"{field} must be a number between -1 and 1", field=field) from None
    if not -1.0 <= number <= 1.0:  # cosine similarity of unit vectors
        raise RulesError(f"{field} must be a number between -1 and 1", field=field)
    return number


def clean_rule(data: Mapping, *, partial: bool = False, current: ExclusionRule | None = None) -> dict:
    """Validated rule fields (all of them, or those given when partial); the one path for API, admin and tests."""
    if not isinstance(data, Mapping):
        raise RulesError("a rule is an object", field=None)
    if unknown := sorted(set(data) - set(RULE_FIELDS)):
        raise RulesError(f"unknown field {unknown[0]!r}", field=unknown[0])
    required = () if partial else ("name", "trigger_text", "trigger_radius", "exclude_text", "exclude_radius")
    errors: list[RulesError] = [
        RulesError(f"{name} is required", field=name) for name in required if data.get(name) in (None, "")
    ]
    cleaned: dict = {}

    def check(name: str, parse: Callable[[object], object]) -> None:
        if name in data and all(e.field != name for e in errors):  # every field's refusal, each once
            try:
                cleaned[name] = parse(data[name])
            except RulesError as exc:
                errors.append(exc)

    for name in ("name", *TEXT_FIELDS):
        check(name, lambda value, name=name: _rule_text(value, name))
    for name in ("trigger_radius", "exclude_radius"):
        check(name, lambda value, name=name: _radius(value, name))
    check("active", _active)
    check("note", _note)
    if errors:
        details = [{"field": e.field, "detail": e.message} for e in errors]
        raise RulesError(errors[0].message, field=errors[0].field, errors=details)
    return cleaned


def _rule_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{name} must be non-empty text", field=name)
    limit = 200 if name == "name" else MAX_TEXT_CHARS
    if len(value.strip()) > limit:
        raise RulesError(f"{name} has at most {limit} characters", field=name)
    return value.strip()


def _active(value: object) -> bool:
    if not isinstance(value, bool):
        raise RulesError("active must be true or false", field="active")
    return value


def _note(value: object) -> str:
    if not isinstance(value, str | type(None)):
        raise RulesError("note must be text", field="note")
    return (value or "").strip()


def _texts_hash(rule: ExclusionRule) -> str:
    return hashlib.sha256(f"{rule.trigger_text}\x00{rule.exclude_text}".encode()).hexdigest()


@transaction.atomic
def reencode_rule_anchors(
    *, tenant: Tenant, version: EncoderVersion, rules: Iterable[ExclusionRule] | None = None
) -> int:
    """Store anchor vectors of the tenant's rules (default: all) under `version`; unchanged texts are skipped.

    The re-index calls this for the version it is about to switch to, so rules apply from the first search.
    Returns how many rules were (re-)encoded.
    """
    # A rule deleted meanwhile gets no anchors; a delete that comes later waits for this commit, and the database
    # cascades the anchors with the rule (migration 0002).
    rules = list(ExclusionRule.objects.filter(tenant=tenant) if rules is None else rules)
    alive = key_share_locked(ExclusionRule, [rule.pk for rule in rules], tenant_id=tenant.id)
    rules = [rule for rule in rules if rule.pk in alive]
    stored = dict(
        RuleAnchor.objects.filter(tenant=tenant, encoder_version=version, rule__in=rules).values_list(
            "rule_id", "text_hash"
        )
    )
    todo = [rule for rule in rules if stored.get(rule.id) != _texts_hash(rule)]
    if not todo:
        return 0
    vectors, _ = encoder_for(version).encode([text for rule in todo for text in (rule.trigger_text, rule.exclude_text)])
    RuleAnchor.objects.bulk_create(
        [
            RuleAnchor(
                tenant=tenant,
                rule=rule,
                encoder_version=version,
                trigger_vector=vectors[2 * i],
                exclude_vector=vectors[2 * i + 1],
                text_hash=_texts_hash(rule),
            )
            for i, rule in enumerate(todo)
        ],
        update_conflicts=True,
        unique_fields=["rule", "encoder_version"],
        update_fields=["trigger_vector", "exclude_vector", "text_hash", "encoded_at"],
    )
    bump(tenant.id)  # bulk_create sends no post_save: the memoised anchors (active_anchors) must reload
    return len(todo)


def _record(rule: ExclusionRule, action: str, actor: Actor, changes: dict | None = None) -> None:
    RuleChange.objects.create(
        tenant_id=rule.tenant_id,
        rule=rule if action != RuleChange.Action.DELETED else None,
        rule_name=rule.name,
        action=action,
        changes=changes or {},
        actor=actor.name[:200],
    )


def _lock(rule: ExclusionRule, *, tenant: Tenant) -> None:
    """Lock the tenant's rule until the transaction ends and reload it; one deleted meanwhile answers 404 (a save
    would INSERT it again)."""
    try:
        if rule.tenant_id != tenant.id:
            raise ExclusionRule.DoesNotExist
        rule.refresh_from_db(from_queryset=ExclusionRule.objects.select_for_update())
    except ExclusionRule.DoesNotExist:
        raise RulesError(f"rule {rule.pk} not found", status=404) from None


def _save(rule: ExclusionRule) -> None:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise RulesError(f"a rule named {rule.name!r} already exists", field="name", status=409) from None


@transaction.atomic
def create_rule(*, tenant: Tenant, data: Mapping, actor: Actor) -> ExclusionRule:
    """A new rule, its anchors encoded with the tenant's active encoder, and a 'created' audit entry."""
    rule = ExclusionRule(tenant=tenant, author=actor.user, **clean_rule(data))
    _save(rule)
    reencode_rule_anchors(tenant=tenant, version=active_encoder_version(tenant=tenant), rules=[rule])
    _record(rule, RuleChange.Action.CREATED, actor, {name: [None, getattr(rule, name)] for name in RULE_FIELDS})
    return rule


@transaction.atomic
def update_rule(
    *, tenant: Tenant, rule: ExclusionRule, data: Mapping, actor: Actor, partial: bool = True
) -> ExclusionRule:
    """Apply changed fields; new texts re-encode the anchors (other versions' anchors are dropped as stale)."""
    _lock(rule, tenant=tenant)
    cleaned = clean_rule(data, partial=partial)
    changes = {name: [getattr(rule, name), value] for name, value in cleaned.items() if getattr(rule, name) != value}
    if not changes:
        return rule
    for name, (_, value) in changes.items():
        setattr(rule, name, value)
    _save(rule)
    if set(changes) & set(TEXT_FIELDS):
        version = active_encoder_version(tenant=tenant)
        RuleAnchor.objects.filter(tenant=tenant, rule=rule).exclude(encoder_version=version).delete()
        reencode_rule_anchors(tenant=tenant, version=version, rules=[rule])
    action = RuleChange.Action.UPDATED
    if set(changes) == {"active"}:
        action = RuleChange.Action.ACTIVATED if rule.active else RuleChange.Action.DEACTIVATED
    _record(rule, action, actor, changes)
    return rule


def set_rules_active(*, tenant: Tenant, rules: Iterable[ExclusionRule], active: bool, actor: Actor) -> int:
    """Bulk (de)activation, one audit entry per rule that changed; returns how many changed."""
    changed = 0
    for rule in rules:
        if rule.active != active:
            update_rule(tenant=tenant, rule=rule, data={"active": active}, actor=actor)
            changed += 1
    return changed


@transaction.atomic
def delete_rule(*, tenant: Tenant, rule: ExclusionRule, actor: Actor) -> None:
    """Delete a rule; its audit trail stays, with a 'deleted' entry."""
    _lock(rule, tenant=tenant)
    _record(rule, RuleChange.Action.DELETED, actor, {name: [getattr(rule, name), None] for name in RULE_FIELDS})
    rule.delete()


@dataclass(frozen=True)
class ActiveAnchors:
    """The tenant's active rules under one version, as triggering needs them: memoised per tenant and version
    (jobmatch_site/generations.py), so triggering a rule costs a matrix product, not two queries."""

    rule_ids: list[int]
    names: list[str]
    trigger: np.ndarray  # float64 [rules, dimension]; the rows of a rule lacking anchors are encoded on load
    exclude: np.ndarray
    trigger_radius: np.ndarray
    exclude_radius: np.ndarray


_anchors = Memo()


def active_anchors(*, tenant: Tenant, version: EncoderVersion) -> ActiveAnchors:
    """A read: a rule without anchors under `version` (a version switched by hand, not by a re-index) is encoded in
    memory and logged, so it never silently stops applying and a search still writes nothing."""

    def load() -> ActiveAnchors:
        rows = list(
            RuleAnchor.objects.filter(tenant=tenant, encoder_version=version, rule__active=True)
            .order_by("rule_id")
            .values_list("rule_id", "rule__name", "trigger_vector", "exclude_vector", "rule__trigger_radius",
                         "rule__exclude_radius")
        )  # fmt: skip
        missing = list(
            ExclusionRule.objects.filter(tenant=tenant, active=True).exclude(anchors__encoder_version=version)
        )
        if missing:
            logger.warning("%s rule(s) of %s lack anchors under %s: encoded in memory", len(missing), tenant.slug,
                           version)  # fmt: skip
            vectors, _ = encoder_for(version).encode([t for rule in missing for t in (rule.trigger_text,
                                                                                       rule.exclude_text)])  # fmt: skip
            rows += [
                (rule.id, rule.name, vectors[2 * i], vectors[2 * i + 1], rule.trigger_radius, rule.exclude_radius)
                for i, rule in enumerate(missing)
            ]
        rows.sort(key=lambda row: row[0])
        dimension = version.dimension

        def matrix(column: int) -> np.ndarray:
            return np.array([np.asarray(row[column], dtype=np.float64) for row in rows]).reshape(len(rows), dimension)

        return ActiveAnchors(
            rule_ids=[row[0] for row in rows],
            names=[row[1] for row in rows],
            trigger=matrix(2),
            exclude=matrix(3),
            trigger_radius=np.array([row[4] for row in rows], dtype=np.float64),
            exclude_radius=np.array([row[5] for row in rows], dtype=np.float64),
        )

    return _anchors.get(tenant_id=tenant.id, key=(tenant.id, version.id), load=load)


def _cosine(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity as pgvector computes it (1 - the <=> distance), per row; 0 where a norm is 0 (pgvector's
    NaN never passes a >= test either)."""
    norms = np.sqrt((vectors * vectors).sum(axis=1) * float(query @ query))
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = np.where(norms > 0, (vectors @ query) / norms, np.nan)
    return np.clip(similarity, -1.0, 1.0)


def triggered_rules(*, tenant: Tenant, version: EncoderVersion, query: np.ndarray) -> list[TriggeredRule]:
    """The tenant's active rules whose anchor A the query vector falls inside, and is nearer than to anchor B."""
    anchors = active_anchors(tenant=tenant, version=version)
    if not anchors.rule_ids:
        return []
    query = np.asarray(query, dtype=np.float64)
    similarity, to_b = _cosine(anchors.trigger, query), _cosine(anchors.exclude, query)
    # A query nearer anchor B than anchor A is what B describes ("veterinary nurse" is near "nurse" too): the
    # rule would hide its own best matches, so it does not fire.
    fired = np.flatnonzero((similarity >= anchors.trigger_radius) & (similarity >= to_b))
    return [
        TriggeredRule(
            rule_id=anchors.rule_ids[i],
            name=anchors.names[i],
            trigger_similarity=float(similarity[i]),
            exclude_vector=anchors.exclude[i].astype(np.float32),
            exclude_radius=float(anchors.exclude_radius[i]),
        )
        for i in fired
    ]


class RuleExclusions:
    """What search and re-index need of rules/ (matching.services.exclusions.ExclusionSource)."""

    def triggered(self, *, tenant: Tenant, version: EncoderVersion, query: np.ndarray) -> list[TriggeredRule]:
        return triggered_rules(tenant=tenant, version=version, query=query)

    def has_rules(self, *, tenant: Tenant, version: EncoderVersion) -> bool:
        return bool(active_anchors(tenant=tenant, version=version).rule_ids)

    def prepare_version(self, *, tenant: Tenant, version: EncoderVersion) -> None:
        reencode_rule_anchors(tenant=tenant, version=version)
