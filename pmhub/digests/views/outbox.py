"""The quick start's Outbox: the digests its SMTP sink received for this workspace, and one of
them as received (the HTML in a sandboxed frame, or the plain text). Editors and admins only: a
digest shows what a stakeholder follows. Outside the quick start there is no such page (404)."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from pmhub.core.views import object_or_404
from pmhub.digests import outbox
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role


@workspace_view(roles={"GET": Role.EDITOR, "HEAD": Role.EDITOR})
@require_GET
def outbox_list(request: HttpRequest) -> HttpResponse:
    if not outbox.outbox_enabled():
        raise Http404("The outbox exists only in the quick start.")
    try:
        entries = outbox.outbox_list(workspace=request.workspace)
    except outbox.OutboxMissing:  # the sink has not kept a message yet
        entries = []
    context = {
        "entries": entries,
        "maildir": settings.PMHUB_DEV_MAILDIR,
        "list_size": outbox.LIST_SIZE,
    }
    return render(request, "digests/outbox_list.html", context)


# A srcdoc frame inherits the page's policy, and an email is styled inline only: as on the
# preview, the page allows inline styles, and the frame's sandbox still runs no script.
@workspace_view(roles={"GET": Role.EDITOR, "HEAD": Role.EDITOR})
@csp_update({"style-src": [UNSAFE_INLINE]})
@require_GET
def outbox_message(request: HttpRequest, message_key: str) -> HttpResponse:
    message = object_or_404(
        outbox.outbox_message_get, workspace=request.workspace, message_key=message_key
    )
    view = "text" if request.GET.get("view") == "text" or not message.html else "html"
    context = {
        "message": message,
        "entry": message.entry,
        "view": view,
        "body_limit": outbox.BODY_BYTES,
    }
    return render(request, "digests/outbox_message.html", context)


urlpatterns = [
    path("outbox/", outbox_list, name="outbox"),
    path("outbox/<str:message_key>/", outbox_message, name="outbox-message"),
]
