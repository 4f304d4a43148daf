from __future__ import annotations

from django.urls import path

from pmhub.digests.api import views

# Mounted under /api/v1/workspaces/<workspace_slug>/ (pmhub/api_urls.py, namespace "api").
urlpatterns = [
    path("stakeholders/", views.StakeholderListCreateApi.as_view(), name="stakeholder-list"),
    path(
        "stakeholders/<int:stakeholder_id>/",
        views.StakeholderDetailApi.as_view(),
        name="stakeholder-detail",
    ),
    path(
        "stakeholders/<int:stakeholder_id>/follows/",
        views.FollowListCreateApi.as_view(),
        name="stakeholder-follow-list",
    ),
    path(
        "stakeholders/<int:stakeholder_id>/follows/<int:follow_id>/",
        views.FollowDetailApi.as_view(),
        name="stakeholder-follow-detail",
    ),
    path("digest-settings/", views.DigestSettingsApi.as_view(), name="digest-settings"),
    path("digest-deliveries/", views.DeliveryListApi.as_view(), name="digest-delivery-list"),
]
