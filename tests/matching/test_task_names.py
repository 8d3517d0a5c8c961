"""Services queue tasks by name (jobmatch_site/queue.py): each name must be a task a worker knows."""

from jobmatch_site.celery import app
from matching import task_names


def test_every_name_services_queue_by_is_a_registered_task():
    app.loader.import_default_modules()  # what a worker does at start: autodiscovers every app's tasks.py
    names = {value for key, value in vars(task_names).items() if key.isupper()}
    assert names and names <= set(app.tasks)
