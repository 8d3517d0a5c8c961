"""REST API for shortlists: a tenant's entries (filter by vacancy and status), add one, change or remove it."""

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobmatch_site.api import api_schema, validated
from matching.models import Kind
from matching.selectors import get_record

from .errors import ShortlistError
from .models import ShortlistEntry
from .selectors import get_entry, list_entries, pipeline_labels
from .services import MAX_NOTE_CHARS, add_to_shortlist, clean_status, delete_entry, update_entry

MAX_LISTED = 1000


class EntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    vacancy_id = serializers.IntegerField()
    candidate_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ShortlistEntry.Status.values)
    status_label = serializers.SerializerMethodField(help_text="the team's name for the status (settings/pipeline)")
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_status_label(self, entry: ShortlistEntry) -> str:
        labels = self.context.get("labels") or pipeline_labels(tenant=entry.tenant)
        return labels[entry.status]


def _out(request: Request, rows: object, *, many: bool = False) -> dict:
    return EntryOut(rows, many=many, context={"labels": pipeline_labels(tenant=request.tenant)}).data


class ShortlistListApi(APIView):
    class Body(serializers.Serializer):
        vacancy_id = serializers.IntegerField()
        candidate_id = serializers.IntegerField()
        status = serializers.ChoiceField(choices=ShortlistEntry.Status.values, default="shortlisted")
        note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE_CHARS, default="")

    @api_schema(responses={200: EntryOut(many=True)}, errors=(404,))
    def get(self, request: Request) -> Response:
        vacancy_id = request.query_params.get("vacancy_id")
        wanted = request.query_params.get("status", "")
        if wanted:
            clean_status(wanted)
        if vacancy_id is not None:
            vacancy_id = get_record(tenant=request.tenant, kind=Kind.VACANCIES, record_id=_int(vacancy_id)).pk
        rows = list_entries(tenant=request.tenant, vacancy_id=vacancy_id, status=wanted)[:MAX_LISTED]
        return Response(_out(request, rows, many=True))

    @api_schema(request=Body, responses={201: EntryOut, 200: EntryOut}, errors=(404,))
    def post(self, request: Request) -> Response:
        """Add a candidate to a vacancy's shortlist (200 with the existing entry when it is already on it)."""
        body = validated(self.Body, request.data)
        vacancy = get_record(tenant=request.tenant, kind=Kind.VACANCIES, record_id=body["vacancy_id"])
        candidate = get_record(tenant=request.tenant, kind=Kind.CANDIDATES, record_id=body["candidate_id"])
        before = list_entries(tenant=request.tenant, vacancy_id=vacancy.pk).filter(candidate=candidate).exists()
        (entry,) = add_to_shortlist(
            tenant=request.tenant, vacancy=vacancy, candidate_ids=[candidate.pk], status=body["status"],
            note=body["note"], user=request.user,
        )  # fmt: skip
        return Response(_out(request, entry), status=status.HTTP_200_OK if before else status.HTTP_201_CREATED)


class ShortlistDetailApi(APIView):
    class Patch(serializers.Serializer):
        status = serializers.ChoiceField(choices=ShortlistEntry.Status.values, required=False)
        note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE_CHARS)

    @api_schema(responses={200: EntryOut}, errors=(404,))
    def get(self, request: Request, entry_id: int) -> Response:
        return Response(_out(request, get_entry(tenant=request.tenant, entry_id=entry_id)))

    @api_schema(request=Patch, responses={200: EntryOut}, errors=(404,))
    def patch(self, request: Request, entry_id: int) -> Response:
        entry = get_entry(tenant=request.tenant, entry_id=entry_id)
        body = validated(self.Patch, request.data)
        return Response(_out(request, update_entry(tenant=request.tenant, entry=entry, data=dict(body))))

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request: Request, entry_id: int) -> Response:
        delete_entry(tenant=request.tenant, entry=get_entry(tenant=request.tenant, entry_id=entry_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ShortlistError("vacancy_id must be a number", field="vacancy_id") from None
