from .dashboard import dashboard, job_detail, progress_panel
from .insights import calibration_page, calibration_refit, free_text_search, talent_map_page
from .records import (
    feedback,
    import_csv_page,
    record_create,
    record_delete,
    record_detail,
    record_edit,
    record_list,
    record_matches,
)

__all__ = [
    "calibration_page",
    "calibration_refit",
    "dashboard",
    "feedback",
    "free_text_search",
    "import_csv_page",
    "job_detail",
    "progress_panel",
    "record_create",
    "record_delete",
    "record_detail",
    "record_edit",
    "record_list",
    "record_matches",
    "talent_map_page",
]
