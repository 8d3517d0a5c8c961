from django.urls import path

from . import api

urlpatterns = [
    path("rules/", api.RuleListApi.as_view(), name="api-rules"),
    path("rules/<int:rule_id>/", api.RuleDetailApi.as_view(), name="api-rule-detail"),
    path("rules/<int:rule_id>/changes/", api.RuleChangesApi.as_view(), name="api-rule-changes"),
]
