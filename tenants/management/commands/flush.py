from django.core.management.commands.flush import Command as DjangoFlush

from tenants.rls import as_owner


class Command(DjangoFlush):
    help = f"{DjangoFlush.help} Runs as the tables' owner: the app role has no TRUNCATE (it would ignore RLS)."

    def handle(self, *args: object, **options: object) -> None:
        with as_owner(options["database"]):
            super().handle(*args, **options)
