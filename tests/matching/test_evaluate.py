"""`evaluate`, `make_eval_sets` and `train_encoder`: stable interfaces that checks outside the project rely on."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from matching.models import EncoderVersion, Job
from tenants.scoping import tenant_scope

KEYS = {
    "n_queries",
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr",
    "macro_mrr",
    "opis",
    "auroc",
    "ece",
    "encoder",
    "seconds",
}


@pytest.fixture
def tiny_set(tmp_path):
    (tmp_path / "C.csv").write_text(
        "id,text\nweld,welder\nweld,metal welder\ncook,cook\ncook,chef\nnurse,nurse\nacct,accountant\n"
    )
    (tmp_path / "Q.csv").write_text(
        "query,target_id\nTIG WELDER,weld\nhead chef,cook\nward nurse,nurse\nbookkeeper,acct\n"
    )
    return tmp_path


@pytest.mark.django_db
@pytest.mark.parametrize("encoder", ["lexical", "base"])
def test_evaluate_writes_every_documented_key(tiny_set, encoder):
    out = tiny_set / "out.json"
    call_command("evaluate", queries=tiny_set / "Q.csv", corpus=tiny_set / "C.csv", encoder=encoder, json=out)
    result = json.loads(out.read_text())
    assert set(result) >= KEYS
    assert result["n_queries"] == 4
    assert 0 < result["mrr"] <= 1
    if encoder == "lexical":
        assert (result["auroc"], result["ece"]) == (None, None)  # no confidence to measure
    else:
        assert 0 <= result["ece"] <= 1  # the base encoder's shipped calibrator: what its searches serve


@pytest.mark.django_db
def test_the_base_encoder_puts_the_welder_first(tiny_set):
    from matching.services.evaluation import evaluate

    result = evaluate(queries=tiny_set / "Q.csv", corpus=tiny_set / "C.csv", encoder="base")
    assert result["recall@1"] >= 0.75


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"encoder": "no-such-encoder"}, "unknown encoder"), ({"corpus": "Q.csv"}, "no 'id' column")],
)
def test_evaluate_refuses_bad_input_with_exit_2(tiny_set, kwargs, message):
    args = {"queries": tiny_set / "Q.csv", "corpus": tiny_set / "C.csv"} | {
        key: tiny_set / value if key == "corpus" else value for key, value in kwargs.items()
    }
    with pytest.raises(CommandError, match=message) as refused:
        call_command("evaluate", **args)
    assert refused.value.returncode == 2


def test_make_eval_sets_writes_all_esco_occupations_and_the_validation_titles(tmp_path):
    call_command("make_eval_sets", out=tmp_path)
    corpus = (tmp_path / "C.csv").read_text().splitlines()
    queries = (tmp_path / "Q.csv").read_text().splitlines()
    assert corpus[0] == "id,text" and queries[0] == "query,target_id"
    assert len({line.split(",")[0] for line in corpus[1:] if line.startswith("http")}) == 3007
    assert len(queries) - 1 == 13225


@pytest.mark.django_db
def test_train_encoder_registers_a_version_with_its_config_and_data_hashes(settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    call_command("train_encoder", name="bare", epochs=0, skip_eval=True)  # the default: the backbone alone
    call_command(
        "train_encoder", name="tiny", head="softmax_groups", epochs=0, head_epochs=0, groups=2, group_size=16,
        skip_eval=True,
    )  # fmt: skip
    bare, tiny = EncoderVersion.objects.get(name="bare"), EncoderVersion.objects.get(name="tiny")
    assert (bare.dimension, bare.has_confidence, tiny.dimension, tiny.has_confidence) == (384, False, 32, True)
    assert set(tiny.config["train"]["extra"]["data_sha256"]) == {
        "esco_v1.1.1_occupations_en.csv",
        "onet_27.0_titles.tsv",
        "esco_onet_crosswalk_v1.csv",
    }
    assert (tmp_path / "tiny" / "training.json").exists() and (tmp_path / "bare" / "training.json").exists()


@pytest.mark.django_db
def test_evaluate_measures_the_served_confidence_even_when_the_corpus_is_smaller_than_its_pool(tiny_set):
    from matching.services.evaluation import evaluate

    (tiny_set / "Q.csv").write_text("query,target_id\nTIG WELDER,weld\nhead chef,cook\nsous chef,nurse\n")
    result = evaluate(queries=tiny_set / "Q.csv", corpus=tiny_set / "C.csv", encoder="base")  # 4 ids, pool of 10
    assert result["n_queries"] == 3 and result["recall@1"] == pytest.approx(2 / 3)  # the nurse query is a miss
    assert 0.0 <= result["auroc"] <= 1.0 and 0.0 <= result["ece"] <= 1.0


def test_train_encoder_refuses_a_cuda_device_that_is_not_there():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(CommandError, match="no CUDA") as refused:
        call_command("train_encoder", device="cuda")
    assert refused.value.returncode == 2


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"loss_scale": 0.5}, "--loss-scale must be at least 1"),
        ({"margin": -0.1}, "--margin must be 0"),
        ({"backbone_lr": -1e-5}, "--backbone-lr must be 0 or more"),
        ({"noise": 1.5}, "--noise must be between 0 and 1"),
        ({"tcm_margins": [0.5, 0.9]}, "--tcm-margins: need -1 <= M_NEG < M_POS <= 1"),
    ],
)
def test_train_encoder_refuses_a_loss_scale_or_margins_out_of_range(option, message):
    with pytest.raises(CommandError, match=message) as refused:
        call_command("train_encoder", **option)
    assert refused.value.returncode == 2


@pytest.mark.django_db
def test_a_training_run_for_a_tenant_shows_as_a_job_on_its_dashboard(settings, tmp_path, acme, acme_admin):
    settings.MODELS_DIR = tmp_path
    call_command(
        "train_encoder", name="tiny-acme", tenant=["acme"], epochs=0, head_epochs=0, groups=2, group_size=16,
        skip_eval=True,
    )  # fmt: skip
    with tenant_scope(acme.id):
        job = Job.objects.get(tenant=acme, kind=Job.Type.TRAINING)
    assert job.status == Job.Status.DONE and job.params == {"name": "tiny-acme"}
    assert job.message == "registered tiny-acme; re-index to use it"
    assert "Training #" in acme_admin.get("/").content.decode()
