class DomainError(Exception):
    """A refusal the caller can act on; its message is safe to show them."""

    def __init__(
        self, message: str, *, field: str | None = None, status: int = 400, errors: list | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.field, self.status = message, field, status
        self.errors = errors  # per-row details of a bulk request: [{"row": n, "field": ..., "detail": ...}]
