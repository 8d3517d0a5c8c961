#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import ProgrammingError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a bad environment variable: its name and what is wrong, not a traceback
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ProgrammingError as exc:
        if "does not exist" not in str(exc):
            raise
        # A command run before `migrate` (say `seed_demo` where only `make test` ran): one line, not a traceback.
        print(
            f"the database has no JobMatch tables yet: run `{sys.argv[0]} migrate` (or `make run`) first",
            file=sys.stderr,
        )
        sys.exit(2)
