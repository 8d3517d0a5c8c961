from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tenants.views import switch_tenant

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/switch/", switch_tenant, name="switch-tenant"),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[], authentication_classes=[]),
        name="api-docs",
    ),
    path("api/v1/keys/", include("tenants.api_urls")),
    path("api/v1/", include("matching.api_urls")),
    path("api/v1/", include("rules.api_urls")),
    path("api/v1/", include("matching.feedback_urls")),
    path("api/v1/", include("shortlists.api_urls")),
    path("", include("shortlists.urls")),
    path("", include("matching.urls")),
]

handler400 = "jobmatch_site.api.bad_request"
handler404 = "jobmatch_site.api.not_found"
handler500 = "jobmatch_site.api.server_error"
