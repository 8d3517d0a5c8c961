from jobmatch_site.errors import DomainError


class ShortlistError(DomainError):
    """Any refusal from shortlists/: unknown status, a note too long, another tenant's vacancy or candidate."""
