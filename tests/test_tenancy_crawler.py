"""Every URL pattern and API route, probed as an outsider, an anonymous visitor and a foreign token.

Routes declare an access policy (pmhub.core.access). A route without one, or with a URL argument
this crawler cannot fill, fails the suite: every future route is covered the day it is added.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from pmhub.accounts.services import api_token_create
from pmhub.core.access import PUBLIC, USER, WORKSPACE, access_of
from pmhub.workspaces.models import Membership
from pmhub.workspaces.services import invitation_create, invitation_token

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
CSRF_EXEMPT = {"/digest/unsubscribe/<str:digest_token>/"}


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "/w/<slug:workspace_slug>/settings/members/<int:member_id>/role/"
    callback: Any
    name: str

    @property
    def parameters(self) -> list[str]:
        return [m["name"] for m in PARAMETER.finditer(self.template)]

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    @property
    def methods(self) -> list[str]:
        view_class = getattr(self.callback, "cls", None)
        if view_class is not None:  # DRF: the handlers the class defines.
            return [m for m in HTTP_METHODS if hasattr(view_class, m)]
        return ["get", "post"]  # Function views: try both; a wrong method must still be 404.

    def url(self, values: dict[str, str]) -> str:
        return PARAMETER.sub(lambda m: str(values[m["name"]]), self.template)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route("/" + prefix + str(entry.pattern), entry.callback, entry.name or "")


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def _route_id(route: Route) -> str:
    return route.template


def _discovery_objects(workspace, actor) -> dict[str, int]:
    """One object of each discovery kind in `workspace`, by the URL argument naming it."""
    from discovery import services as discovery
    from discovery.models import ImportJob, TaggingJob, TagSuggestion
    from discovery.tag_rules import rule_create

    company, _ = discovery.company_upsert(
        workspace=workspace,
        actor=actor,
        name="Initech",
        domain="initech.test",
        segment="Enterprise",
    )
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=actor, email="peter@initech.test", name="Peter", company=company
    )
    feedback = discovery.feedback_create(
        workspace=workspace,
        actor=actor,
        data=discovery.FeedbackInput(
            text="Exports time out on big boards", customer_id=customer.id
        ),
    )
    tag = discovery.tag_create(workspace=workspace, actor=actor, name="Exports")
    interview = discovery.interview_create(
        workspace=workspace,
        actor=actor,
        title="Call with Peter",
        transcript="Peter: the export times out every Monday.",
        participant_ids=[customer.id],
    )
    highlight = discovery.highlight_create(
        workspace=workspace, actor=actor, start=7, end=33, interview=interview
    )
    insight = discovery.insight_create(
        workspace=workspace, actor=actor, title="Exports fail at scale"
    )
    evidence = discovery.evidence_add(
        workspace=workspace, actor=actor, insight=insight, feedback=feedback
    )
    job = ImportJob.objects.create(
        workspace=workspace,
        kind=ImportJob.Kind.FEEDBACK_CSV,
        filename="feedback.csv",
        path="",
        created_by=actor,
    )
    rule = rule_create(workspace=workspace, actor=actor, tag=tag, kind="keyword", pattern="export")
    suggestion = TagSuggestion.objects.create(
        workspace=workspace, tag=tag, feedback=feedback, confidence=0.6, model_version=1
    )
    tagging_job = TaggingJob.objects.create(
        workspace=workspace, kind=TaggingJob.Kind.RETAG, created_by=actor
    )
    return {
        "rule_id": rule.id,
        "suggestion_id": suggestion.id,
        "tagging_job_id": tagging_job.id,
        "company_id": company.id,
        "customer_id": customer.id,
        "feedback_id": feedback.id,
        "tag_id": tag.id,
        "interview_id": interview.id,
        "highlight_id": highlight.id,
        "insight_id": insight.id,
        "evidence_id": evidence.id,
        "job_id": job.id,
    }


def _backlog_objects(workspace, actor, discovery_ids: dict[str, int]) -> dict[str, int]:
    """One backlog item of `workspace` citing the discovery insight, by URL argument."""
    from backlog import services as backlog

    item = backlog.item_create(workspace=workspace, actor=actor, title="Faster exports")
    link = backlog.item_link_evidence(
        workspace=workspace, actor=actor, item=item, insight_id=discovery_ids["insight_id"]
    )
    from backlog import scoring

    formula, job = scoring.formula_create(
        workspace=workspace, actor=actor, name="Demand", source="customer_count + 1"
    )
    field = scoring.score_field_create(
        workspace=workspace, actor=actor, name="fit", label="Strategic fit"
    )
    from backlog import saved_views
    from pmhub.workspaces.models import Membership

    view = saved_views.saved_view_create(
        workspace=workspace,
        membership=Membership.objects.for_workspace(workspace).get(user=actor),
        name="Planned",
        params={"status": ["planned"]},
        is_shared=True,
    )
    return {
        "saved_view_id": view.id,
        "item_id": item.id,
        "item_evidence_id": link.id,
        "formula_id": formula.id,
        "scoring_job_id": job.id,
        "score_field_id": field.id,
    }


def _roadmap_objects(workspace, actor, item_id: int) -> dict[str, int | str]:
    """One roadmap object of each kind in `workspace`, by the URL argument naming it. Routes of
    the roadmap app name their arguments after these (`roadmap_id`, `release_id`, ...)."""
    import datetime

    from backlog.models import Item
    from roadmap import services as roadmap
    from roadmap.models import (
        KeyResult,
        KeyResultValue,
        LaunchTask,
        Objective,
        Release,
        RoadmapEvent,
    )

    item = Item.objects.for_workspace(workspace).get(id=item_id)
    board = roadmap.roadmap_create(workspace=workspace, actor=actor, name="Product roadmap")
    column = board.columns.order_by("position").first()
    roadmap.placement_add(
        workspace=workspace, actor=actor, roadmap=board, item=item, column_id=column.id
    )
    release = Release.objects.create(
        workspace=workspace, name="2026.12", target_date=datetime.date(2026, 12, 15)
    )
    task = LaunchTask.objects.create(workspace=workspace, release=release, title="Blog post")
    objective = Objective.objects.create(workspace=workspace, title="Win enterprise")
    key_result = KeyResult.objects.create(
        workspace=workspace, objective=objective, metric="Enterprise ARR", target=1_000_000
    )
    value = KeyResultValue.objects.create(
        workspace=workspace,
        key_result=key_result,
        value=250_000,
        measured_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
    )
    from roadmap.sharing import share_link_create

    share, share_token = share_link_create(
        workspace=workspace, actor=actor, roadmap=board, name="Board", fields=["status"]
    )
    event = RoadmapEvent.objects.for_workspace(workspace).filter(roadmap=board).first()
    return {
        "roadmap_id": board.id,
        "column_id": column.id,
        "release_id": release.id,
        "launch_task_id": task.id,
        "objective_id": objective.id,
        "key_result_id": key_result.id,
        "key_result_value_id": value.id,
        "share_link_id": share.id,
        "share_token": share_token,
        "event_id": event.id,
    }


def _docs_objects(workspace, actor, item_id: int) -> dict[str, int]:
    """One docs object of each kind in `workspace`, by the URL argument naming it. Routes of
    the docs app name their arguments after these (`document_id`, `number`, ...)."""
    from docs import services as docs
    from docs.models import Comment, DocumentLink, Reviewer

    templates = docs.templates_ensure(workspace=workspace)
    document = docs.document_create(
        workspace=workspace, actor=actor, kind="prd", title="Exports PRD", template=templates[0]
    )
    docs.document_save(
        workspace=workspace, actor=actor, document=document, base_version=1,
        title="Exports PRD", body=f"Cites [[item:{item_id}]]", summary="Second",
    )  # fmt: skip
    link = DocumentLink.objects.create(workspace=workspace, document=document, item_id=item_id)
    comment = Comment.objects.create(
        workspace=workspace, document=document, author=actor, body="Why?", on_version=2
    )
    reviewer = Reviewer.objects.create(workspace=workspace, document=document, user=actor)
    # The public changelog (changelog:*) on, with one published release note to read.
    from docs.changelog import changelog_update

    changelog_update(workspace=workspace, is_public=True, title="Acme changelog")
    notes = docs.document_create(
        workspace=workspace, actor=actor, kind="release_notes", title="Notes", body="Faster"
    )
    for status in ("in_review", "approved", "published"):
        docs.document_set_status(workspace=workspace, actor=actor, document=notes, status=status)
    return {
        "document_id": document.id,
        "number": 1,
        "other_number": 2,
        "template_id": templates[0].id,
        "link_id": link.id,
        "comment_id": comment.id,
        "reviewer_id": reviewer.id,
        "changelog_slug": workspace.slug,
        "entry_id": notes.id,
    }


def _digests_objects(
    workspace, other_workspace, item_id: int, settings, tmp_path
) -> dict[str, int | str]:
    """A stakeholder of `workspace` following an item, with one delivery (a run), by URL
    argument; a message of `workspace` in the quick start's outbox (a Maildir, turned on here);
    and `digest_token`, the public pages' signed link. Those pages take no workspace
    from the path: the token is the credential, so one of another workspace's stakeholders
    opens them as well (each route below is given the kind of token it reads)."""
    import datetime
    import mailbox

    from pmhub.digests import services as digests
    from pmhub.digests.models import Delivery
    from pmhub.digests.signing import unsubscribe_token

    stakeholder = digests.stakeholder_create(workspace=workspace, email="dana@client.test")
    follow = digests.follow_add(workspace=workspace, stakeholder=stakeholder, item_id=item_id)
    due = datetime.datetime(2026, 11, 23, 8, tzinfo=datetime.UTC)
    Delivery.objects.create(
        workspace=workspace, stakeholder=stakeholder, period="2026-W48", due_at=due,
        covers_until=due,
    )  # fmt: skip
    theirs = digests.stakeholder_create(workspace=other_workspace, email="lee@client.test")
    settings.PMHUB_DEV_MAILDIR = str(tmp_path / "mail")
    message_key = mailbox.Maildir(settings.PMHUB_DEV_MAILDIR).add(
        f"X-PMHub-Workspace: {workspace.slug}\nTo: dana@client.test\nSubject: Digest\n\nHello\n"
    )
    return {
        "stakeholder_id": stakeholder.id,
        "follow_id": follow.id,
        "period": "2026-W48",
        "message_key": message_key,
        "digest_token": unsubscribe_token(
            workspace_id=other_workspace.id, stakeholder_id=theirs.id
        ),
    }


def _token_values(route: Route, values: dict[str, Any]) -> dict[str, Any]:
    """`values` with the token the route reads: the digest's web version reads a web token."""
    if route.template.startswith("/digest/view/"):
        import datetime

        from pmhub.digests.signing import unsubscribe_token_read, web_token

        workspace_id, stakeholder_id = unsubscribe_token_read(values["digest_token"])
        until = datetime.datetime(2026, 11, 23, 8, tzinfo=datetime.UTC)
        token = web_token(
            workspace_id=workspace_id, stakeholder_id=stakeholder_id,
            covers_from=until - datetime.timedelta(days=7), covers_until=until,
        )  # fmt: skip
        return {**values, "digest_token": token}
    return values


def world_values(workspace, other_workspace, admin, member, settings, tmp_path) -> dict[str, Any]:
    """Objects of `workspace`, created by `member` (an editor), for every URL argument."""
    invitation = invitation_create(
        workspace=workspace, actor=admin, email="invitee@example.com", role="viewer"
    )
    token, _raw = api_token_create(workspace=workspace, user=member, name="ci", access="read")
    discovery = _discovery_objects(workspace, member)
    backlog = _backlog_objects(workspace, member, discovery)
    return {
        **discovery,
        **backlog,
        **_roadmap_objects(workspace, member, backlog["item_id"]),
        **_docs_objects(workspace, member, backlog["item_id"]),
        **_digests_objects(workspace, other_workspace, backlog["item_id"], settings, tmp_path),
        "workspace_slug": workspace.slug,
        "member_id": Membership.objects.for_workspace(workspace).get(user=member).id,
        "invitation_id": invitation.id,
        "token_id": token.id,
        "token": invitation_token(invitation),
        "uidb64": "MQ",
    }


@pytest.fixture
def world(workspace, other_workspace, admin, member, outsider, settings, tmp_path):
    """Objects of `workspace` for every URL argument, and the clients that must not reach them."""
    values = world_values(workspace, other_workspace, admin, member, settings, tmp_path)
    _foreign, foreign_raw = api_token_create(
        workspace=other_workspace, user=outsider, name="x", access="write"
    )
    outsider_client = Client()
    outsider_client.force_login(outsider)
    outsider_api = APIClient()
    outsider_api.force_login(outsider)
    foreign_token = APIClient()
    foreign_token.credentials(HTTP_AUTHORIZATION=f"Bearer {foreign_raw}")
    admin_client = Client()
    admin_client.force_login(admin)
    return {
        "values": values,
        "outsider": outsider_client,
        "outsider_api": outsider_api,
        "foreign_token": foreign_token,
        "admin": admin_client,
    }


def test_every_route_declares_an_access_policy():
    unclassified = [r.template for r in all_routes() if access_of(r.callback) is None]
    assert unclassified == [], (
        "These routes declare no access policy; decorate them with workspace_view, user_view "
        f"or public_view, or subclass WorkspaceApiView/UserApiView: {unclassified}"
    )


def test_workspace_routes_and_only_they_take_the_workspace_from_the_path():
    wrong = [
        r.template
        for r in all_routes()
        if (access_of(r.callback) == WORKSPACE) != ("workspace_slug" in r.parameters)
    ]
    assert wrong == []


@pytest.mark.django_db
def test_every_route_argument_can_be_filled(world):
    missing = {
        (r.template, p) for r in all_routes() for p in r.parameters if p not in world["values"]
    }
    assert missing == set(), f"teach the crawler a value for these URL arguments: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", all_routes(), ids=_route_id)
def test_route_keeps_its_policy(route, world):
    policy = access_of(route.callback)
    url = route.url(_token_values(route, world["values"]))
    anonymous = APIClient() if route.is_api else Client()

    if policy == PUBLIC:
        response = anonymous.get(url)
        # 503 is /health/ reporting a stopped worker; it is still an answer, not a refusal.
        assert response.status_code in {200, 302, 405, 410, 503}, (url, response.status_code)
        return

    for method in route.methods:
        response = getattr(anonymous, method)(url)
        if route.is_api:
            assert response.status_code == 401, (method, url, response.status_code)
        else:
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith("/accounts/login/"), response["Location"]

    if policy == USER:
        response = (world["outsider_api"] if route.is_api else world["outsider"]).get(url)
        assert response.status_code in {200, 302}, (url, response.status_code)
        return

    assert policy == WORKSPACE
    # The same URL reaches a member, so the outsider's 404 below is tenancy, not a bad id.
    reachable = world["admin"].get(url)
    assert reachable.status_code in {200, 302, 405}, (url, reachable.status_code)

    for method in route.methods:
        outsider = world["outsider_api"] if route.is_api else world["outsider"]
        response = getattr(outsider, method)(url)
        assert response.status_code == 404, ("outsider", method, url, response.status_code)
        if route.is_api:
            response = getattr(world["foreign_token"], method)(url)
            assert response.status_code == 404, ("foreign token", method, url)
            assert response.json() == {"message": "Not found.", "extra": {}}


def _schema_paths() -> dict[str, dict[str, Any]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return schema["paths"]


def _as_template(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


def _without_converters(template: str) -> str:
    return PARAMETER.sub(lambda m: f"<{m['name']}>", template)


def test_openapi_schema_and_resolver_agree_on_the_api_routes():
    from_schema = {_as_template(path) for path in _schema_paths()}
    from_resolver = {
        _without_converters(r.template) for r in all_routes() if r.template.startswith("/api/v1/")
    }
    assert from_schema == from_resolver


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "method"),
    [(path, method) for path, ops in _schema_paths().items() for method in ops],
    ids=lambda value: value,
)
def test_schema_operation_refuses_outsiders(path, method, world):
    url = re.sub(r"\{(\w+)\}", lambda m: str(world["values"][m[1]]), path)
    anonymous = getattr(APIClient(), method)(url)
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"message", "extra"}
    if "{workspace_slug}" not in path:
        return
    assert getattr(world["outsider_api"], method)(url).status_code == 404
    assert getattr(world["foreign_token"], method)(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in all_routes() if not r.is_api], ids=_route_id)
def test_every_form_post_needs_the_csrf_token(route, world, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    if getattr(route.callback, "csrf_exempt", False):
        # RFC 8058: a mail client's one-click unsubscribe POST has no cookie and no token; the
        # signed link is the credential. The only exemption, and only on a public page.
        assert route.template in CSRF_EXEMPT, route.template
        assert access_of(route.callback) == PUBLIC
        return

    response = client.post(route.url(_token_values(route, world["values"])), {"name": "changed"})

    assert response.status_code == 403, (route.template, response.status_code)
