"""The backlog as a CSV download, for any filter and sort of the items API list."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from backlog.api.views import ItemFilterSerializer, csv_response, item_filters, item_page_url
from backlog.export import item_csv_lines
from pmhub.workspaces.decorators import workspace_view


@workspace_view()
@require_GET
def item_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every item the filters select (viewers too), streamed; the API's query parameters."""
    params = ItemFilterSerializer(data=request.GET)
    if not params.is_valid():
        problems = "; ".join(f"{name}: {' '.join(e)}" for name, e in params.errors.items())
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    data = params.validated_data
    lines = item_csv_lines(
        workspace=request.workspace,  # type: ignore[attr-defined]
        filters=item_filters(data),
        sort=data["sort"],
        item_url=item_page_url(request, request.workspace),  # type: ignore[attr-defined]
    )
    return csv_response(lines, f"{request.workspace.slug}-backlog.csv")  # type: ignore[attr-defined]


urlpatterns = [
    path("export.csv", item_export, name="item-export"),
]
