"""ISO 3166-1 countries: the codes records store, and the names a recruiter types into the country picker."""

import unicodedata
from pathlib import Path

from ..errors import MatchingError

_DATA = Path(__file__).resolve().parent.parent / "data" / "iso3166_1.tsv"


def _load() -> dict[str, str]:
    rows = (line.split("\t") for line in _DATA.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
    return {code: name for code, name in rows}


COUNTRIES: dict[str, str] = _load()  # "DE" -> "Germany"


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_BY_NAME = {_folded(name): code for code, name in COUNTRIES.items()} | {"uk": "GB", "usa": "US"}


def resolve_country(text: str, *, field: str = "country") -> str:
    """'DE', 'de', 'Germany' or the picker's 'Germany (DE)' -> 'DE'; '' stays ''; anything else is refused."""
    value = text.strip()
    if not value:
        return ""
    if value.endswith(")") and "(" in value:  # the picker's own label, "Germany (DE)"
        value = value[value.rindex("(") + 1 : -1].strip()
    if value.upper() in COUNTRIES:
        return value.upper()
    if (code := _BY_NAME.get(_folded(value))) is not None:
        return code
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise MatchingError(f"{shown!r} is not a country: type its name (Germany) or ISO code (DE)", field=field)


def country_choices() -> list[tuple[str, str]]:
    """(code, 'Name (CODE)') sorted by name, for the picker's list."""
    return sorted(((code, f"{name} ({code})") for code, name in COUNTRIES.items()), key=lambda c: c[1])
