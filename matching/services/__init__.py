"""Business operations of matching/: views, API, admin, tasks and commands call these."""

from .encoding import (
    active_encoder_version,
    encode_records,
    encoded_counts,
    ensure_base_encoder,
    queue_encoding,
    sweep_unencoded,
)
from .records import (
    MAX_BULK_ROWS,
    RecordInput,
    UpsertReport,
    clean_record,
    create_record,
    delete_record,
    parse_languages,
    update_record,
    upsert_records,
)
from .search import MAX_K, Match, SearchFilters, SearchResult, search

__all__ = [
    "MAX_BULK_ROWS",
    "MAX_K",
    "Match",
    "RecordInput",
    "SearchFilters",
    "SearchResult",
    "UpsertReport",
    "active_encoder_version",
    "clean_record",
    "create_record",
    "delete_record",
    "encode_records",
    "encoded_counts",
    "ensure_base_encoder",
    "parse_languages",
    "queue_encoding",
    "search",
    "sweep_unencoded",
    "update_record",
    "upsert_records",
]
