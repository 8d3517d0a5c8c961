from django.urls import path

from . import api
from .models import Kind

urlpatterns = [path("search/", api.SearchApi.as_view(), name="api-search")]
for kind in Kind:
    urlpatterns += [
        path(f"{kind.value}/", api.RecordListApi.as_view(kind=kind), name=f"api-{kind.value}"),
        path(f"{kind.value}/bulk/", api.RecordBulkUpsertApi.as_view(kind=kind), name=f"api-{kind.value}-bulk"),
        path(f"{kind.value}/<int:record_id>/", api.RecordDetailApi.as_view(kind=kind), name=f"api-{kind.value}-detail"),
    ]
