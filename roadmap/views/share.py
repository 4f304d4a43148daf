"""The public pages a roadmap share link opens: the page itself and a compact variant other
sites may frame. No login, no workspace in the path: the secret is the whole address, and every
link that does not open (unknown, malformed, tampered with, revoked, expired) is the same 404."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from pmhub.core.views import public_view
from roadmap.sharing import share_link_resolve, shared_roadmap


def _render_shared(request: HttpRequest, share_token: str, *, embed: bool) -> HttpResponse:
    link = share_link_resolve(share_token)
    if link is None:
        raise Http404
    response = render(
        request,
        "roadmap/share_page.html",
        {"shared": shared_roadmap(link), "embed": embed},
    )
    # A revoked link stops at once: nothing keeps a copy. The secret is in the address, so no
    # link on the page may carry it away in a Referer, and search engines keep out.
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@public_view
@require_GET
def share_page(request: HttpRequest, share_token: str) -> HttpResponse:
    return _render_shared(request, share_token, embed=False)


# The one page other sites may frame (an intranet, a help center, a Notion page): the app's CSP
# says frame-ancestors 'none' and X-Frame-Options DENY everywhere else.
@public_view
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
@require_GET
def share_embed(request: HttpRequest, share_token: str) -> HttpResponse:
    return _render_shared(request, share_token, embed=True)


urlpatterns = [
    path("<str:share_token>/", share_page, name="page"),
    path("<str:share_token>/embed/", share_embed, name="embed"),
]
