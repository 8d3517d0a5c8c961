from django.urls import path

from . import views

urlpatterns = [
    path("vacancies/<int:vacancy_id>/shortlist/", views.shortlist_page, name="shortlist"),
    path("vacancies/<int:vacancy_id>/shortlist/bulk/", views.shortlist_bulk, name="shortlist-bulk"),
    path("vacancies/<int:vacancy_id>/shortlist.csv", views.shortlist_csv, name="shortlist-csv"),
    path("shortlist/<int:entry_id>/", views.shortlist_entry, name="shortlist-entry"),
    path("settings/pipeline/", views.pipeline_labels_page, name="pipeline-labels"),
]
