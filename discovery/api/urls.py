from __future__ import annotations

from django.urls import URLPattern, path

from discovery.api import views

# Mounted under /api/v1/workspaces/<workspace_slug>/ (pmhub/api_urls.py, namespace "api").
urlpatterns: list[URLPattern] = [
    path("feedback/", views.FeedbackListCreateApi.as_view(), name="discovery-feedback-list"),
    path("feedback/bulk/", views.FeedbackBulkApi.as_view(), name="discovery-feedback-bulk"),
    path(
        "feedback/<int:feedback_id>/",
        views.FeedbackDetailApi.as_view(),
        name="discovery-feedback-detail",
    ),
    path(
        "feedback/<int:feedback_id>/tags/",
        views.FeedbackTagAddApi.as_view(),
        name="discovery-feedback-tag-add",
    ),
    path(
        "feedback/<int:feedback_id>/tags/<int:tag_id>/",
        views.FeedbackTagRemoveApi.as_view(),
        name="discovery-feedback-tag-remove",
    ),
    path("companies/", views.CompanyListCreateApi.as_view(), name="discovery-company-list"),
    path(
        "companies/<int:company_id>/",
        views.CompanyDetailApi.as_view(),
        name="discovery-company-detail",
    ),
    path("customers/", views.CustomerListCreateApi.as_view(), name="discovery-customer-list"),
    path(
        "customers/<int:customer_id>/",
        views.CustomerDetailApi.as_view(),
        name="discovery-customer-detail",
    ),
    path("tags/", views.TagListCreateApi.as_view(), name="discovery-tag-list"),
    path("tags/<int:tag_id>/", views.TagDetailApi.as_view(), name="discovery-tag-detail"),
    path("tags/<int:tag_id>/merge/", views.TagMergeApi.as_view(), name="discovery-tag-merge"),
    path("interviews/", views.InterviewListCreateApi.as_view(), name="discovery-interview-list"),
    path(
        "interviews/<int:interview_id>/",
        views.InterviewDetailApi.as_view(),
        name="discovery-interview-detail",
    ),
    path(
        "interviews/<int:interview_id>/highlights/",
        views.InterviewHighlightListCreateApi.as_view(),
        name="discovery-interview-highlight-list",
    ),
    path(
        "highlights/<int:highlight_id>/",
        views.HighlightDetailApi.as_view(),
        name="discovery-highlight-detail",
    ),
    path("insights/", views.InsightListCreateApi.as_view(), name="discovery-insight-list"),
    path(
        "insights/<int:insight_id>/",
        views.InsightDetailApi.as_view(),
        name="discovery-insight-detail",
    ),
    path(
        "insights/<int:insight_id>/evidence/",
        views.EvidenceListCreateApi.as_view(),
        name="discovery-evidence-list",
    ),
    path(
        "insights/<int:insight_id>/evidence/<int:evidence_id>/",
        views.EvidenceDetailApi.as_view(),
        name="discovery-evidence-detail",
    ),
]
