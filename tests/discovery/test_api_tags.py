"""The tags API: list, create, get, rename/recolour, delete and merge."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from discovery import services
from discovery.models import Tag, Tagging
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    NOT_FOUND,
    api_as,
    client_of,
    feedback,
    fields_error,
    iso,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(workspace, member):
    return api_as(member, workspace)


def _tag(workspace, actor, name="Exports", **kwargs) -> Tag:
    return services.tag_create(workspace=workspace, actor=actor, name=name, **kwargs)


def _row(tag: Tag) -> dict:
    return {
        "id": tag.id,
        "name": tag.name,
        "group": tag.group,
        "color": tag.color,
        "description": tag.description,
        "created_at": iso(tag.created_at),
        "updated_at": iso(tag.updated_at),
    }


def test_create_a_tag(workspace, editor):
    response = editor.post(
        f"{BASE}/tags/",
        {"name": "Exports", "group": "Theme", "color": "#AABBCC", "description": "Slow exports"},
        format="json",
    )

    assert response.status_code == 201
    tag = Tag.objects.for_workspace(workspace).get()
    assert (tag.name, tag.group, tag.color, tag.description) == (
        "Exports",
        "Theme",
        "#aabbcc",
        "Slow exports",
    )
    assert response.json() == _row(tag)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param(
            {"name": "exports"},
            {"name": ["A tag named 'exports' already exists."]},
            id="duplicate_name_case",
        ),
        pytest.param(
            {"name": "Red", "color": "red"},
            {"color": ["Use a colour like #6366f1."]},
            id="color_case",
        ),
        pytest.param(
            {"name": "x" * 61},
            {"name": ["Ensure this field has no more than 60 characters."]},
            id="oversized_case",
        ),
    ],
)
def test_bad_tags_are_400(workspace, member, editor, body, fields):
    _tag(workspace, member)

    response = editor.post(f"{BASE}/tags/", body, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(**fields)
    assert list(Tag.objects.for_workspace(workspace).values_list("name", flat=True)) == ["Exports"]


def test_list_get_patch_and_delete(workspace, member, editor):
    exports = _tag(workspace, member)
    pricing = _tag(workspace, member, name="Pricing")
    item = feedback(workspace, member)
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[item.id], tag_id=exports.id
    )

    listed = editor.get(f"{BASE}/tags/")
    got = editor.get(f"{BASE}/tags/{exports.id}/")
    patched = editor.patch(
        f"{BASE}/tags/{exports.id}/", {"name": "Export", "color": "#000000"}, format="json"
    )

    assert listed.json()["results"] == [_row(exports), _row(pricing)]
    assert got.json() == _row(exports)
    exports.refresh_from_db()
    assert (exports.name, exports.color) == ("Export", "#000000")
    assert patched.json() == _row(exports)

    deleted = editor.delete(f"{BASE}/tags/{exports.id}/")

    assert deleted.status_code == 204
    assert list(Tag.objects.for_workspace(workspace).values_list("id", flat=True)) == [pricing.id]
    assert not Tagging.objects.for_workspace(workspace).exists()


def test_markup_in_a_description_comes_back_verbatim(workspace, editor):
    description = "<img src=x onerror=alert(1)> **bold**"

    response = editor.post(
        f"{BASE}/tags/", {"name": "XSS", "description": description}, format="json"
    )

    assert response.json()["description"] == description


def test_merge_moves_every_link_to_the_survivor(workspace, member, editor):
    source = _tag(workspace, member, name="Export")
    target = _tag(workspace, member, name="Exports")
    both = feedback(workspace, member, text="Both")
    only_source = feedback(workspace, member, text="Source only")
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[both.id, only_source.id], tag_id=source.id
    )
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[both.id], tag_id=target.id
    )

    response = editor.post(f"{BASE}/tags/{source.id}/merge/", {"into": target.id}, format="json")

    assert response.status_code == 200
    assert response.json() == _row(Tag.objects.for_workspace(workspace).get())
    assert sorted(
        Tagging.objects.for_workspace(workspace).values_list("tag_id", "feedback_id")
    ) == sorted([(target.id, both.id), (target.id, only_source.id)])


def test_merge_into_a_tag_of_another_workspace_is_refused(
    workspace, other_workspace, member, editor
):
    source = _tag(workspace, member)
    foreign = _tag(other_workspace, None, name="Globex")

    response = editor.post(f"{BASE}/tags/{source.id}/merge/", {"into": foreign.id}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(into=["Unknown tag."])
    assert Tag.objects.for_workspace(workspace).get().id == source.id
    assert Tag.objects.for_workspace(other_workspace).get().id == foreign.id


def test_merge_into_itself_is_refused(workspace, member, editor):
    tag = _tag(workspace, member)

    response = editor.post(f"{BASE}/tags/{tag.id}/merge/", {"into": tag.id}, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Choose two different tags to merge.", "extra": {}}
    assert Tag.objects.for_workspace(workspace).count() == 1


def test_a_tag_of_another_workspace_is_404(other_workspace, editor):
    foreign = _tag(other_workspace, None, name="Globex")

    responses = [
        editor.get(f"{BASE}/tags/{foreign.id}/"),
        editor.patch(f"{BASE}/tags/{foreign.id}/", {"name": "Mine"}, format="json"),
        editor.delete(f"{BASE}/tags/{foreign.id}/"),
        editor.post(f"{BASE}/tags/{foreign.id}/merge/", {"into": foreign.id}, format="json"),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(404, NOT_FOUND)] * 4
    assert Tag.objects.for_workspace(other_workspace).get().name == "Globex"


@pytest.mark.parametrize(("who", "access", "status", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_who_cannot_write_changes_nothing(
    request, workspace, other_workspace, member, who, access, status, body
):
    tag = _tag(workspace, member)
    other = _tag(workspace, member, name="Pricing")
    client = client_of(request, who, access)
    writes = [
        ("post", f"{BASE}/tags/", {"name": "New"}),
        ("patch", f"{BASE}/tags/{tag.id}/", {"name": "Changed"}),
        ("delete", f"{BASE}/tags/{tag.id}/", None),
        ("post", f"{BASE}/tags/{tag.id}/merge/", {"into": other.id}),
    ]
    before = list(Tag.objects.for_workspace(workspace).values())

    responses = [getattr(client, m)(url, data, format="json") for m, url, data in writes]

    assert [(r.status_code, r.json()) for r in responses] == [(status, body)] * len(writes)
    assert list(Tag.objects.for_workspace(workspace).values()) == before


def test_a_viewer_reads_tags(workspace, member, viewer):
    tag = _tag(workspace, member)
    client = api_as(viewer, workspace, "read")

    assert client.get(f"{BASE}/tags/").json()["results"] == [_row(tag)]
    assert client.get(f"{BASE}/tags/{tag.id}/").status_code == 200


def test_tag_list_query_count_is_constant(workspace, member, django_assert_num_queries):
    for n in range(30):
        _tag(workspace, member, name=f"Tag {n}")
    client = APIClient()
    client.force_authenticate(member)

    # membership (with workspace), the page of tags
    with django_assert_num_queries(2):
        response = client.get(f"{BASE}/tags/?page_size=25")

    assert len(response.json()["results"]) == 25
