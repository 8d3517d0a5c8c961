"""Web forms: they only collect text. Validation is services/records.py's and SearchFilters', shared with the API
and CSV import, and a refusal comes back as a field error on the form."""

import json

from django import forms
from django.utils.html import format_html, format_html_join

from .errors import MatchingError
from .models import Kind
from .reference_data import ISCO_MAJOR_GROUPS
from .services import SearchFilters
from .services.countries import country_choices, resolve_country

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
    """Puts a service refusal on the field it names (each of them, when it lists several); a name the form lacks
    (or none) becomes a form-wide error."""

    field_aliases: dict[str, str] = {}

    def add_service_error(self, exc: MatchingError) -> None:
        for item in exc.errors or [{"field": exc.field, "detail": exc.message}]:
            if "row" in item:  # a bulk row's error has no field on this form
                item = {"field": None, "detail": exc.message}
            name = (item["field"] or "").removeprefix("filters.")
            name = self.field_aliases.get(name, name.split(".")[0])
            name = name if name in self.fields else None
            if item["detail"] not in self.errors.get(name or "__all__", []):
                self.add_error(name, item["detail"])


class CountryInput(forms.TextInput):
    """A text box with the ISO 3166 list as suggestions: type "Germany", "ger" or "de" and pick "Germany (DE)"."""

    def __init__(self, attrs: dict | None = None) -> None:
        picker = {"autocomplete": "off", "placeholder": "Germany or DE", "list": "country-list"}
        super().__init__(picker | (attrs or {}))

    def render(self, name: str, value: object, attrs: dict | None = None, renderer: object = None) -> str:
        options = format_html_join("", '<option value="{}"></option>', ((label,) for _, label in country_choices()))
        box = super().render(name, value, attrs, renderer)
        return format_html('{}<datalist id="country-list">{}</datalist>', box, options)


class CountryField(forms.CharField):
    """A country by name or code, stored as its ISO 3166-1 alpha-2 code; what is not a country is refused."""

    widget = CountryInput

    def to_python(self, value: object) -> str:
        try:
            return resolve_country(super().to_python(value))
        except MatchingError as exc:
            raise forms.ValidationError(exc.message) from None


def _text_box(placeholder: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder})


class FilterForm(ServiceErrorsMixin, forms.Form):
    """The filters of lists, matches and free-text search: country, city, minimum language levels, custom fields.

    No max_length on any box: a browser cuts what is typed past it without a word; the services refuse instead.
    """

    field_aliases = {"languages": "language"}

    country = CountryField(required=False)
    city = forms.CharField(required=False, widget=_text_box("Berlin"))
    language = forms.CharField(required=False, widget=_text_box("de:B2"))
    custom = forms.CharField(required=False, widget=_text_box("seniority=senior"))
    isco = forms.ChoiceField(
        required=False,
        label="Occupation group",
        choices=[("", "any"), *((digit, f"{digit} {name}") for digit, name in ISCO_MAJOR_GROUPS.items())],
        help_text="ISCO-08 major group of one of the row's top 3 ESCO occupations",
    )

    def search_filters(self) -> SearchFilters | None:
        """The filters, or None with every error on the form (each box is checked on its own)."""
        self.is_valid()
        data = self.cleaned_data
        params = {"country": data.get("country", ""), "city": data.get("city", ""), "languages": data.get("language")}
        params["isco"] = data.get("isco") or ""
        try:
            params["custom"] = parse_custom_pairs(data.get("custom", ""), field="custom")
        except MatchingError as exc:
            self.add_service_error(exc)
        for name, value in params.items():
            try:
                SearchFilters.from_params({name: value})
            except MatchingError as exc:
                self.add_service_error(exc)
        if self.errors:
            return None
        try:
            return SearchFilters.from_params(params)
        except MatchingError as exc:  # what only the filters together break (too many terms)
            self.add_service_error(exc)
            return None


class MatchFilterForm(FilterForm):
    """A record's matches: the filters, and what the vacancy's requirements do (services/requirements.py)."""

    requirements = forms.ChoiceField(
        required=False,
        choices=[
            ("filter", "required (leave out who misses one)"),
            ("rank", "rank lower who misses one"),
            ("ignore", "ignore"),
        ],
        label="Vacancy requirements",
    )


class RecordForm(ServiceErrorsMixin, forms.Form):
    """A vacancy or candidate; the limits are the service's, which refuses past them rather than cutting."""

    field_order = ["display_name", "contact", "external_id", "title"]

    external_id = forms.CharField(required=False, help_text="your own id for it, unique in the team (up to 100)")
    title = forms.CharField(required=False, help_text="up to 300 characters")  # the service says it is required
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    country = CountryField(required=False, help_text="start typing its name or code, e.g. Germany or DE")
    city = forms.CharField(required=False)
    latitude = forms.CharField(required=False, help_text="a number between -90 and 90, e.g. 52.52")
    longitude = forms.CharField(required=False, help_text="a number between -180 and 180, e.g. 13.405")
    languages = forms.CharField(required=False, help_text="e.g. en:C1;de:B2 (CEFR A1..C2)")
    custom_fields = forms.CharField(required=False, help_text="name=value; name=value", widget=forms.TextInput())
    display_name = forms.CharField(
        required=False, label="Name", help_text="the person's name; never used in matching (up to 200 characters)"
    )
    contact = forms.CharField(
        required=False, help_text="e-mail or phone; never used in matching, exported with shortlists (up to 300)"
    )
    remote = forms.BooleanField(
        required=False, help_text="a vacancy done from anywhere: its location is no requirement"
    )

    def __init__(self, *args: object, kind: Kind, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if kind is not Kind.CANDIDATES:  # a vacancy is not a person
            del self.fields["display_name"], self.fields["contact"]

    @classmethod
    def initial_for(cls, record: object) -> dict:
        return {
            "display_name": getattr(record, "display_name", ""),
            "contact": getattr(record, "contact", ""),
            "external_id": record.external_id,
            "title": record.title,
            "description": record.description,
            "country": record.country,
            "city": record.city,
            "latitude": "" if record.latitude is None else record.latitude,
            "longitude": "" if record.longitude is None else record.longitude,
            "languages": ";".join(f"{code}:{level}" for code, level in record.languages.items()),
            "custom_fields": format_custom_pairs(record.custom_fields),
            "remote": record.remote,
        }

    def record_data(self) -> dict:
        """The body for create_record/update_record; the form's own errors (a bad country) are kept beside it, and
        the caller lets the service report the rest so that every error shows at once."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name, "") for name in self.fields}  # a box in error sends nothing
        try:
            data["custom_fields"] = parse_custom_pairs(data["custom_fields"] or "", field="custom_fields")
        except MatchingError as exc:
            self.add_service_error(exc)
            data["custom_fields"] = {}
        for name in ("latitude", "longitude"):
            data[name] = data[name] or None
        return data


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.CANDIDATES)
    file = forms.FileField(help_text="UTF-8 CSV with external_id and title columns; other columns become custom fields")


MAX_FREE_TEXT_CHARS = 2000


class FreeTextForm(forms.Form):
    """A recruiter's sentence; sent by POST (a long one would not fit a URL), refused past its limit, never cut."""

    q = forms.CharField(
        label="Search",
        help_text=f"up to {MAX_FREE_TEXT_CHARS:,} characters",
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": "senior python developer in Berlin with German B2",
                "data-limit": MAX_FREE_TEXT_CHARS,  # app.js counts as you type; no maxlength, which would cut
            }
        ),
    )
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.CANDIDATES, label="Find")
    for_vacancy = forms.ChoiceField(
        required=False,
        label="For vacancy",
        help_text="optional, when finding candidates: lets you mark results and add them to its shortlist",
    )

    def __init__(self, *args: object, vacancies: list[tuple[int, str]] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["for_vacancy"].choices = [("", "(none)"), *vacancies]

    def clean_q(self) -> str:
        text = self.cleaned_data["q"]
        if len(text) > MAX_FREE_TEXT_CHARS:
            raise forms.ValidationError(
                f"This search is {len(text):,} characters long; it takes up to {MAX_FREE_TEXT_CHARS:,}. "
                "Keep the words that describe the job."
            )
        return text
