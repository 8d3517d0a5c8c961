"""Free-text search: a recruiter's sentence ("senior python developer in Berlin with German B2") becomes the text
to encode plus the filters it names. Only what is unambiguous is lifted: a language followed or preceded by a CEFR
level, and "in <place>" where the place is a city or country that the tenant's own rows use."""

import re
from dataclasses import dataclass, field

from tenants.models import Tenant

from ..models import CEFR_LEVELS, Kind
from .filters import SearchFilters

LANGUAGES = {
    "arabic": "ar", "chinese": "zh", "czech": "cs", "danish": "da", "dutch": "nl", "english": "en",
    "finnish": "fi", "french": "fr", "german": "de", "greek": "el", "hindi": "hi", "hungarian": "hu",
    "italian": "it", "japanese": "ja", "korean": "ko", "norwegian": "no", "polish": "pl", "portuguese": "pt",
    "romanian": "ro", "russian": "ru", "spanish": "es", "swedish": "sv", "turkish": "tr", "ukrainian": "uk",
}  # fmt: skip
_LEVEL = "|".join(CEFR_LEVELS)
_NAMES = "|".join(LANGUAGES)
_LANGUAGE_LEVEL = re.compile(
    rf"(?:\b(?:with|and|speaks?|speaking)\s+)?(?:\b(?P<name1>{_NAMES})\s+(?P<level1>{_LEVEL})\b"
    rf"|\b(?P<level2>{_LEVEL})\s+(?P<name2>{_NAMES})\b)",
    re.IGNORECASE,
)
_PLACE = re.compile(r"\b(?:in|at|near|based in)\s+(?P<place>[^\W\d_][\w .'-]*)", re.IGNORECASE | re.UNICODE)


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what is encoded: the sentence without the parts lifted into filters
    filters: dict = field(default_factory=dict)  # SearchFilters.from_params input
    lifted: list[str] = field(default_factory=list)  # human-readable: "city Berlin", "German ≥ B2"

    def filters_with(self, explicit: SearchFilters) -> SearchFilters:
        """The lifted filters under the ones the recruiter typed into filter fields, which win."""
        typed = {"country": explicit.country, "city": explicit.city, "languages": explicit.languages}
        typed["custom"] = explicit.custom
        return SearchFilters.from_params(self.filters | {name: value for name, value in typed.items() if value})


def parse_free_text(*, tenant: Tenant, kind: Kind, query: str) -> ParsedQuery:
    text, filters, lifted = query, {}, []
    languages: dict[str, str] = {}
    for match in _LANGUAGE_LEVEL.finditer(query):
        name = (match["name1"] or match["name2"]).lower()
        level = (match["level1"] or match["level2"]).upper()
        languages[LANGUAGES[name]] = level
        lifted.append(f"{name.title()} ≥ {level}")
        text = text.replace(match.group(0), " ")
    if languages:
        filters["languages"] = languages
    if place := _PLACE.search(text):
        found = _known_place(tenant=tenant, kind=kind, words=place["place"].split())
        if found is not None:
            key, value, used = found
            filters[key] = value
            lifted.append(f"{key} {value}")
            text = f"{text[: place.start()]} {text[place.start('place') + len(used) :]}"
    text = re.sub(r"\s+", " ", re.sub(r"\b(?:with|and)\s*$", "", text.strip(), flags=re.IGNORECASE)).strip(" ,")
    return ParsedQuery(text=text or query, filters=filters, lifted=lifted)


def _known_place(*, tenant: Tenant, kind: Kind, words: list[str]) -> tuple[str, str, str] | None:
    """The longest leading run of words that names a city (or a 2-letter country code) in the tenant's rows."""
    model = kind.record_model
    for n in range(min(len(words), 4), 0, -1):
        candidate = " ".join(words[:n]).strip(" .,")
        if not candidate:
            continue
        city = model.objects.filter(tenant=tenant, city__iexact=candidate).values_list("city", flat=True).first()
        if city:
            return "city", city, " ".join(words[:n])
        if len(candidate) == 2 and model.objects.filter(tenant=tenant, country=candidate.upper()).exists():
            return "country", candidate.upper(), " ".join(words[:n])
    return None
