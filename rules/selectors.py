"""Reads of rules/ data; never writes. Another tenant's rule reads exactly like a missing one."""

from dataclasses import dataclass

from django.db.models import QuerySet

from matching.models import EncoderVersion, Kind, Record
from matching.selectors import rows_within
from matching.services import active_encoder_version
from tenants.models import Tenant

from .errors import RulesError
from .models import ExclusionRule, RuleAnchor, RuleChange

PREVIEW_ROWS = 10


def get_rule(*, tenant: Tenant, rule_id: int | str) -> ExclusionRule:
    try:
        return ExclusionRule.objects.get(tenant=tenant, pk=int(rule_id))
    except (ExclusionRule.DoesNotExist, ValueError, TypeError):
        raise RulesError(f"rule {rule_id} not found", status=404) from None


def list_rules(*, tenant: Tenant, active: bool | None = None) -> QuerySet:
    rows = ExclusionRule.objects.filter(tenant=tenant).select_related("author")
    return rows if active is None else rows.filter(active=active)


def rule_changes(*, tenant: Tenant, rule: ExclusionRule) -> QuerySet:
    return RuleChange.objects.filter(tenant=tenant, rule=rule).order_by("-at", "-id")


@dataclass(frozen=True)
class AnchorHits:
    """The tenant's rows of one kind inside one anchor right now: the nearest few with similarities, and a count."""

    anchor: str  # "A" (trigger) or "B" (exclude)
    kind: Kind
    total: int
    rows: list[tuple[Record, float]]


def rule_preview(*, tenant: Tenant, rule: ExclusionRule, limit: int = PREVIEW_ROWS) -> list[AnchorHits] | None:
    """Which vacancies and candidates fall inside anchor A and inside anchor B under the active encoder;
    None while the rule has no anchors for that encoder (encoded when the rule is saved and before each
    re-index switch, so only a version switched by hand lacks them)."""
    version: EncoderVersion = active_encoder_version(tenant=tenant)
    anchor = RuleAnchor.objects.filter(tenant=tenant, rule=rule, encoder_version=version).first()
    if anchor is None:
        return None
    previews = []
    for name, vector, radius in (
        ("A", anchor.trigger_vector, rule.trigger_radius),
        ("B", anchor.exclude_vector, rule.exclude_radius),
    ):
        for kind in Kind:
            within = rows_within(
                tenant=tenant, kind=kind, version=version, vector=vector, min_similarity=radius, limit=limit
            )
            previews.append(AnchorHits(anchor=name, kind=kind, total=within.total, rows=within.nearest))
    return previews
