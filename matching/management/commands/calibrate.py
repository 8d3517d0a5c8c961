from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobmatch_site.commands import command_tenant, refusals_exit_2
from matching.errors import MatchingError
from matching.models import CalibrationTarget, EncoderVersion
from matching.services import MIN_LABELS_PER_CLASS, calibrate_global, calibrate_tenant, import_feedback_csv
from matching.services.confidence import export_confidence_calibrator, fit_confidence_calibrator
from matching.services.global_calibration import export_global_calibration


class Command(BaseCommand):
    help = (
        "Fit a tenant's similarity threshold to its labelled pairs (feedback, plus an optional CSV of pairs), "
        "or an encoder version's global threshold on the validation data (--global), or its confidence calibrator "
        "(--confidence: the probability that a hit is right, from features of the search)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--tenant", help="tenant slug")
        who.add_argument("--global", dest="global_", action="store_true", help="fit the global threshold")
        who.add_argument("--confidence", action="store_true", help="fit the version's confidence calibrator")
        parser.add_argument("--target", choices=CalibrationTarget.values, help="store as the tenant's target")
        parser.add_argument("--max-far", type=float, help="maximum false-accept rate for --target max_far")
        parser.add_argument("--pairs", type=Path, help="CSV: vacancy_external_id,candidate_external_id,label[,query]")
        parser.add_argument("--encoder", help="with --global/--confidence: encoder version name (default: base)")
        parser.add_argument(
            "--titles", type=int, help="with --global/--confidence: subsample this many validation titles"
        )
        parser.add_argument(
            "--export",
            type=Path,
            help="with --global/--confidence: write the stored fit (fitting first if none) as JSON",
        )

    def handle(self, *args: object, tenant: str | None, global_: bool, confidence: bool, **options: object) -> None:
        if global_:
            self._global(options)
            return
        if confidence:
            self._confidence(options)
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

    def _version(self, options: dict) -> EncoderVersion:
        """The --encoder version (default: base), with --titles and --export checked; refusals exit 2."""
        from matching.ml.encoder import BASE_ENCODER_NAME

        name = options["encoder"] or BASE_ENCODER_NAME
        version = EncoderVersion.objects.filter(name=name).first()
        if version is None:
            raise MatchingError(f"unknown encoder {name!r}", field="encoder", status=404)
        if options["titles"] is not None and options["titles"] < 10:
            raise MatchingError("--titles must be at least 10", field="titles")
        if options["export"] is not None and options["titles"] is not None:
            raise MatchingError("--export writes a fit on every title: drop --titles", field="titles")
        return version

    def _confidence(self, options: dict) -> None:
        with refusals_exit_2():
            version = self._version(options)
            if options["export"] is not None:
                payload = export_confidence_calibrator(version=version, path=options["export"])
                self.stdout.write(f"wrote {options['export']}")
            else:
                payload = fit_confidence_calibrator(version=version, titles=options["titles"])
        for part in ("fit", "held_out", "all"):
            figures = payload["metrics"][part]
            self.stdout.write(
                f"{version.name} confidence, {part.replace('_', '-')} titles ({figures['n']}): "
                f"ECE {_fmt(figures['ece'])}, AUROC {_fmt(figures['auroc'])} (top hit)"
            )

    def _global(self, options: dict) -> None:
        with refusals_exit_2():
            version = self._version(options)
            name = version.name
            if options["export"] is not None:
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
