from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobmatch_site.commands import command_tenant, refusals_exit_2
from matching.errors import MatchingError
from matching.models import CalibrationTarget, EncoderVersion
from matching.services import MIN_LABELS_PER_CLASS, calibrate_global, calibrate_tenant, import_feedback_csv
from matching.services.global_calibration import export_global_calibration


class Command(BaseCommand):
    help = (
        "Fit a tenant's similarity threshold to its labelled pairs (feedback, plus an optional CSV of pairs), "
        "or an encoder version's global threshold on the validation data (--global)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--tenant", help="tenant slug")
        who.add_argument("--global", dest="global_", action="store_true", help="fit the global threshold")
        parser.add_argument("--target", choices=CalibrationTarget.values, help="store as the tenant's target")
        parser.add_argument("--max-far", type=float, help="maximum false-accept rate for --target max_far")
        parser.add_argument("--pairs", type=Path, help="CSV: vacancy_external_id,candidate_external_id,label[,query]")
        parser.add_argument("--encoder", help="with --global: encoder version name (default: base)")
        parser.add_argument("--titles", type=int, help="with --global: subsample this many validation titles")
        parser.add_argument(
            "--export", type=Path, help="with --global: write the stored fit (fitting first if none) as JSON"
        )

    def handle(self, *args: object, tenant: str | None, global_: bool, **options: object) -> None:
        if global_:
            self._global(options)
            return
        with command_tenant(tenant) as scoped:
            if options["pairs"] is not None:
                try:
                    data = options["pairs"].read_bytes()
                except OSError as exc:
                    raise CommandError(f"cannot read {options['pairs']}: {exc.strerror}", returncode=2) from None
                stored = import_feedback_csv(tenant=scoped, data=data)
                self.stdout.write(f"{stored} labelled pairs stored from {options['pairs']}")
            report = calibrate_tenant(tenant=scoped, target=options["target"], max_false_accept_rate=options["max_far"])
        if report.fit is None:
            self.stdout.write(f"{tenant}: {report.n_good} good / {report.n_bad} bad labels; nothing to fit")
        else:
            fit = report.fit
            state = "in use" if fit.sufficient else f"not used yet (< {MIN_LABELS_PER_CLASS} good and bad labels)"
            self.stdout.write(
                f"{tenant}: threshold {fit.threshold:.4f} from {fit.n_labels} labels ({fit.n_good} good), "
                f"precision {fit.precision:.3f}, recall {fit.recall:.3f}, F1 {fit.f1:.3f}, {state}; "
                f"OPIS across groups {_fmt(fit.opis_groups)}, across tenants {_fmt(report.opis_tenants)}"
            )
        now = report.threshold
        self.stdout.write(f"searches use: {'none yet' if now is None else f'{now.value:.4f} ({now.source})'}")

    def _global(self, options: dict) -> None:
        from matching.ml.encoder import BASE_ENCODER_NAME

        name = options["encoder"] or BASE_ENCODER_NAME
        with refusals_exit_2():
            version = EncoderVersion.objects.filter(name=name).first()
            if version is None:
                raise MatchingError(f"unknown encoder {name!r}", field="encoder", status=404)
            if options["titles"] is not None and options["titles"] < 10:
                raise MatchingError("--titles must be at least 10", field="titles")
            if options["export"] is not None:
                if options["titles"] is not None:
                    raise MatchingError("--export writes a fit on every title: drop --titles", field="titles")
                calibration = export_global_calibration(version=version, path=options["export"])
                self.stdout.write(f"wrote {options['export']}")
            else:
                calibration = calibrate_global(version=version, titles=options["titles"])
        self.stdout.write(
            f"{name}: global threshold {calibration.threshold:.4f}, precision {calibration.precision:.3f}, "
            f"recall {calibration.recall:.3f}, F1 {calibration.f1:.3f} on {calibration.n_labels} pairs "
            f"({calibration.n_good} positive); OPIS across ISCO major groups {_fmt(calibration.opis_groups)}; "
            f"{calibration.config['seconds']} s"
        )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.5f}"
