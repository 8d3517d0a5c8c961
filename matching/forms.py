"""Web forms: they only collect text. Validation is services/records.py's and SearchFilters', shared with the API
and CSV import, and a refusal comes back as a field error on the form."""

import json

from django import forms

from .errors import MatchingError
from .models import Kind
from .reference_data import ISCO_MAJOR_GROUPS
from .services import SearchFilters

FILTER_HELP = {
    "language": "minimum levels, e.g. de:B2;en:C1",
    "custom": "field=value; another=value",
}


def parse_custom_pairs(text: str, *, field: str) -> dict[str, object]:
    """'seniority=senior; remote=true' -> {"seniority": "senior", "remote": True}; JSON scalars keep their type."""
    pairs: dict[str, object] = {}
    for chunk in filter(None, (part.strip() for part in text.replace("\n", ";").split(";"))):
        name, sep, raw = chunk.partition("=")
        if not sep or not name.strip():
            raise MatchingError(f"{chunk!r} is not in the form name=value", field=field)
        try:
            value = json.loads(raw.strip())
            if not isinstance(value, bool | int | float) or value != value:  # NaN
                value = raw.strip()
        except ValueError:
            value = raw.strip()
        pairs[name.strip()] = value
    return pairs


def format_custom_pairs(values: dict) -> str:
    return "; ".join(f"{name}={json.dumps(v) if isinstance(v, bool) else v}" for name, v in values.items())


class ServiceErrorsMixin:
    """Puts a service refusal on the field it names; a name the form lacks (or none) becomes a form-wide error."""

    field_aliases: dict[str, str] = {}

    def add_service_error(self, exc: MatchingError) -> None:
        name = (exc.field or "").removeprefix("filters.")
        name = self.field_aliases.get(name, name.split(".")[0])
        self.add_error(name if name in self.fields else None, exc.message)


class FilterForm(ServiceErrorsMixin, forms.Form):
    """The filters of lists, matches and free-text search: country, city, minimum language levels, custom fields."""

    field_aliases = {"languages": "language"}

    country = forms.CharField(required=False, max_length=2, widget=forms.TextInput(attrs={"placeholder": "DE"}))
    city = forms.CharField(required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "Berlin"}))
    language = forms.CharField(required=False, max_length=200, widget=forms.TextInput(attrs={"placeholder": "de:B2"}))
    custom = forms.CharField(
        required=False, max_length=500, widget=forms.TextInput(attrs={"placeholder": "seniority=senior"})
    )
    isco = forms.ChoiceField(
        required=False,
        label="Occupation group",
        choices=[("", "any"), *((digit, f"{digit} {name}") for digit, name in ISCO_MAJOR_GROUPS.items())],
        help_text="ISCO-08 major group of one of the row's top 3 ESCO occupations",
    )

    def search_filters(self) -> SearchFilters | None:
        """The filters, or None with the errors on the form."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return SearchFilters.from_params(
                {
                    "country": data["country"],
                    "city": data["city"],
                    "languages": data["language"],
                    "custom": parse_custom_pairs(data["custom"], field="custom"),
                    "isco": data.get("isco") or "",
                }
            )
        except MatchingError as exc:
            self.add_service_error(exc)
            return None


class RecordForm(ServiceErrorsMixin, forms.Form):
    external_id = forms.CharField(max_length=100, help_text="your own id for it, unique in the team")
    title = forms.CharField(max_length=300)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    country = forms.CharField(required=False, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE")
    city = forms.CharField(required=False, max_length=100)
    latitude = forms.CharField(required=False, max_length=30)
    longitude = forms.CharField(required=False, max_length=30)
    languages = forms.CharField(required=False, max_length=500, help_text="e.g. en:C1;de:B2 (CEFR A1..C2)")
    custom_fields = forms.CharField(
        required=False, max_length=5000, help_text="name=value; name=value", widget=forms.TextInput()
    )

    @classmethod
    def initial_for(cls, record: object) -> dict:
        return {
            "external_id": record.external_id,
            "title": record.title,
            "description": record.description,
            "country": record.country,
            "city": record.city,
            "latitude": "" if record.latitude is None else record.latitude,
            "longitude": "" if record.longitude is None else record.longitude,
            "languages": ";".join(f"{code}:{level}" for code, level in record.languages.items()),
            "custom_fields": format_custom_pairs(record.custom_fields),
        }

    def record_data(self) -> dict | None:
        """The body for create_record/update_record, or None with the errors on the form."""
        if not self.is_valid():
            return None
        data = dict(self.cleaned_data)
        try:
            data["custom_fields"] = parse_custom_pairs(data["custom_fields"], field="custom_fields")
        except MatchingError as exc:
            self.add_service_error(exc)
            return None
        for name in ("latitude", "longitude"):
            data[name] = data[name] or None
        return data


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.CANDIDATES)
    file = forms.FileField(help_text="UTF-8 CSV with external_id and title columns; other columns become custom fields")


class FreeTextForm(forms.Form):
    q = forms.CharField(
        label="Search",
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "senior python developer in Berlin with German B2"}),
    )
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.CANDIDATES, label="Find")
