"""The pages a digest links to for people who never log in: unsubscribe (a GET asks, a POST
does it, RFC 8058 one-click included) and the web version. The signed token in the URL is the
only credential; a tampered or expired one gets a page that says so, never a traceback."""

from __future__ import annotations

from csp.constants import NONE, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from pmhub.core.access import public_view
from pmhub.digests.content import DigestRequest, digests_build
from pmhub.digests.models import Stakeholder
from pmhub.digests.render import digest_html
from pmhub.digests.signing import BadLink, unsubscribe_token_read, web_token_read
from pmhub.digests.unsubscribe import stakeholder_unsubscribe
from pmhub.workspaces.models import Workspace


def _private(response: HttpResponse) -> HttpResponse:
    """These pages are one person's: never indexed, never cached on the way, and links out of
    them never tell where the reader came from (the token is in the URL)."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


def _bad_link(request: HttpRequest, *, status: int) -> HttpResponse:
    return _private(
        render(request, "digests/public/bad_link.html", {"status": status}, status=status)
    )


def _stakeholder(workspace_id: int, stakeholder_id: int) -> tuple[Workspace, Stakeholder] | None:
    # cross-workspace: a public link names its workspace by id; the signature vouches for it.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return None
    stakeholder = Stakeholder.objects.for_workspace(workspace).filter(id=stakeholder_id).first()
    return None if stakeholder is None else (workspace, stakeholder)


@public_view
@csrf_exempt  # RFC 8058: mail clients POST with no cookie and no token; the signed link is both.
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, digest_token: str) -> HttpResponse:
    """GET asks (mail scanners fetch links: it changes nothing); POST unsubscribes."""
    try:
        workspace_id, stakeholder_id = unsubscribe_token_read(digest_token)
    except (BadLink, ValueError):
        return _bad_link(request, status=400)
    found = _stakeholder(workspace_id, stakeholder_id)
    if found is None:
        return _bad_link(request, status=404)
    workspace, stakeholder = found
    if request.method == "POST":
        stakeholder = stakeholder_unsubscribe(workspace=workspace, stakeholder=stakeholder)
        template = "digests/public/unsubscribe_done.html"
    elif stakeholder.status == Stakeholder.Status.UNSUBSCRIBED:
        template = "digests/public/unsubscribe_done.html"
    else:
        template = "digests/public/unsubscribe_confirm.html"
    context = {"workspace_name": workspace.name, "email": stakeholder.email}
    return _private(render(request, template, context))


# An email is styled inline only (mail clients drop stylesheets), so this page allows inline
# styles; it has nothing else to load, so it may load nothing else, nor run or post anything.
@public_view
@csp_replace(
    {
        "default-src": [NONE], "script-src": [NONE], "style-src": [UNSAFE_INLINE],
        "img-src": [NONE], "font-src": [NONE], "connect-src": [NONE], "form-action": [NONE],
        "base-uri": [NONE],
    }
)  # fmt: skip
@require_GET
def web_version(request: HttpRequest, digest_token: str) -> HttpResponse:
    """The digest the link names, exactly as its email's HTML."""
    try:
        named = web_token_read(digest_token)
    except (BadLink, ValueError):
        return _bad_link(request, status=400)
    found = _stakeholder(named.workspace_id, named.stakeholder_id)
    if found is None:
        return _bad_link(request, status=404)
    workspace, stakeholder = found
    digest = digests_build(
        workspace, [DigestRequest(stakeholder, named.covers_from, named.covers_until)]
    )[0]
    return _private(HttpResponse(digest_html(digest)))
