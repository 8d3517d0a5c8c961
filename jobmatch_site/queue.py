"""Queue work for a Celery worker by task name: services queue through here and never import the task modules
(tasks import services), so imports run one way. The names live in each app's task_names.py, which the task
modules register under; tests/test_layers.py checks that every name is a registered task."""

import logging

from django.db import transaction

from .celery import app

logger = logging.getLogger(__name__)


def send(name: str, *args: object) -> bool:
    """Publish the task now; False (logged) when the broker is unreachable, which callers treat as 'left for the
    periodic sweep' (the publish itself gives up after about a second: CELERY_TASK_PUBLISH_RETRY_POLICY)."""
    try:
        app.send_task(name, args=args)
    except Exception:  # the broker being down must never fail the write that asked for the work
        logger.warning("broker unavailable; %s%s not queued", name, args)
        return False
    return True


def send_on_commit(name: str, *args: object) -> None:
    """Publish the task once the surrounding transaction commits (at once outside one): a worker must never see a
    row before it exists."""
    transaction.on_commit(lambda: send(name, *args))
