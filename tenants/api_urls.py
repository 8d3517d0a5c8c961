from django.urls import path

from . import api

urlpatterns = [
    path("", api.ApiKeyListApi.as_view(), name="api-keys"),
    path("<int:key_id>/", api.ApiKeyDetailApi.as_view(), name="api-key-detail"),
]
