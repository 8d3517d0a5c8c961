from django.urls import path

from . import calibration_api, feedback_api

urlpatterns = [
    path("feedback/", feedback_api.FeedbackListApi.as_view(), name="api-feedback"),
    path("feedback/export/", feedback_api.FeedbackExportApi.as_view(), name="api-feedback-export"),
    path("feedback/import/", feedback_api.FeedbackImportApi.as_view(), name="api-feedback-import"),
    path("calibration/", calibration_api.CalibrationApi.as_view(), name="api-calibration"),
    path("calibration/refit/", calibration_api.CalibrationRefitApi.as_view(), name="api-calibration-refit"),
]
