from jobmatch_site.errors import DomainError


class MatchingError(DomainError):
    """Any refusal from matching/: bad field, unknown vacancy, encoder version not ready."""
