"""The public changelog's pages and Atom feed: no login, no app chrome, no internal links.
Each 404s unless the workspace turned its changelog on."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from docs import changelog
from docs.feeds import changelog_atom
from pmhub.core.views import public_view

MAX_PAGE = 10_000


def _public(response: HttpResponse) -> HttpResponse:
    """Links out of a public page never tell where the reader came from."""
    response["Referrer-Policy"] = "no-referrer"
    return response


@public_view
@require_GET
def changelog_index(request: HttpRequest, changelog_slug: str) -> HttpResponse:
    page = request.GET.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        raise Http404("No such page.")
    public = changelog.public_changelog_get(slug=changelog_slug, page=int(page))
    return _public(
        render(request, "docs/changelog_public.html", {"changelog": public, "entry": None})
    )


@public_view
@require_GET
def changelog_entry(request: HttpRequest, changelog_slug: str, entry_id: int) -> HttpResponse:
    public, entry = changelog.public_entry_get(slug=changelog_slug, entry_id=entry_id)
    return _public(
        render(request, "docs/changelog_public.html", {"changelog": public, "entry": entry})
    )


@public_view
@require_GET
def changelog_feed(request: HttpRequest, changelog_slug: str) -> HttpResponse:
    public = changelog.public_changelog_get(slug=changelog_slug)
    index_url = request.build_absolute_uri(
        reverse("changelog:index", kwargs={"changelog_slug": public.slug})
    )
    feed_url = request.build_absolute_uri(
        reverse("changelog:feed", kwargs={"changelog_slug": public.slug})
    )
    entry_url = request.build_absolute_uri(
        reverse("changelog:entry", kwargs={"changelog_slug": public.slug, "entry_id": 0})
    ).replace("/0/", "/{id}/")
    body = changelog_atom(public, index_url=index_url, feed_url=feed_url, entry_url=entry_url)
    return _public(HttpResponse(body, content_type="application/atom+xml; charset=utf-8"))


# Mounted at /changelog/ (docs/public_urls.py). The slug is named `changelog_slug`, not
# `workspace_slug`: these pages are public, the workspace is not resolved for a member.
urlpatterns = [
    path("<slug:changelog_slug>/", changelog_index, name="index"),
    path("<slug:changelog_slug>/feed.atom", changelog_feed, name="feed"),
    path("<slug:changelog_slug>/<int:entry_id>/", changelog_entry, name="entry"),
]
