"""Business operations of matching/: views, API, admin, tasks and commands call these."""

from .calibration import (
    MIN_LABELS_PER_CLASS,
    CalibrationReport,
    Threshold,
    calibrate_tenant,
    refit_tenants_with_new_feedback,
    request_refit,
    set_policy,
    threshold_for,
)
from .confidence import confidence_calibrator, fit_confidence_calibrator
from .encoding import (
    active_encoder_version,
    encode_records,
    encoded_counts,
    queue_encoding,
    sweep_unencoded,
)
from .feedback import (
    LabelledPair,
    clear_feedback,
    export_feedback_csv,
    import_feedback_csv,
    labelled_pairs,
    record_feedback,
)
from .filters import SearchFilters
from .global_calibration import calibrate_global, ensure_global_calibrations
from .lexical import lexical_weight, score_mix
from .nearest import Match
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
    validate_record,
)
from .search import MAX_K, RuleEffect, SearchResult, search
from .versions import ensure_base_encoder, ensure_default_encoder, prepare_versions

__all__ = [
    "MAX_BULK_ROWS",
    "MAX_K",
    "MIN_LABELS_PER_CLASS",
    "CalibrationReport",
    "LabelledPair",
    "Match",
    "RecordInput",
    "RuleEffect",
    "SearchFilters",
    "SearchResult",
    "Threshold",
    "UpsertReport",
    "active_encoder_version",
    "calibrate_global",
    "clear_feedback",
    "calibrate_tenant",
    "ensure_global_calibrations",
    "export_feedback_csv",
    "import_feedback_csv",
    "labelled_pairs",
    "lexical_weight",
    "score_mix",
    "record_feedback",
    "refit_tenants_with_new_feedback",
    "request_refit",
    "prepare_versions",
    "ensure_default_encoder",
    "set_policy",
    "threshold_for",
    "clean_record",
    "validate_record",
    "confidence_calibrator",
    "create_record",
    "delete_record",
    "encode_records",
    "encoded_counts",
    "ensure_base_encoder",
    "fit_confidence_calibrator",
    "parse_languages",
    "queue_encoding",
    "search",
    "sweep_unencoded",
    "update_record",
    "upsert_records",
]
