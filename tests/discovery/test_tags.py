"""Tag pages: list by group, detail with feedback, highlights and trend, edit, merge, delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from discovery import services
from discovery.models import Tag, Tagging
from discovery.services import FeedbackInput
from pmhub.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(f"discovery:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _tag(workspace, name, group="", color="#6366f1", description=""):
    return services.tag_create(
        workspace=workspace,
        actor=None,
        name=name,
        group=group,
        color=color,
        description=description,
    )


def _tagged(workspace, tag, text="Exports time out"):
    item = services.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(text=text, received_at=timezone.now() - timedelta(days=1)),
    )
    services.feedback_tag(workspace=workspace, actor=None, feedback_ids=[item.id], tag_id=tag.id)
    return item


def _highlight(workspace, tag, quote="the export button"):
    interview = services.interview_create(
        workspace=workspace, actor=None, title="Call", transcript=f"I clicked {quote} twice."
    )
    highlight = services.highlight_create(
        workspace=workspace,
        actor=None,
        interview=interview,
        start=10,
        end=10 + len(quote),
        tag_ids=[tag.id],
    )
    assert highlight.quote == quote
    return highlight


def test_tag_list_groups_tags_with_swatches_and_counts(workspace, member, login):
    slow = _tag(workspace, "Slow", group="Theme", color="#ff8800")
    _tag(workspace, "Happy", group="Sentiment")
    _tag(workspace, "Loose")
    _tagged(workspace, slow)
    _tagged(workspace, slow, "Again slow")

    response = login(member).get(_url(workspace, "tag-list"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Ungrouped") < html.index("Sentiment") < html.index("Theme")
    assert 'fill="#ff8800"' in html
    counts = {t.name: t.feedback_count for t in response.context["tags"]}
    assert counts == {"Loose": 0, "Happy": 0, "Slow": 2}


def test_tag_list_query_count_is_constant(workspace, member, login, django_assert_num_queries):
    client = login(member)
    client.get(_url(workspace, "tag-list"))
    _tagged(workspace, _tag(workspace, "One", group="A"))
    # membership (+user), tags with counts, switcher
    with django_assert_num_queries(3):
        client.get(_url(workspace, "tag-list"))
    for i in range(10):
        _tagged(workspace, _tag(workspace, f"T{i}", group=f"G{i % 3}"))
    with django_assert_num_queries(3):
        client.get(_url(workspace, "tag-list"))


def test_tag_page_shows_description_feedback_highlights_and_trend(workspace, member, login):
    tag = _tag(workspace, "Exports", description="Anything about <b>exporting</b>")
    other = _tag(workspace, "Other")
    _tagged(workspace, tag, "CSV export breaks")
    _tagged(workspace, other, "Unrelated")
    _highlight(workspace, tag)

    response = login(member).get(_url(workspace, "tag-detail", tag_id=tag.id))

    assert response.status_code == 200
    html = response.content.decode()
    assert "CSV export breaks" in html
    assert "Unrelated" not in html
    assert "the export button" in html
    assert "Anything about &lt;b&gt;exporting&lt;/b&gt;" in html
    assert response.context["trend"].total == 1


def test_create_tag(workspace, member, login):
    response = login(member).post(
        _url(workspace, "tag-new"),
        {"name": "Billing", "group": "Product area", "color": "#AA0000", "description": ""},
    )

    assert response.status_code == 302
    tag = Tag.objects.for_workspace(workspace).get()
    assert (tag.name, tag.group, tag.color) == ("Billing", "Product area", "#aa0000")


def test_create_tag_with_a_taken_name_shows_the_error(workspace, member, login):
    _tag(workspace, "Billing")

    response = login(member).post(
        _url(workspace, "tag-new"), {"name": "billing", "color": "#aa0000"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert Tag.objects.for_workspace(workspace).count() == 1


def test_edit_tag_renames_regroups_and_recolours(workspace, member, login):
    tag = _tag(workspace, "Bill")

    response = login(member).post(
        _url(workspace, "tag-edit", tag_id=tag.id),
        {"name": "Billing", "group": "Area", "color": "#00aa00", "description": "Money"},
    )

    assert response.status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.group, tag.color, tag.description) == (
        "Billing",
        "Area",
        "#00aa00",
        "Money",
    )


def test_merge_moves_every_link_to_the_survivor(workspace, member, login):
    source = _tag(workspace, "Slow")
    target = _tag(workspace, "Performance")
    both = _tagged(workspace, source, "both")
    services.feedback_tag(workspace=workspace, actor=None, feedback_ids=[both.id], tag_id=target.id)
    only_source = _tagged(workspace, source, "only source")
    highlight = _highlight(workspace, source)
    client = login(member)

    page = client.get(_url(workspace, "tag-merge", tag_id=source.id))
    response = client.post(_url(workspace, "tag-merge", tag_id=source.id), {"target": target.id})

    assert page.status_code == 200
    assert "2 feedback links and 1 highlight link" in page.content.decode()
    assert response["Location"] == _url(workspace, "tag-detail", tag_id=target.id)
    assert list(Tag.objects.for_workspace(workspace).values_list("name", flat=True)) == [
        "Performance"
    ]
    links = Tagging.objects.for_workspace(workspace)
    assert set(links.values_list("tag_id", flat=True)) == {target.id}
    assert set(links.exclude(feedback=None).values_list("feedback_id", flat=True)) == {
        both.id,
        only_source.id,
    }
    assert links.get(highlight__isnull=False).highlight_id == highlight.id


def test_merge_into_a_tag_of_another_workspace_is_refused(
    workspace, other_workspace, member, login
):
    source = _tag(workspace, "Slow")
    _tagged(workspace, source)
    theirs = _tag(other_workspace, "Theirs")

    response = login(member).post(
        _url(workspace, "tag-merge", tag_id=source.id), {"target": theirs.id}
    )

    assert response.status_code == 200
    assert "target" in response.context["form"].errors
    assert Tagging.objects.for_workspace(workspace).get().tag_id == source.id
    assert Tag.objects.for_workspace(other_workspace).get().id == theirs.id


def test_delete_asks_first_with_the_number_of_links_then_deletes(workspace, member, login):
    tag = _tag(workspace, "Doomed")
    item = _tagged(workspace, tag)
    _tagged(workspace, tag, "second")
    client = login(member)

    page = client.get(_url(workspace, "tag-delete", tag_id=tag.id))
    still_there = Tag.objects.for_workspace(workspace).filter(id=tag.id).exists()
    response = client.post(_url(workspace, "tag-delete", tag_id=tag.id))

    assert "2 feedback items and 0 highlights" in page.content.decode()
    assert still_there
    assert response["Location"] == _url(workspace, "tag-list")
    assert not Tag.objects.for_workspace(workspace).exists()
    assert not Tagging.objects.for_workspace(workspace).exists()
    assert item.text  # the feedback itself stays
    assert AuditEvent.objects.for_workspace(workspace).filter(action="tag.deleted").count() == 1


@pytest.mark.parametrize("name", ["tag-detail", "tag-edit", "tag-merge", "tag-delete"])
def test_tags_of_another_workspace_are_404(workspace, other_workspace, member, login, name):
    theirs = _tag(other_workspace, "Theirs")
    client = login(member)

    assert client.get(_url(workspace, name, tag_id=theirs.id)).status_code == 404
    if name in ("tag-delete", "tag-merge"):
        assert client.post(_url(workspace, name, tag_id=theirs.id)).status_code == 404
    assert Tag.objects.for_workspace(other_workspace).count() == 1


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param("anonymous", 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
        pytest.param("member", 302, id="editor_case"),
        pytest.param("admin", 302, id="admin_case"),
    ],
)
def test_delete_permission_matrix(workspace, login, client, request, who, expected):
    tag = _tag(workspace, "Doomed")
    actor = client if who == "anonymous" else login(request.getfixturevalue(who))

    response = actor.post(_url(workspace, "tag-delete", tag_id=tag.id))

    assert response.status_code == expected
    gone = who in ("member", "admin")
    assert Tag.objects.for_workspace(workspace).exists() is not gone


def test_tag_page_query_count_does_not_grow_with_its_links(
    workspace, member, login, django_assert_num_queries
):
    tag = _tag(workspace, "Busy")
    client = login(member)
    client.get(_url(workspace, "tag-detail", tag_id=tag.id))
    _tagged(workspace, tag)
    _highlight(workspace, tag)
    # membership (+user), tag, feedback rows, their taggings, highlights, their taggings,
    # the trend's weekly counts, the tag's rules, the segments of the rule form, switcher
    with django_assert_num_queries(10):
        client.get(_url(workspace, "tag-detail", tag_id=tag.id))
    for i in range(5):
        _tagged(workspace, tag, f"more {i}")
        _highlight(workspace, tag, f"quote number {i}")
    with django_assert_num_queries(10):
        response = client.get(_url(workspace, "tag-detail", tag_id=tag.id))
    assert len(response.context["feedback"]) == 6
    assert len(response.context["highlights"]) == 6
