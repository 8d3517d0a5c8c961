"""A vacancy's own requirements in a record search: which rows meet them (SQL) and how each one fares (Python).

A vacancy requires each of its languages at its level or above (CEFR_LEVELS), its location unless it is remote
(same country, and same city when it names one, or within the tenant's radius when both sides have coordinates),
and its value of every custom field the tenant declares a requirement (RequirementPolicy.custom_fields). The
requirements are always the vacancy's: candidates for a vacancy must meet the vacancy's, and a candidate is
offered only the vacancies whose requirements they meet. Free text has no requirements.

Modes, per search: `filter` (default) leaves out rows that miss any; `rank` keeps them, scored lower by the
tenant's rank_penalty per unmet requirement; `ignore` applies none. Every mode reports each requirement per hit.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import BooleanField, F, FloatField, Func, Q
from django.db.models.lookups import LessThanOrEqual

from tenants.models import Tenant

from ..errors import MatchingError
from ..models import CEFR_LEVELS, Candidate, Record, RequirementPolicy, Vacancy

MODES = ("filter", "rank", "ignore")
DEFAULT_MODE = "filter"
EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius


def clean_mode(mode: object) -> str:
    if mode is None or mode == "":
        return DEFAULT_MODE
    if mode not in MODES:
        raise MatchingError(f"requirements must be one of {', '.join(MODES)}", field="requirements")
    return mode


def policy_for(*, tenant: Tenant) -> RequirementPolicy:
    return RequirementPolicy.objects.filter(tenant=tenant).first() or RequirementPolicy(tenant=tenant)


def clean_requirement_policy(*, rank_penalty: object, radius_km: object, custom_fields: object) -> None:
    """Refuses a penalty, radius or field list that makes no sense (the API-less edges: admin, services)."""
    if isinstance(rank_penalty, bool) or not isinstance(rank_penalty, int | float) or not 0 <= rank_penalty <= 2:
        raise MatchingError("rank_penalty must be a number from 0 to 2 (cosine units)", field="rank_penalty")
    if isinstance(radius_km, bool) or not isinstance(radius_km, int | float) or not 0 <= radius_km <= 20_000:
        raise MatchingError("radius_km must be a number from 0 to 20000", field="radius_km")
    if not isinstance(custom_fields, list) or not all(isinstance(name, str) and name for name in custom_fields):
        raise MatchingError("custom_fields must be a list of field names", field="custom_fields")


def set_requirement_policy(
    *, tenant: Tenant, rank_penalty: float, radius_km: float, custom_fields: list[str]
) -> RequirementPolicy:
    """Choose the rank penalty, the radius and the custom fields that are requirements."""
    clean_requirement_policy(rank_penalty=rank_penalty, radius_km=radius_km, custom_fields=custom_fields)
    policy, _ = RequirementPolicy.objects.update_or_create(
        tenant=tenant,
        defaults={"rank_penalty": float(rank_penalty), "radius_km": float(radius_km), "custom_fields": custom_fields},
    )
    return policy


def distance_km(a: Record, b: Record) -> float | None:
    """Great-circle (haversine) distance, or None unless both have coordinates."""
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    dphi, dlmb = phi2 - phi1, math.radians(b.longitude - a.longitude)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class _HaversineKm(Func):
    """The same distance in SQL, from the row's coordinates to a fixed point (NULL when the row has none)."""

    output_field = FloatField()

    def __init__(self, prefix: str, latitude: float, longitude: float) -> None:
        super().__init__(F(f"{prefix}latitude"), F(f"{prefix}longitude"))
        self.point = (float(latitude), float(longitude))

    def as_sql(self, compiler, connection, **extra):  # noqa: ANN001, ANN201
        (lat, lat_params), (lon, lon_params) = (compiler.compile(e) for e in self.source_expressions)
        lat0, lon0 = self.point
        sql = (
            f"(2 * {EARTH_RADIUS_KM} * asin(least(1.0, sqrt(power(sin(radians({lat} - %s) / 2), 2)"
            f" + cos(radians(%s)) * cos(radians({lat})) * power(sin(radians({lon} - %s) / 2), 2)))))"
        )
        return sql, (*lat_params, lat0, lat0, *lat_params, *lon_params, lon0)


class _LanguagesMet(Func):
    """True when `have` (code -> level) meets every language the row requires at its level."""

    output_field = BooleanField()

    def __init__(self, prefix: str, have: Mapping[str, str]) -> None:
        super().__init__(F(f"{prefix}languages"))
        self.have = json.dumps(dict(have))

    def as_sql(self, compiler, connection, **extra):  # noqa: ANN001, ANN201
        required, params = compiler.compile(self.source_expressions[0])
        levels = list(CEFR_LEVELS)
        sql = (
            f"NOT EXISTS (SELECT 1 FROM jsonb_each_text({required}) AS req(code, level) "
            "WHERE array_position(%s::text[], req.level) "
            "> COALESCE(array_position(%s::text[], %s::jsonb ->> req.code), 0))"
        )
        return sql, (*params, levels, levels, self.have)


def _within(prefix: str, point: Record, radius_km: float) -> Q:
    if point.latitude is None or point.longitude is None:
        return Q(pk__in=[])
    return Q(LessThanOrEqual(_HaversineKm(prefix, point.latitude, point.longitude), radius_km))


def requirements_q(*, query: Record, policy: RequirementPolicy, prefix: str = "record__") -> Q:
    """The rows of the other kind that meet the vacancy's requirements: the vacancy's own when `query` is one,
    else each row's (the query is a candidate and the rows are vacancies)."""
    if isinstance(query, Vacancy):
        return _candidates_meeting(query, policy, prefix)
    if isinstance(query, Candidate):
        return _vacancies_met_by(query, policy, prefix)
    return Q()


def _candidates_meeting(vacancy: Vacancy, policy: RequirementPolicy, prefix: str) -> Q:
    q = Q()
    for code, minimum in vacancy.languages.items():
        q &= Q(**{f"{prefix}languages__{code}__in": list(CEFR_LEVELS[CEFR_LEVELS.index(minimum) :])})
    if vacancy.country and not vacancy.remote:
        place = Q(**{f"{prefix}country": vacancy.country})
        if vacancy.city:
            place &= Q(**{f"{prefix}city__iexact": vacancy.city})
        q &= place | _within(prefix, vacancy, policy.radius_km)
    for name in policy.custom_fields:
        if name in vacancy.custom_fields:
            q &= Q(**{f"{prefix}custom_fields__contains": {name: vacancy.custom_fields[name]}})
    return q


def _vacancies_met_by(candidate: Candidate, policy: RequirementPolicy, prefix: str) -> Q:
    q = Q(_LanguagesMet(prefix, candidate.languages))
    place = Q(**{f"{prefix}remote": True}) | Q(**{f"{prefix}country": ""})
    if candidate.country:
        same_city = Q(**{f"{prefix}city": ""}) | Q(**{f"{prefix}city__iexact": candidate.city})
        place |= Q(**{f"{prefix}country": candidate.country}) & same_city
    q &= place | _within(prefix, candidate, policy.radius_km)
    for name in policy.custom_fields:
        unrequired = ~Q(**{f"{prefix}custom_fields__has_key": name})
        if name in candidate.custom_fields:
            unrequired |= Q(**{f"{prefix}custom_fields__contains": {name: candidate.custom_fields[name]}})
        q &= unrequired
    return q


@dataclass(frozen=True)
class RequirementCheck:
    requirement: str  # "language pl", "location", "custom licence"
    wanted: str
    have: str
    met: bool


def _place(record: Record) -> str:
    return ", ".join(part for part in (record.city, record.country) if part) or "no location"


def check_requirements(*, vacancy: Vacancy, candidate: Candidate, policy: RequirementPolicy) -> list[RequirementCheck]:
    """Every requirement of the vacancy and whether the candidate meets it; agrees with requirements_q."""
    checks = []
    for code, minimum in vacancy.languages.items():
        have = candidate.languages.get(code)
        met = have is not None and CEFR_LEVELS.index(have) >= CEFR_LEVELS.index(minimum)
        checks.append(RequirementCheck(f"language {code}", minimum, have or "none", met))
    if vacancy.remote:
        checks.append(RequirementCheck("location", "remote", _place(candidate), True))
    elif vacancy.country:
        km = distance_km(vacancy, candidate)
        same = candidate.country == vacancy.country and (
            not vacancy.city or candidate.city.casefold() == vacancy.city.casefold()
        )
        wanted = f"{_place(vacancy)} or within {policy.radius_km:g} km"
        have = _place(candidate) + ("" if km is None else f" ({km:,.0f} km)")
        checks.append(RequirementCheck("location", wanted, have, same or (km is not None and km <= policy.radius_km)))
    for name in policy.custom_fields:
        if name in vacancy.custom_fields:
            wanted, have = vacancy.custom_fields[name], candidate.custom_fields.get(name)
            checks.append(
                RequirementCheck(f"custom {name}", str(wanted), "none" if have is None else str(have), have == wanted)
            )
    return checks
