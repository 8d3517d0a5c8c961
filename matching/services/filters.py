"""A search's payload filters (location, language levels, custom fields, occupations), parsed from the API, the
CLI or a form, and as a Q on vector rows or on records."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Q

from ..errors import MatchingError
from ..models import CEFR_LEVELS
from .occupations import occupation_by_uri
from .records import parse_languages

FILTER_KEYS = ("country", "city", "languages", "custom", "occupation", "isco")
MAX_FILTER_TERMS = 50


@dataclass(frozen=True)
class SearchFilters:
    country: str = ""
    city: str = ""
    languages: dict[str, str] = field(default_factory=dict)  # code -> minimum CEFR level
    custom: dict[str, object] = field(default_factory=dict)  # equality on custom fields
    occupation: str = ""  # an ESCO occupation URI among the row's top 3 (issue 20)
    isco: str = ""  # an ISCO-08 group (1 to 4 digits) one of the row's top 3 occupations falls in

    @classmethod
    def from_params(cls, params: Mapping | None) -> "SearchFilters":
        params = params or {}
        if not isinstance(params, Mapping):
            raise MatchingError("filters must be an object", field="filters")
        if unknown := sorted(set(params) - set(FILTER_KEYS)):
            raise MatchingError(
                f"unknown filter {unknown[0]!r} (known: {', '.join(FILTER_KEYS)})", field=f"filters.{unknown[0]}"
            )
        custom = params.get("custom") or {}
        if not isinstance(custom, Mapping) or any(not isinstance(v, str | int | float | bool) for v in custom.values()):
            raise MatchingError("custom filters map field names to a string, number or boolean", field="filters.custom")
        languages = parse_languages(params.get("languages"), field_name="filters.languages")
        if len(custom) + len(languages) > MAX_FILTER_TERMS:
            raise MatchingError(f"at most {MAX_FILTER_TERMS} filter terms", field="filters")
        country, city = params.get("country") or "", params.get("city") or ""
        if not isinstance(country, str) or not isinstance(city, str):
            raise MatchingError("country and city filters are strings", field="filters.country")
        for name, value in (("city", city), *((f"custom.{key}", f"{key}{v}") for key, v in custom.items())):
            if "\x00" in str(value):  # PostgreSQL text cannot hold NUL: refuse, don't 500
                raise MatchingError(f"the {name} filter contains a NUL character", field=f"filters.{name}")
        if country and (len(country.strip()) != 2 or not country.strip().isalpha()):
            raise MatchingError(f"country filter {country!r} is not an ISO 3166 alpha-2 code", field="filters.country")
        occupation, isco = _occupation_filters(params)
        return cls(
            country=country.strip().upper(),
            city=city.strip(),
            languages=languages,
            custom=dict(custom),
            occupation=occupation,
            isco=isco,
        )

    def as_q(self, prefix: str = "record__") -> Q:
        q = Q()
        if self.country:
            q &= Q(**{f"{prefix}country": self.country})
        if self.city:
            q &= Q(**{f"{prefix}city__iexact": self.city})
        for code, minimum in self.languages.items():  # B2 admits B2, C1 and C2
            q &= Q(**{f"{prefix}languages__{code}__in": list(CEFR_LEVELS[CEFR_LEVELS.index(minimum) :])})
        if self.custom:
            q &= Q(**{f"{prefix}custom_fields__contains": self.custom})
        # On vector rows (prefix "record__") the occupations are their own columns; on records, their vector rows'
        # (list_records pins the version).
        on = "" if prefix == "record__" else "embeddings__"
        if self.occupation:
            q &= Q(**{f"{on}occupation_uris__contains": [self.occupation]})
        if self.isco:
            q &= Q(**{f"{on}isco_codes__contains": [self.isco]})
        return q


def _occupation_filters(params: Mapping) -> tuple[str, str]:
    occupation, isco = params.get("occupation") or "", params.get("isco") or ""
    if not isinstance(occupation, str) or (occupation and occupation.strip() not in occupation_by_uri()):
        raise MatchingError("occupation filter is not an ESCO occupation URI", field="filters.occupation")
    if not isinstance(isco, str) or (isco and not (isco.strip().isascii() and isco.strip().isdigit()
                                                    and len(isco.strip()) <= 4)):  # fmt: skip
        raise MatchingError("isco filter is an ISCO-08 group of 1 to 4 digits", field="filters.isco")
    return occupation.strip(), isco.strip()
