"""The tenant admin's form for the pipeline's names: one box per fixed step, validated by the service."""

from django import forms

from .errors import ShortlistError
from .models import ShortlistEntry
from .services import MAX_LABEL_CHARS


class PipelineLabelsForm(forms.Form):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for status, default in ShortlistEntry.Status.choices:
            # No max_length: a name past the limit is refused with the limit said, never cut by the browser.
            self.fields[f"label_{status}"] = forms.CharField(
                label=f"Step “{default}”", required=False, strip=False,
                help_text=f"up to {MAX_LABEL_CHARS} characters; the default is “{default}”",
            )  # fmt: skip

    def labels(self) -> dict[str, str]:
        return {status: self.cleaned_data.get(f"label_{status}", "") for status in ShortlistEntry.Status.values}

    def add_service_error(self, exc: ShortlistError) -> None:
        for item in exc.errors or [{"field": exc.field, "detail": exc.message}]:
            name = f"label_{item['field']}"
            self.add_error(name if name in self.fields else None, item["detail"])
