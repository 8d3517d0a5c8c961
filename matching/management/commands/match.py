import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobmatch_site.commands import command_tenant
from matching.models import Kind
from matching.selectors import get_record_by_external_id
from matching.services import SearchFilters, encoded_counts, parse_languages, search
from matching.services.requirements import MODES


class Command(BaseCommand):
    help = "Top-k matches for a vacancy, a candidate, or free text, within one tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        query = parser.add_mutually_exclusive_group(required=True)
        query.add_argument("--vacancy", metavar="EXT_ID", help="find candidates for this vacancy")
        query.add_argument("--candidate", metavar="EXT_ID", help="find vacancies for this candidate")
        query.add_argument("--text", help="free text; needs --kind")
        parser.add_argument("--kind", choices=[kind.value for kind in Kind], help="what --text looks for")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--country")
        parser.add_argument("--city")
        parser.add_argument(
            "--language",
            action="append",
            default=[],
            metavar="CODE:LEVEL",
            help="minimum level, e.g. en:B2 (repeatable)",
        )
        parser.add_argument("--occupation", metavar="ESCO_URI", help="only rows with this occupation in their top 3")
        parser.add_argument("--isco", metavar="GROUP", help="only rows with an occupation in this ISCO-08 group")
        parser.add_argument(
            "--only-matches", action="store_true", help="keep only results at or above the tenant's threshold"
        )
        parser.add_argument(
            "--requirements",
            choices=MODES,
            default="filter",
            help="the vacancy's requirements: filter (default) leaves out rows that miss one, rank lowers their "
            "score, ignore applies none",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: object, tenant: str, **options: object) -> None:
        if options["text"] is not None and not options["kind"]:
            raise CommandError("--text needs --kind candidates|vacancies", returncode=2)
        with command_tenant(tenant) as scoped:
            filters = SearchFilters.from_params(
                {
                    "country": options["country"] or "",
                    "city": options["city"] or "",
                    "languages": parse_languages(";".join(options["language"]), field_name="--language"),
                    "occupation": options["occupation"] or "",
                    "isco": options["isco"] or "",
                }
            )
            if options["vacancy"] is not None:
                record = get_record_by_external_id(tenant=scoped, kind=Kind.VACANCIES, external_id=options["vacancy"])
                query = {"record": record, "target": Kind.CANDIDATES}
            elif options["candidate"] is not None:
                record = get_record_by_external_id(
                    tenant=scoped, kind=Kind.CANDIDATES, external_id=options["candidate"]
                )
                query = {"record": record, "target": Kind.VACANCIES}
            else:
                query = {"text": options["text"], "target": Kind(options["kind"])}
            result = search(
                tenant=scoped,
                filters=filters,
                k=options["k"],
                only_matches=options["only_matches"],
                requirements=options["requirements"],
                **query,
            )
            counts = encoded_counts(tenant=scoped)[result.kind.value]
        if waiting := counts["rows"] - counts["encoded"]:  # an empty answer must not pass for "nothing matches"
            self.stderr.write(
                f"{waiting} of {counts['rows']} {result.kind.value} are not encoded yet and cannot be found until a "
                "worker encodes them (`make run` starts one)"
            )
        rows = [
            {
                "kind": m.kind.value,
                "external_id": m.record.external_id,
                "title": m.record.title,
                "similarity": round(m.similarity, 4),
                "confidence": m.confidence,
                "is_match": m.is_match,
                "score": round(m.score, 4),
                "grade": m.grade,
                "explanation": m.explanation.as_dict(),
            }
            for m in result.matches
        ]
        excluded = [{"rule": effect.rule, "removed": effect.removed} for effect in result.excluded]
        if options["json"]:
            payload = {
                "encoder": result.encoder,
                "threshold": result.threshold,
                "threshold_source": result.threshold_source,
                "requirements": result.requirements,
                "no_strong_match": result.no_strong_match,
                "lexical_weight": result.lexical_weight,
                "results": rows,
                "excluded": excluded,
            }
            self.stdout.write(json.dumps(payload))
            return
        threshold = "none yet" if result.threshold is None else f"{result.threshold:.3f} ({result.threshold_source})"
        self.stdout.write(
            f"encoder {result.encoder}; threshold {threshold}; requirements {result.requirements}; "
            f"{len(rows)} {result.kind.value}"
        )
        if result.no_strong_match:
            self.stdout.write("no strong match: none of these is graded strong or possible")
        for effect in excluded:
            self.stdout.write(f"rule {effect['rule']!r} removed {effect['removed']}")
        for m in result.matches:
            self.stdout.write(
                f"{m.score:.3f}  {m.grade:<8} {m.record.external_id:<16} {m.record.title}  ({m.explanation.summary()})"
            )
