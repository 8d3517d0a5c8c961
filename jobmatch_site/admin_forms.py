"""What every admin form shares: a service's refusal shown where the operator can act on it."""

from django import forms

from .errors import DomainError


def add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Beside the field the refusal names, or above the form when it names none of the form's fields."""
    form.add_error(error.field if error.field in form.fields else None, error.message)
