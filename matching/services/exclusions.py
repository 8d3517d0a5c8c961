"""The narrow interface through which search applies exclusion rules without knowing where rules come from.

rules/ builds on matching/, so matching/ may not import it. rules/apps.py registers its implementation here at
start-up; until something registers, no rule fires (matching/ alone has no rules).
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tenants.models import Tenant

from ..models import EncoderVersion


@dataclass(frozen=True)
class TriggeredRule:
    rule_id: int
    name: str
    trigger_similarity: float  # the query's similarity to anchor A (>= the trigger radius)
    exclude_vector: np.ndarray
    exclude_radius: float


class ExclusionSource(Protocol):
    def triggered(self, *, tenant: Tenant, version: EncoderVersion, query: np.ndarray) -> list[TriggeredRule]:
        """The tenant's active rules whose anchor A the query vector falls inside. A read: writes nothing."""

    def has_rules(self, *, tenant: Tenant, version: EncoderVersion) -> bool:
        """Whether the tenant has an active rule at all (else a search need not encode anything to trigger one)."""

    def prepare_version(self, *, tenant: Tenant, version: EncoderVersion) -> None:
        """Store what triggered() needs under `version`; a re-index calls it just before switching to it."""


class _NoRules:
    def triggered(self, *, tenant: Tenant, version: EncoderVersion, query: np.ndarray) -> list[TriggeredRule]:
        return []

    def has_rules(self, *, tenant: Tenant, version: EncoderVersion) -> bool:
        return False

    def prepare_version(self, *, tenant: Tenant, version: EncoderVersion) -> None:
        return None


_source: ExclusionSource = _NoRules()


def register_exclusion_source(source: ExclusionSource) -> None:
    global _source
    _source = source


def exclusion_source() -> ExclusionSource:
    return _source
