from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from pmhub.core.access import public_view
from pmhub.core.api_schema import SchemaView
from pmhub.core.health import health
from pmhub.workspaces import views as workspace_views

workspace_patterns = [
    path("", include("pmhub.workspaces.urls")),
    path("discovery/", include("discovery.urls")),
    path("backlog/", include("backlog.urls")),
    path("roadmap/", include("roadmap.urls")),
    path("docs/", include("docs.urls")),
    path("digests/", include("pmhub.digests.urls")),
    path("settings/data/", include("pmhub.workspaces.urls_data")),
]

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("health/", health, name="health"),
    path("accounts/", include("pmhub.accounts.urls")),
    path("workspaces/new/", workspace_views.workspace_create_view, name="workspace-create"),
    path(
        "invitations/<str:token>/", workspace_views.invitation_accept_view, name="invitation-accept"
    ),
    path("w/<slug:workspace_slug>/", include(workspace_patterns)),
    path("share/", include("roadmap.share_urls")),
    path("changelog/", include("docs.public_urls")),
    path("digest/", include("pmhub.digests.public_urls")),
    path("api/v1/", include("pmhub.api_urls")),
    path("api/schema/", public_view(SchemaView.as_view()), name="api-schema"),
    path(
        "api/docs/",
        public_view(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

# An unreachable database answers 503 (templates/503.html, or JSON under /api/), not a 500.
handler500 = "pmhub.core.views.server_error"
handler404 = "pmhub.core.views.page_not_found"
