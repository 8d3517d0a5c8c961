from django.urls import path

from . import api, normalize_api, search_api

urlpatterns = [
    path("search/", search_api.SearchApi.as_view(), name="api-search"),
    path("normalize/", normalize_api.NormalizeApi.as_view(), name="api-normalize"),
    path("vacancies/", api.VacancyListApi.as_view(), name="api-vacancies"),
    path("vacancies/bulk/", api.VacancyBulkUpsertApi.as_view(), name="api-vacancies-bulk"),
    path("vacancies/<int:record_id>/", api.VacancyDetailApi.as_view(), name="api-vacancies-detail"),
    path("candidates/", api.CandidateListApi.as_view(), name="api-candidates"),
    path("candidates/bulk/", api.CandidateBulkUpsertApi.as_view(), name="api-candidates-bulk"),
    path("candidates/<int:record_id>/", api.CandidateDetailApi.as_view(), name="api-candidates-detail"),
]
