"""A stakeholder's next digest exactly as it will be sent (the HTML in a sandboxed frame, or
the plain text), and "Send a test to me"."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from pmhub.digests import services
from pmhub.digests.views.stakeholders import _stakeholder
from pmhub.workspaces.decorators import workspace_view


# A srcdoc frame inherits the page's policy, and an email is styled inline only (mail clients
# drop stylesheets): the page allows inline styles, the frame's sandbox still runs no script.
@workspace_view()
@csp_update({"style-src": [UNSAFE_INLINE]})
@require_GET
def stakeholder_preview(request: HttpRequest, stakeholder_id: int) -> HttpResponse:
    # Imported here: the content and the mail's rendering are their own modules, loaded by the
    # one page that shows them.
    from pmhub.digests.content import digest_next
    from pmhub.digests.render import digest_email, digest_html, digest_text

    stakeholder = _stakeholder(request, stakeholder_id)
    settings = services.digest_settings_get(workspace=request.workspace)
    digest = digest_next(workspace=request.workspace, stakeholder=stakeholder)
    message = digest_email(digest, settings=settings, message_id="<preview@pmhub>")
    view = "text" if request.GET.get("view") == "text" else "html"
    context = {
        "stakeholder": stakeholder,
        "digest": digest,
        "message": message,
        "view": view,
        "html": digest_html(digest) if view == "html" else "",
        "text": digest_text(digest) if view == "text" else "",
    }
    return render(request, "digests/stakeholder_preview.html", context)


@workspace_view()
@require_POST
def stakeholder_test(request: HttpRequest, stakeholder_id: int) -> HttpResponse:
    """Queue the stakeholder's next digest to the member asking, after this request commits."""
    from pmhub.digests.tasks import digest_test_send_task

    stakeholder = _stakeholder(request, stakeholder_id)
    digest_test_send_task.delay_on_commit(
        workspace_id=request.workspace.id, stakeholder_id=stakeholder.id, to=request.user.email
    )
    messages.success(
        request,
        f"A test of {stakeholder}’s next digest is on its way to {request.user.email}.",
    )
    url = reverse(
        "digests:stakeholder-preview",
        kwargs={"workspace_slug": request.workspace.slug, "stakeholder_id": stakeholder.id},
    )
    return redirect(url)


urlpatterns = [
    path(
        "stakeholders/<int:stakeholder_id>/preview/",
        stakeholder_preview,
        name="stakeholder-preview",
    ),
    path("stakeholders/<int:stakeholder_id>/test/", stakeholder_test, name="stakeholder-test"),
]
