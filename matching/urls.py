from django.urls import path, register_converter

from . import views
from .views.common import KindConverter

register_converter(KindConverter, "kind")

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("progress/", views.progress_panel, name="progress"),
    path("no-strong-match/", views.no_strong_match_panel, name="no-strong-match"),
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
    path("import/", views.import_csv_page, name="import"),
    path("search/", views.free_text_search, name="search"),
    path("map/", views.talent_map_page, name="map"),
    path("calibration/", views.calibration_page, name="calibration"),
    path("calibration/refit/", views.calibration_refit, name="calibration-refit"),
    path("feedback/", views.feedback, name="feedback"),
    path("<kind:kind>/", views.record_list, name="records"),
    path("<kind:kind>/new/", views.record_create, name="record-new"),
    path("<kind:kind>/<int:record_id>/", views.record_detail, name="record"),
    path("<kind:kind>/<int:record_id>/matches/", views.record_matches, name="record-matches"),
    path("<kind:kind>/<int:record_id>/edit/", views.record_edit, name="record-edit"),
    path("<kind:kind>/<int:record_id>/delete/", views.record_delete, name="record-delete"),
]
