from django.apps import AppConfig


class ShortlistsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shortlists"
