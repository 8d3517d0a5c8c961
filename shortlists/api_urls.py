from django.urls import path

from . import api

urlpatterns = [
    path("shortlists/", api.ShortlistListApi.as_view(), name="api-shortlists"),
    path("shortlists/<int:entry_id>/", api.ShortlistDetailApi.as_view(), name="api-shortlist-detail"),
]
