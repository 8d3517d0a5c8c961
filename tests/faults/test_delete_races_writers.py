"""A delete racing a write that references the deleted row: both succeed, and nothing references the row after.

Each test holds the writer's transaction open after its write, deletes the referenced row from a second
connection, then lets the writer commit: the interleaving in which a row a delete did not see (its collector read
before the writer committed) ends up referencing a deleted one. The delete answers once the writer has committed,
at the latest (a second); neither side may fail.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from matching.models import Feedback, Vacancy
from matching.services import active_encoder_version, delete_record, record_feedback
from rules.errors import RulesError
from rules.models import ExclusionRule, RuleAnchor, RuleChange
from rules.services import Actor, create_rule, delete_rule, reencode_rule_anchors, update_rule
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
ACTOR = Actor(name="test")
RULE = {"name": "r", "trigger_text": "welder", "trigger_radius": 0.8, "exclude_text": "nurse", "exclude_radius": 0.8}


def _race(tenant_id: int, write: Callable[[], object], delete: Callable[[], object]) -> list[BaseException]:
    """Run `write` in a transaction held open, `delete` from another connection meanwhile, then commit the write."""
    written, deleted, errors = threading.Event(), threading.Event(), []

    def in_thread(work: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                with tenant_scope(tenant_id):
                    work()
            except BaseException as exc:  # noqa: BLE001 -- reported by the test
                errors.append(exc)
            finally:
                written.set()
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def writer() -> None:
        with transaction.atomic():
            write()
            written.set()
            deleted.wait(timeout=1)  # the delete either finished, or waits for this commit

    def deleter() -> None:
        written.wait(timeout=10)
        with transaction.atomic():
            delete()
        deleted.set()

    threads = [in_thread(writer), in_thread(deleter)]
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_feedback_written_while_its_vacancy_is_deleted_leaves_neither(acme):
    job, person = vacancy(acme, "Welder", encode=False), candidate(acme, "Welder", encode=False)
    errors = _race(
        acme.id,
        lambda: record_feedback(tenant=acme, vacancy=job, candidate=person, good=True),
        lambda: delete_record(tenant=acme, record=Vacancy.objects.get(pk=job.pk)),
    )
    assert errors == []
    with tenant_scope(acme.id):
        assert (Vacancy.objects.filter(pk=job.pk).count(), Feedback.objects.count()) == (0, 0)


def test_anchors_written_while_their_rule_is_deleted_leave_neither(acme):
    with tenant_scope(acme.id):
        rule = create_rule(tenant=acme, data=RULE, actor=ACTOR)
        RuleAnchor.objects.all().delete()  # as before a re-index: the new version has no anchors yet
        version = active_encoder_version(tenant=acme)
    errors = _race(
        acme.id,
        lambda: reencode_rule_anchors(tenant=acme, version=version),
        lambda: delete_rule(tenant=acme, rule=ExclusionRule.objects.get(pk=rule.pk), actor=ACTOR),
    )
    assert errors == []
    with tenant_scope(acme.id):
        assert (ExclusionRule.objects.count(), RuleAnchor.objects.count()) == (0, 0)


def test_a_rule_updated_while_it_is_deleted_stays_deleted(acme):
    with tenant_scope(acme.id):
        rule = create_rule(tenant=acme, data=RULE, actor=ACTOR)
    errors = _race(
        acme.id,
        lambda: update_rule(tenant=acme, rule=rule, data={"trigger_text": "plumber"}, actor=ACTOR),
        lambda: delete_rule(tenant=acme, rule=ExclusionRule.objects.get(pk=rule.pk), actor=ACTOR),
    )
    assert errors == []
    with tenant_scope(acme.id):
        assert (ExclusionRule.objects.count(), RuleAnchor.objects.count()) == (0, 0)
        assert not RuleChange.objects.filter(rule__isnull=False).exists()  # the audit trail stays, unlinked


def test_a_rule_deleted_before_an_update_commits_answers_the_update_404(acme):
    with tenant_scope(acme.id):
        rule = create_rule(tenant=acme, data=RULE, actor=ACTOR)
        delete_rule(tenant=acme, rule=ExclusionRule.objects.get(pk=rule.pk), actor=ACTOR)
        with pytest.raises(RulesError) as refused:
            update_rule(tenant=acme, rule=rule, data={"trigger_text": "plumber"}, actor=ACTOR)  # loaded before it
        assert (refused.value.status, ExclusionRule.objects.count()) == (404, 0)
