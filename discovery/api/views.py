"""The discovery REST API: one `WorkspaceApiView` per resource, reads via selectors, writes via
services. Every id in a body is resolved inside the workspace; an id of another workspace is
"Unknown ..." (400), exactly like an id that never existed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from discovery import selectors, services
from discovery.api.serializers import (
    CompanyOutputSerializer,
    CustomerOutputSerializer,
    EvidenceOutputSerializer,
    FeedbackOutputSerializer,
    FeedbackStatusField,
    HighlightOutputSerializer,
    InsightOutputSerializer,
    InsightStatusField,
    InterviewDetailOutputSerializer,
    InterviewOutputSerializer,
    TagOutputSerializer,
)
from discovery.models import (
    FEEDBACK_MAX_CHARS,
    TRANSCRIPT_MAX_CHARS,
    Feedback,
    Insight,
    Interview,
)
from discovery.selectors import FeedbackFilters
from pmhub.core.api import CursorPagination, json_response, paginated_response, storable_json
from pmhub.core.exceptions import ApplicationError
from pmhub.core.openapi import ErrorOutputSerializer
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace

T = TypeVar("T")

BULK_LIMIT = 1000


def _known(selector: Callable[..., T], field: str, label: str, **kwargs: Any) -> T:
    """Resolve an id from a request body inside the workspace, or refuse it as unknown (400)."""
    try:
        return selector(**kwargs)
    except ObjectDoesNotExist as exc:
        raise ValidationError({field: f"Unknown {label}."}) from exc


def _stale(exc: services.StaleEditError, version: int) -> Response:
    """409 in the one error format, with the version the client must reload."""
    return Response({"message": exc.message, "extra": {"version": version}}, status=409)


# --- feedback --------------------------------------------------------------------------------
class FeedbackCursorPagination(CursorPagination):
    """The inbox order, newest first; up to 1,000 rows a page for integrations."""

    ordering = ("-received_at", "-id")
    max_page_size = BULK_LIMIT


FEEDBACK_VALUES = (
    "id",
    "text",
    "source",
    "status",
    "external_id",
    "external_url",
    "received_at",
    "customer_id",
    "customer__name",
    "customer__email",
    "company_id",
    "company__name",
    "company__segment",
    "created_at",
    "updated_at",
)


def feedback_rows(workspace: Workspace, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """API rows from `.values(*FEEDBACK_VALUES)` rows plus one query for all their tags."""
    tags = {
        feedback_id: [{"id": t.id, "name": t.name, "color": t.color} for t in refs]
        for feedback_id, refs in selectors.feedback_tags(
            workspace=workspace, feedback_ids=[row["id"] for row in rows]
        ).items()
    }
    return [
        {
            "id": row["id"],
            "text": row["text"],
            "source": row["source"],
            "status": row["status"],
            "external_id": row["external_id"],
            "external_url": row["external_url"],
            "received_at": row["received_at"],
            "customer": (
                {
                    "id": row["customer_id"],
                    "name": row["customer__name"],
                    "email": row["customer__email"],
                }
                if row["customer_id"] is not None
                else None
            ),
            "company": (
                {
                    "id": row["company_id"],
                    "name": row["company__name"],
                    "segment": row["company__segment"],
                }
                if row["company_id"] is not None
                else None
            ),
            "tags": tags[row["id"]],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
        for row in rows
    ]


def _feedback_one(workspace: Workspace, feedback_id: int) -> dict[str, Any]:
    rows = list(
        selectors.feedback_list(workspace=workspace).filter(id=feedback_id).values(*FEEDBACK_VALUES)
    )
    if not rows:
        raise Http404
    return feedback_rows(workspace, rows)[0]


class _FeedbackFieldsSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=FEEDBACK_MAX_CHARS, trim_whitespace=False)
    source = serializers.ChoiceField(
        choices=Feedback.Source.choices, default=Feedback.Source.MANUAL
    )
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    external_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    received_at = serializers.DateTimeField(
        required=False, help_text="When the customer said it; now if left out."
    )
    customer_id = serializers.IntegerField(required=False, allow_null=True)


class FeedbackListCreateApi(WorkspaceApiView):
    pagination_class = FeedbackCursorPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Feedback.Status.choices, required=False)
        source = serializers.ChoiceField(choices=Feedback.Source.choices, required=False)
        tag = serializers.IntegerField(required=False, min_value=1, help_text="A tag id.")
        segment = serializers.CharField(required=False, max_length=80)
        company = serializers.IntegerField(required=False, min_value=1, help_text="A company id.")
        customer = serializers.IntegerField(required=False, min_value=1, help_text="A customer id.")
        since = serializers.DateField(required=False, help_text="Received on or after (UTC).")
        until = serializers.DateField(required=False, help_text="Received on or before (UTC).")
        q = serializers.CharField(
            required=False,
            max_length=200,
            help_text='Full-text search, websearch syntax: "exact words", or, -exclusion.',
        )

    @extend_schema_serializer(component_name="FeedbackCreateInput")
    class InputSerializer(_FeedbackFieldsSerializer):
        pass

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Feedback]:
        return selectors.feedback_list(workspace=workspace)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=FeedbackOutputSerializer(many=True),
        summary="Feedback, newest first, filtered",
    )
    def get(self, request: Request) -> HttpResponse:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        filters = FeedbackFilters(
            status=data.get("status", ""),
            source=data.get("source", ""),
            tag_id=data.get("tag"),
            segment=data.get("segment", ""),
            company_id=data.get("company"),
            customer_id=data.get("customer"),
            since=data.get("since"),
            until=data.get("until"),
            query=data.get("q", ""),
        )
        queryset = selectors.feedback_list(workspace=self.workspace, filters=filters).values(
            *FEEDBACK_VALUES
        )
        paginator = FeedbackCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        return json_response(
            {
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": feedback_rows(self.workspace, list(page)),
            }
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: FeedbackOutputSerializer},
        summary="Add one feedback item",
    )
    def post(self, request: Request) -> HttpResponse:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = services.feedback_create(
            workspace=self.workspace,
            actor=request.user,
            data=services.FeedbackInput(**data.validated_data),
        )
        return json_response(_feedback_one(self.workspace, feedback.id), status.HTTP_201_CREATED)


def _push_of(item: dict[str, Any]) -> services.FeedbackPush:
    return services.FeedbackPush(
        item=services.FeedbackInput(
            text=item["text"],
            source=item.get("source", Feedback.Source.MANUAL),
            external_id=item.get("external_id", ""),
            external_url=item.get("external_url", ""),
            customer_id=item.get("customer_id"),
            received_at=item.get("received_at"),
        ),
        customer_email=item.get("customer_email", ""),
        customer_name=item.get("customer_name", ""),
    )


class FeedbackDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="FeedbackUpdateInput")
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(
            max_length=FEEDBACK_MAX_CHARS, required=False, trim_whitespace=False
        )
        status = FeedbackStatusField(required=False)
        external_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
        received_at = serializers.DateTimeField(required=False)
        customer_id = serializers.IntegerField(required=False, allow_null=True)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Feedback]:
        return selectors.feedback_list(workspace=workspace)

    @extend_schema(responses=FeedbackOutputSerializer, summary="One feedback item")
    def get(self, request: Request, feedback_id: int) -> HttpResponse:
        return json_response(_feedback_one(self.workspace, feedback_id))

    @extend_schema(
        request=InputSerializer,
        responses=FeedbackOutputSerializer,
        summary="Change a feedback item (text, customer, status...)",
    )
    def patch(self, request: Request, feedback_id: int) -> HttpResponse:
        feedback = selectors.feedback_get(workspace=self.workspace, feedback_id=feedback_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        new_status = changes.pop("status", None)
        if changes:
            services.feedback_update(
                workspace=self.workspace, actor=request.user, feedback=feedback, **changes
            )
        if new_status is not None:
            services.feedback_set_status(
                workspace=self.workspace,
                actor=request.user,
                feedback_ids=[feedback.id],
                status=new_status,
            )
        return json_response(_feedback_one(self.workspace, feedback.id))

    @extend_schema(responses={204: None}, summary="Delete a feedback item")
    def delete(self, request: Request, feedback_id: int) -> Response:
        feedback = selectors.feedback_get(workspace=self.workspace, feedback_id=feedback_id)
        services.feedback_delete(workspace=self.workspace, actor=request.user, feedback=feedback)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="FeedbackBulkItemInput")
class FeedbackBulkItemSerializer(_FeedbackFieldsSerializer):
    customer_email = serializers.EmailField(
        max_length=254,
        required=False,
        allow_blank=True,
        help_text="Instead of customer_id: the customer is found by email, or created.",
    )
    customer_name = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("customer_id") is not None and attrs.get("customer_email"):
            raise serializers.ValidationError(
                {"customer_email": "Give customer_id or customer_email, not both."}
            )
        return attrs


class FeedbackBulkApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="FeedbackBulkInput")
    class InputSerializer(serializers.Serializer):
        items = FeedbackBulkItemSerializer(many=True, min_length=1, max_length=BULK_LIMIT)

    @extend_schema_serializer(component_name="FeedbackBulkOutput")
    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        ids = serializers.ListField(child=serializers.IntegerField())

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Feedback]:
        return selectors.feedback_list(workspace=workspace)

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Add or update up to 1,000 feedback items",
        description=(
            "Idempotent on (source, external_id): an item already pushed is updated, or left "
            "unchanged when nothing differs. Items without an external_id are always created. "
            "Each item has the fields of a single create; the customer is given by customer_id, "
            "or by customer_email (+ customer_name), which creates or updates the customer."
        ),
    )
    def post(self, request: Request) -> Response:
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if isinstance(items, list) and len(items) > BULK_LIMIT:
            raise ApplicationError(
                f"Send at most {BULK_LIMIT:,} items per call; this one has {len(items):,}. "
                "Split the batch.",
                extra={"limit": BULK_LIMIT, "received": len(items)},
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.feedback_push(
            workspace=self.workspace,
            actor=request.user,
            pushes=[_push_of(item) for item in data.validated_data["items"]],
        )
        return Response(
            self.OutputSerializer(
                {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "ids": result.ids,
                }
            ).data
        )


class FeedbackTagAddApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="FeedbackTagAddInput")
    class InputSerializer(serializers.Serializer):
        tag_id = serializers.IntegerField()

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Feedback]:
        return selectors.feedback_list(workspace=workspace)

    @extend_schema(
        request=InputSerializer,
        responses=FeedbackOutputSerializer,
        summary="Tag a feedback item (again is a no-op)",
    )
    def post(self, request: Request, feedback_id: int) -> HttpResponse:
        feedback = selectors.feedback_get(workspace=self.workspace, feedback_id=feedback_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tag = _known(
            selectors.tag_get,
            "tag_id",
            "tag",
            workspace=self.workspace,
            tag_id=data.validated_data["tag_id"],
        )
        services.feedback_tag(
            workspace=self.workspace, actor=request.user, feedback_ids=[feedback.id], tag_id=tag.id
        )
        return json_response(_feedback_one(self.workspace, feedback.id))


class FeedbackTagRemoveApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Feedback]:
        return selectors.feedback_list(workspace=workspace)

    @extend_schema(responses={204: None}, summary="Remove a tag from a feedback item")
    def delete(self, request: Request, feedback_id: int, tag_id: int) -> Response:
        feedback = selectors.feedback_get(workspace=self.workspace, feedback_id=feedback_id)
        tag = selectors.tag_get(workspace=self.workspace, tag_id=tag_id)
        services.feedback_untag(
            workspace=self.workspace, actor=request.user, feedback_ids=[feedback.id], tag_id=tag.id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- companies and customers -----------------------------------------------------------------
class _SearchFilterSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, max_length=200, help_text="Name search (similar or containing)."
    )


class CompanyListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination
    FilterSerializer = _SearchFilterSerializer

    @extend_schema_serializer(component_name="CompanyCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        domain = serializers.CharField(max_length=253, required=False, allow_blank=True)
        arr = serializers.DecimalField(
            max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
        )
        plan = serializers.CharField(max_length=80, required=False, allow_blank=True)
        segment = serializers.CharField(max_length=80, required=False, allow_blank=True)
        attributes = serializers.DictField(required=False, validators=[storable_json])

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.company_list(workspace=workspace)

    @extend_schema(
        parameters=[_SearchFilterSerializer],
        responses=CompanyOutputSerializer(many=True),
        summary="Companies",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.company_list(
                workspace=self.workspace, query=params.validated_data.get("q", "")
            ),
            serializer_class=CompanyOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: CompanyOutputSerializer, 200: CompanyOutputSerializer},
        summary="Add a company (or update the one with the same domain: 200)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        company, created = services.company_upsert(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return Response(CompanyOutputSerializer(company).data, status=201 if created else 200)


class CompanyDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="CompanyUpdateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        domain = serializers.CharField(max_length=253, required=False, allow_blank=True)
        arr = serializers.DecimalField(
            max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
        )
        plan = serializers.CharField(max_length=80, required=False, allow_blank=True)
        segment = serializers.CharField(max_length=80, required=False, allow_blank=True)
        attributes = serializers.DictField(required=False, validators=[storable_json])

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.company_list(workspace=workspace)

    @extend_schema(responses=CompanyOutputSerializer, summary="One company")
    def get(self, request: Request, company_id: int) -> Response:
        company = selectors.company_get(workspace=self.workspace, company_id=company_id)
        return Response(CompanyOutputSerializer(company).data)

    @extend_schema(
        request=InputSerializer, responses=CompanyOutputSerializer, summary="Change a company"
    )
    def patch(self, request: Request, company_id: int) -> Response:
        company = selectors.company_get(workspace=self.workspace, company_id=company_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        company = services.company_update(
            workspace=self.workspace, actor=request.user, company=company, **data.validated_data
        )
        return Response(CompanyOutputSerializer(company).data)

    @extend_schema(
        responses={204: None}, summary="Delete a company (its customers and feedback stay)"
    )
    def delete(self, request: Request, company_id: int) -> Response:
        company = selectors.company_get(workspace=self.workspace, company_id=company_id)
        services.company_delete(workspace=self.workspace, actor=request.user, company=company)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _company_of(workspace: Workspace, company_id: int | None) -> Any:
    if company_id is None:
        return None
    return _known(
        selectors.company_get, "company_id", "company", workspace=workspace, company_id=company_id
    )


class CustomerListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination
    FilterSerializer = _SearchFilterSerializer

    @extend_schema_serializer(component_name="CustomerCreateInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
        name = serializers.CharField(max_length=200, required=False, allow_blank=True)
        company_id = serializers.IntegerField(required=False, allow_null=True)
        attributes = serializers.DictField(required=False, validators=[storable_json])

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.customer_list(workspace=workspace)

    @extend_schema(
        parameters=[_SearchFilterSerializer],
        responses=CustomerOutputSerializer(many=True),
        summary="Customers (search by name or email with q)",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.customer_list(
                workspace=self.workspace, query=params.validated_data.get("q", "")
            ),
            serializer_class=CustomerOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: CustomerOutputSerializer, 200: CustomerOutputSerializer},
        summary="Add a customer (or update the one with the same email: 200)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        company = _company_of(self.workspace, fields.pop("company_id", None))
        customer, created = services.customer_upsert(
            workspace=self.workspace, actor=request.user, company=company, **fields
        )
        return Response(CustomerOutputSerializer(customer).data, status=201 if created else 200)


class CustomerDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="CustomerUpdateInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
        name = serializers.CharField(max_length=200, required=False, allow_blank=True)
        company_id = serializers.IntegerField(required=False, allow_null=True)
        attributes = serializers.DictField(required=False, validators=[storable_json])

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.customer_list(workspace=workspace)

    @extend_schema(responses=CustomerOutputSerializer, summary="One customer")
    def get(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_get(workspace=self.workspace, customer_id=customer_id)
        return Response(CustomerOutputSerializer(customer).data)

    @extend_schema(
        request=InputSerializer, responses=CustomerOutputSerializer, summary="Change a customer"
    )
    def patch(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_get(workspace=self.workspace, customer_id=customer_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "company_id" in changes:
            company = _company_of(self.workspace, changes["company_id"])
            changes["company_id"] = company.id if company else None
        customer = services.customer_update(
            workspace=self.workspace, actor=request.user, customer=customer, **changes
        )
        customer = selectors.customer_get(workspace=self.workspace, customer_id=customer.id)
        return Response(CustomerOutputSerializer(customer).data)

    @extend_schema(responses={204: None}, summary="Delete a customer (their feedback stays)")
    def delete(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_get(workspace=self.workspace, customer_id=customer_id)
        services.customer_delete(workspace=self.workspace, actor=request.user, customer=customer)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tags ------------------------------------------------------------------------------------
class TagListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination

    @extend_schema_serializer(component_name="TagCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=60)
        group = serializers.CharField(max_length=40, required=False, allow_blank=True)
        color = serializers.CharField(max_length=7, required=False, help_text="Like #6366f1.")
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.tag_list(workspace=workspace)

    @extend_schema(responses=TagOutputSerializer(many=True), summary="Tags")
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.tag_list(workspace=self.workspace),
            serializer_class=TagOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer, responses={201: TagOutputSerializer}, summary="Add a tag"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tag = services.tag_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return Response(TagOutputSerializer(tag).data, status=status.HTTP_201_CREATED)


class TagDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="TagUpdateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=60, required=False)
        group = serializers.CharField(max_length=40, required=False, allow_blank=True)
        color = serializers.CharField(max_length=7, required=False)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.tag_list(workspace=workspace)

    @extend_schema(responses=TagOutputSerializer, summary="One tag")
    def get(self, request: Request, tag_id: int) -> Response:
        tag = selectors.tag_get(workspace=self.workspace, tag_id=tag_id)
        return Response(TagOutputSerializer(tag).data)

    @extend_schema(
        request=InputSerializer,
        responses=TagOutputSerializer,
        summary="Rename, regroup, recolour or describe a tag",
    )
    def patch(self, request: Request, tag_id: int) -> Response:
        tag = selectors.tag_get(workspace=self.workspace, tag_id=tag_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tag = services.tag_update(
            workspace=self.workspace, actor=request.user, tag=tag, **data.validated_data
        )
        return Response(TagOutputSerializer(tag).data)

    @extend_schema(responses={204: None}, summary="Delete a tag and its links")
    def delete(self, request: Request, tag_id: int) -> Response:
        tag = selectors.tag_get(workspace=self.workspace, tag_id=tag_id)
        services.tag_delete(workspace=self.workspace, actor=request.user, tag=tag)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagMergeApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="TagMergeInput")
    class InputSerializer(serializers.Serializer):
        into = serializers.IntegerField(help_text="The id of the tag that survives.")

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.tag_list(workspace=workspace)

    @extend_schema(
        request=InputSerializer,
        responses=TagOutputSerializer,
        summary="Merge this tag into another: its links move there, then it is deleted",
    )
    def post(self, request: Request, tag_id: int) -> Response:
        source = selectors.tag_get(workspace=self.workspace, tag_id=tag_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = _known(
            selectors.tag_get,
            "into",
            "tag",
            workspace=self.workspace,
            tag_id=data.validated_data["into"],
        )
        survivor = services.tag_merge(
            workspace=self.workspace, actor=request.user, source=source, target=target
        )
        return Response(TagOutputSerializer(survivor).data)


# --- interviews and highlights ---------------------------------------------------------------
def _interview_detail(interview: Interview) -> dict[str, Any]:
    interview.participant_ids = sorted(  # type: ignore[attr-defined]
        interview.participants.values_list("id", flat=True)
    )
    return InterviewDetailOutputSerializer(interview).data


class InterviewListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination

    @extend_schema_serializer(component_name="InterviewCreateInput")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        held_on = serializers.DateField(required=False, allow_null=True)
        transcript = serializers.CharField(
            max_length=TRANSCRIPT_MAX_CHARS,
            required=False,
            allow_blank=True,
            trim_whitespace=False,
        )
        notes = serializers.CharField(
            max_length=FEEDBACK_MAX_CHARS, required=False, allow_blank=True, trim_whitespace=False
        )
        participant_ids = serializers.ListField(
            child=serializers.IntegerField(), required=False, max_length=200
        )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.interview_list(workspace=workspace)

    @extend_schema(responses=InterviewOutputSerializer(many=True), summary="Interviews")
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.interview_list(workspace=self.workspace),
            serializer_class=InterviewOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: InterviewDetailOutputSerializer},
        summary="Add an interview",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        interview = services.interview_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return Response(_interview_detail(interview), status=status.HTTP_201_CREATED)


class InterviewDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="InterviewUpdateInput")
    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(help_text="The version the edit was made on.")
        title = serializers.CharField(max_length=200, required=False)
        held_on = serializers.DateField(required=False, allow_null=True)
        transcript = serializers.CharField(
            max_length=TRANSCRIPT_MAX_CHARS,
            required=False,
            allow_blank=True,
            trim_whitespace=False,
        )
        notes = serializers.CharField(
            max_length=FEEDBACK_MAX_CHARS, required=False, allow_blank=True, trim_whitespace=False
        )
        participant_ids = serializers.ListField(
            child=serializers.IntegerField(), required=False, max_length=200
        )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.interview_list(workspace=workspace)

    @extend_schema(responses=InterviewDetailOutputSerializer, summary="One interview")
    def get(self, request: Request, interview_id: int) -> Response:
        interview = selectors.interview_get(workspace=self.workspace, interview_id=interview_id)
        return Response(_interview_detail(interview))

    @extend_schema(
        request=InputSerializer,
        responses={200: InterviewDetailOutputSerializer, 409: ErrorOutputSerializer},
        summary="Change an interview; a stale version is refused with 409",
        description="Highlights follow their words when the transcript changes, or are flagged "
        "`needs_review`. On 409, `extra.version` is the current version: reload, then retry.",
    )
    def patch(self, request: Request, interview_id: int) -> Response:
        interview = selectors.interview_get(workspace=self.workspace, interview_id=interview_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            interview = services.interview_update(
                workspace=self.workspace,
                actor=request.user,
                interview=interview,
                **data.validated_data,
            )
        except services.StaleEditError as exc:
            current = selectors.interview_get(workspace=self.workspace, interview_id=interview_id)
            return _stale(exc, current.version)
        return Response(_interview_detail(interview))

    @extend_schema(responses={204: None}, summary="Delete an interview and its highlights")
    def delete(self, request: Request, interview_id: int) -> Response:
        interview = selectors.interview_get(workspace=self.workspace, interview_id=interview_id)
        services.interview_delete(workspace=self.workspace, actor=request.user, interview=interview)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _highlight_out(workspace: Workspace, highlight_id: int) -> dict[str, Any]:
    highlight = selectors.highlight_list(workspace=workspace).get(id=highlight_id)
    return HighlightOutputSerializer(highlight).data


class InterviewHighlightListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination

    @extend_schema_serializer(component_name="HighlightCreateInput")
    class InputSerializer(serializers.Serializer):
        start = serializers.IntegerField(min_value=0)
        end = serializers.IntegerField(min_value=1)
        tag_ids = serializers.ListField(
            child=serializers.IntegerField(), required=False, max_length=50
        )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.highlight_list(workspace=workspace)

    @extend_schema(
        responses=HighlightOutputSerializer(many=True), summary="Highlights of an interview"
    )
    def get(self, request: Request, interview_id: int) -> Response:
        interview = selectors.interview_get(workspace=self.workspace, interview_id=interview_id)
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.highlight_list(workspace=self.workspace, interview=interview),
            serializer_class=HighlightOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: HighlightOutputSerializer},
        summary="Highlight the words between start and end of the transcript",
    )
    def post(self, request: Request, interview_id: int) -> Response:
        interview = selectors.interview_get(workspace=self.workspace, interview_id=interview_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        highlight = services.highlight_create(
            workspace=self.workspace,
            actor=request.user,
            interview=interview,
            start=data.validated_data["start"],
            end=data.validated_data["end"],
            tag_ids=data.validated_data.get("tag_ids", []),
        )
        return Response(
            _highlight_out(self.workspace, highlight.id), status=status.HTTP_201_CREATED
        )


class HighlightDetailApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.highlight_list(workspace=workspace)

    @extend_schema(responses=HighlightOutputSerializer, summary="One highlight")
    def get(self, request: Request, highlight_id: int) -> Response:
        return Response(_highlight_out(self.workspace, highlight_id))

    @extend_schema(responses={204: None}, summary="Delete a highlight")
    def delete(self, request: Request, highlight_id: int) -> Response:
        highlight = selectors.highlight_get(workspace=self.workspace, highlight_id=highlight_id)
        services.highlight_delete(workspace=self.workspace, actor=request.user, highlight=highlight)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- insights and evidence -------------------------------------------------------------------
class InsightListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Insight.Status.choices, required=False)

    @extend_schema_serializer(component_name="InsightCreateInput")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        summary = serializers.CharField(
            max_length=FEEDBACK_MAX_CHARS,
            required=False,
            allow_blank=True,
            trim_whitespace=False,
            help_text="Markdown.",
        )
        status = InsightStatusField(default=Insight.Status.DRAFT)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.insight_list(workspace=workspace)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=InsightOutputSerializer(many=True),
        summary="Insights",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.insight_list(
                workspace=self.workspace, status=params.validated_data.get("status", "")
            ),
            serializer_class=InsightOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer, responses={201: InsightOutputSerializer}, summary="Add an insight"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        insight = services.insight_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return Response(InsightOutputSerializer(insight).data, status=status.HTTP_201_CREATED)


class InsightDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="InsightUpdateInput")
    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(help_text="The version the edit was made on.")
        title = serializers.CharField(max_length=200, required=False)
        summary = serializers.CharField(
            max_length=FEEDBACK_MAX_CHARS, required=False, allow_blank=True, trim_whitespace=False
        )
        status = InsightStatusField(required=False)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.insight_list(workspace=workspace)

    @extend_schema(responses=InsightOutputSerializer, summary="One insight, with its reach")
    def get(self, request: Request, insight_id: int) -> Response:
        insight = selectors.insight_get(workspace=self.workspace, insight_id=insight_id)
        return Response(InsightOutputSerializer(insight).data)

    @extend_schema(
        request=InputSerializer,
        responses={200: InsightOutputSerializer, 409: ErrorOutputSerializer},
        summary="Change an insight; a stale version is refused with 409",
        description="On 409, `extra.version` is the current version: reload, then retry.",
    )
    def patch(self, request: Request, insight_id: int) -> Response:
        insight = selectors.insight_get(workspace=self.workspace, insight_id=insight_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            insight = services.insight_update(
                workspace=self.workspace,
                actor=request.user,
                insight=insight,
                **data.validated_data,
            )
        except services.StaleEditError as exc:
            current = selectors.insight_get(workspace=self.workspace, insight_id=insight_id)
            return _stale(exc, current.version)
        return Response(InsightOutputSerializer(insight).data)

    @extend_schema(responses={204: None}, summary="Delete an insight (cited items stay)")
    def delete(self, request: Request, insight_id: int) -> Response:
        insight = selectors.insight_get(workspace=self.workspace, insight_id=insight_id)
        services.insight_delete(workspace=self.workspace, actor=request.user, insight=insight)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EvidenceListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination

    @extend_schema_serializer(component_name="EvidenceCreateInput")
    class InputSerializer(serializers.Serializer):
        feedback_id = serializers.IntegerField(required=False)
        highlight_id = serializers.IntegerField(required=False)
        note = serializers.CharField(max_length=500, required=False, allow_blank=True)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("feedback_id" in attrs) == ("highlight_id" in attrs):
                raise serializers.ValidationError("Give feedback_id or highlight_id (one).")
            return attrs

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.insight_list(workspace=workspace)

    @extend_schema(
        responses=EvidenceOutputSerializer(many=True), summary="The evidence of an insight"
    )
    def get(self, request: Request, insight_id: int) -> Response:
        insight = selectors.insight_get(workspace=self.workspace, insight_id=insight_id)
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.evidence_list(workspace=self.workspace, insight=insight),
            serializer_class=EvidenceOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: EvidenceOutputSerializer},
        summary="Cite a feedback item or a highlight (again is a no-op)",
    )
    def post(self, request: Request, insight_id: int) -> Response:
        insight = selectors.insight_get(workspace=self.workspace, insight_id=insight_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = highlight = None
        if "feedback_id" in data.validated_data:
            feedback = _known(
                selectors.feedback_get,
                "feedback_id",
                "feedback",
                workspace=self.workspace,
                feedback_id=data.validated_data["feedback_id"],
            )
        else:
            highlight = _known(
                selectors.highlight_get,
                "highlight_id",
                "highlight",
                workspace=self.workspace,
                highlight_id=data.validated_data["highlight_id"],
            )
        evidence = services.evidence_add(
            workspace=self.workspace,
            actor=request.user,
            insight=insight,
            feedback=feedback,
            highlight=highlight,
            note=data.validated_data.get("note", ""),
        )
        evidence = selectors.evidence_list(workspace=self.workspace, insight=insight).get(
            id=evidence.id
        )
        return Response(EvidenceOutputSerializer(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceDetailApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        return selectors.insight_list(workspace=workspace)

    @extend_schema(responses={204: None}, summary="Remove a citation from an insight")
    def delete(self, request: Request, insight_id: int, evidence_id: int) -> Response:
        insight = selectors.insight_get(workspace=self.workspace, insight_id=insight_id)
        evidence = selectors.evidence_list(workspace=self.workspace, insight=insight).get(
            id=evidence_id
        )
        services.evidence_remove(workspace=self.workspace, actor=request.user, evidence=evidence)
        return Response(status=status.HTTP_204_NO_CONTENT)
