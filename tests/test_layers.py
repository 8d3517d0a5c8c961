"""Imports run one way (tests/layers.py): a lower layer never imports a higher one, not even inside a function."""

import textwrap
from pathlib import Path

from tests.layers import cycles, violations


def test_no_module_of_jobmatch_imports_a_layer_above_its_own():
    assert [str(v) for v in violations()] == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    for package in ("jobmatch_site", "tenants", "matching", "rules"):
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


def test_a_service_importing_a_task_inside_a_function_is_caught(tmp_path):
    root = _tree(tmp_path, {
        "matching/services/encoding.py": """
            def queue():
                from ..tasks import encode_records_task
                encode_records_task.delay()
        """,
        "matching/tasks.py": "from .services.encoding import queue\n",
    })  # fmt: skip
    assert [(v.module, v.imported) for v in violations(root)] == [("matching.services.encoding", "matching.tasks")]


def test_matching_importing_rules_and_tenants_importing_matching_are_caught(tmp_path):
    root = _tree(tmp_path, {
        "matching/services/search.py": "from rules.services import triggered_rules\n",
        "tenants/services.py": "from matching.services import ensure_base_encoder\n",
        "rules/services.py": "from matching.services import search\n",  # allowed: rules builds on matching
    })  # fmt: skip
    assert sorted((v.module, v.imported) for v in violations(root)) == [
        ("matching.services.search", "rules.services"),
        ("tenants.services", "matching.services"),
    ]


def test_django_inside_matching_ml_is_caught(tmp_path):
    root = _tree(tmp_path, {"matching/ml/train.py": "from django.conf import settings\n"})
    assert [v.why for v in violations(root)] == ["matching/ml is pure: no Django"]


def test_no_modules_import_each_other_round_in_a_circle():
    assert cycles() == []


def test_a_circle_through_a_package_init_is_caught(tmp_path):
    root = _tree(tmp_path, {
        "matching/services/__init__.py": "from .search import search\nMAX_K = 100\n",
        "matching/services/search.py": "def search(): from matching.services import MAX_K\n",  # a name, not a module
        "matching/services/calibration.py": "from .search import search\n",  # one way only: no circle
    })  # fmt: skip
    assert cycles(root) == [["matching.services", "matching.services.search"]]
