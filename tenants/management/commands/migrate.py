from django.core.management.commands.migrate import Command as DjangoMigrate

from tenants.rls import as_owner


class Command(DjangoMigrate):
    help = f"{DjangoMigrate.help} Runs as the tables' owner (MIGRATION_DATABASE_URL); then re-applies RLS and grants."

    def handle(self, *args: object, **options: object) -> None:
        with as_owner(options["database"]):  # the app role may not create tables, and must not own them
            super().handle(*args, **options)
