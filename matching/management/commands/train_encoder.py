from argparse import BooleanOptionalAction

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from jobmatch_site.commands import refusals_exit_2
from matching.services.training import train_encoder
from tenants.services import get_tenant_by_slug


class Command(BaseCommand):
    help = (
        "Fine-tune the base encoder with a softmax-group head on ESCO + O*NET pairs (no manual labels), save it under "
        "MODELS_DIR and register it as a new encoder version with its validation metrics. Deterministic by --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="version name (default: minilm-<head>-<timestamp>)")
        parser.add_argument(
            "--head",
            choices=["none", "softmax_groups"],
            default="none",
            help="none (default): the backbone's own vector ranks; softmax_groups: the seed's G x K head on top",
        )
        parser.add_argument(
            "--guide", action=BooleanOptionalAction, default=True, help="mask in-batch negatives the base model "
            "scores above the pair's own positive (GISTEmbed)",
        )  # fmt: skip
        parser.add_argument("--guide-margin", type=float, default=0.0)
        parser.add_argument(
            "--crosswalk", action=BooleanOptionalAction, default=True, help="ESCO <-> O*NET groups from the crosswalk"
        )
        parser.add_argument("--epochs", type=float, default=1.0, help="full fine-tune epochs (0: head only)")
        parser.add_argument("--head-epochs", type=int, default=0, help="head-only epochs on cached vectors first")
        parser.add_argument("--head-init", choices=["isometric", "random"], default="isometric")
        parser.add_argument("--head-lr", type=float, default=1e-3, help="the head's learning rate")
        parser.add_argument("--backbone-lr", type=float, default=3e-5, help="the transformer's learning rate")
        parser.add_argument("--batch-size", type=int, default=128)
        parser.add_argument("--groups", type=int, default=4)
        parser.add_argument("--group-size", type=int, default=128)
        parser.add_argument("--loss", choices=["batch_wide", "in_batch"], default=None, help="default: in_batch "
                            "bare, batch_wide with the head")  # fmt: skip
        parser.add_argument(
            "--loss-scale", type=float, default=None, help="cosine -> logit factor (default: 20 bare, 600 with 4x128)"
        )
        parser.add_argument(
            "--margin", type=float, default=None, help="the batch-wide loss's cosine margin (default: 0.1 bare, 0.003)"
        )
        parser.add_argument(
            "--tcm",
            action=BooleanOptionalAction,
            default=True,
            help="add the threshold-consistent margin term (default on)",
        )
        parser.add_argument("--tcm-weight", type=float, default=1.0)
        parser.add_argument(
            "--tcm-margins",
            type=float,
            nargs=2,
            metavar=("M_POS", "M_NEG"),
            default=[0.9, 0.5],
            help="TCM's cosine margins: hard positives below M_POS, hard negatives above M_NEG (the paper's 0.9 0.5)",
        )
        parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
        parser.add_argument("--max-minutes", type=float, default=None, help="stop the fine-tune after this long")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--noise", type=float, default=0.5, help="share of anchors made posting-like (case, seniority, typos)"
        )
        parser.add_argument("--tenant", action="append", default=[], help="add a tenant's identical-title pairs")
        parser.add_argument("--skip-eval", action="store_true", help="register without validation metrics")

    def handle(self, *args: object, **o: object) -> None:
        bare = o["head"] == "none"  # the head's squeezed band needs a stretched scale and margin (bench/README.md)
        o["loss"] = o["loss"] or ("in_batch" if bare else "batch_wide")
        o["loss_scale"] = o["loss_scale"] if o["loss_scale"] is not None else (20.0 if bare else 600.0)
        o["margin"] = o["margin"] if o["margin"] is not None else (0.1 if bare else 0.003)
        floors = {"epochs": 0, "head_epochs": 0, "margin": 0, "batch_size": 1, "groups": 1, "group_size": 1,
                  "loss_scale": 1, "head_lr": 0, "backbone_lr": 0, "guide_margin": 0}  # fmt: skip
        for name, floor in floors.items():
            if o[name] < floor:
                bound = "0 or more" if floor == 0 else "at least 1"
                raise CommandError(f"--{name.replace('_', '-')} must be {bound}", returncode=2)
        if not 0 <= o["noise"] <= 1:
            raise CommandError("--noise must be between 0 and 1", returncode=2)
        m_pos, m_neg = o["tcm_margins"]
        if not -1 <= m_neg < m_pos <= 1:
            raise CommandError("--tcm-margins: need -1 <= M_NEG < M_POS <= 1 (cosines)", returncode=2)
        if o["device"] == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise CommandError("--device cuda: no CUDA device here", returncode=2)
        config = {
            "epochs": o["epochs"], "batch_size": o["batch_size"], "groups": o["groups"], "group_size": o["group_size"],
            "loss": o["loss"], "tcm_weight": o["tcm_weight"] if o["tcm"] else 0.0, "device": o["device"],
            "max_minutes": o["max_minutes"], "seed": o["seed"], "head_warmup_epochs": o["head_epochs"],
            "head_init": o["head_init"], "head_lr": o["head_lr"], "scale": o["loss_scale"], "margin": o["margin"],
            "tcm_margins": (m_pos, m_neg), "backbone_lr": o["backbone_lr"], "noise": o["noise"],
            "head": o["head"], "guide": o["guide"], "guide_margin": o["guide_margin"], "crosswalk": o["crosswalk"],
        }  # fmt: skip
        with refusals_exit_2():
            tenants = [get_tenant_by_slug(slug=slug) for slug in o["tenant"]]
            version = train_encoder(
                name=o["name"],
                config=config,
                tenants=tenants,
                evaluate_after=not o["skip_eval"],
                progress=lambda steps: tqdm(steps, desc="train", disable=None),
            )
        report = version.config["report"]
        self.stdout.write(
            f"registered {version.name}: {report['steps']} steps, {report['pairs_seen']} pairs in "
            f"{report['seconds'] / 60:.1f} min; artifact {version.artifact_path}"
        )
        if version.metrics:
            self.stdout.write(
                "validation: "
                + ", ".join(
                    f"{k} {version.metrics[k]:.4f}"
                    for k in ("mrr", "recall@1", "recall@10", "opis", "auroc")
                    if version.metrics.get(k) is not None
                )
            )
