from django.apps import AppConfig


class RulesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rules"
    verbose_name = "Exclusion rules"

    def ready(self) -> None:
        from matching.services.exclusions import register_exclusion_source

        from .services import RuleExclusions

        register_exclusion_source(RuleExclusions())  # search and re-index reach rules/ only through this
        from jobmatch_site.generations import watch

        from .models import ExclusionRule, RuleAnchor

        for model in (ExclusionRule, RuleAnchor):  # services.active_anchors memoises them
            watch(model, lambda row: row.tenant_id)
