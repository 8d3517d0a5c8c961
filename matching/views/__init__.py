from .calibration import calibration_page, calibration_refit
from .dashboard import dashboard, job_detail, no_strong_match_panel, progress_panel
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
from .search import free_text_search
from .talent_map import talent_map_page

__all__ = [
    "calibration_page",
    "calibration_refit",
    "dashboard",
    "feedback",
    "free_text_search",
    "import_csv_page",
    "job_detail",
    "no_strong_match_panel",
    "progress_panel",
    "record_create",
    "record_delete",
    "record_detail",
    "record_edit",
    "record_list",
    "record_matches",
    "talent_map_page",
]
