from jobmatch_site.errors import DomainError


class RulesError(DomainError):
    """Any refusal from rules/: a bad radius, an empty anchor text, a rule of another tenant."""
