"""Saved views of the backlog: create, open, rename, update, delete; shared or personal; who may
change them; another workspace's view is 404; stored parameters are cleaned."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import NoReverseMatch, reverse

from backlog import saved_views, services
from backlog.models import SavedView
from backlog.views import table as table_views
from pmhub.workspaces.models import AuditEvent, Membership
from pmhub.workspaces.roles import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _url(workspace, name="backlog:index", **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _membership(workspace, user):
    return Membership.objects.for_workspace(workspace).select_related("user").get(user=user)


def _view(workspace, user, name="Planned work", *, shared=False, params="status=planned"):
    return saved_views.saved_view_create(
        workspace=workspace,
        membership=_membership(workspace, user),
        name=name,
        params=QueryDict(params),
        is_shared=shared,
    )


def _names(client, workspace):
    response = client.get(_url(workspace))
    return [entry["view"].name for entry in response.context["saved_views"]]


@pytest.fixture
def items(workspace):
    planned = services.item_create(workspace=workspace, actor=None, title="Planned thing")
    services.item_set_status(workspace=workspace, actor=None, item=planned, status="planned")
    services.item_create(workspace=workspace, actor=None, title="New thing", kind="epic")
    return planned


# --- the parameters --------------------------------------------------------------------------
def test_params_keep_only_filters_and_sort():
    query = QueryDict(
        "q=+export+&status=planned&status=new&status=bogus&kind=epic&area=4&owner=x&tag=7"
        "&segment=Enterprise&score_min=1.5&score_max=inf&sort=arr&after=abc_3&view=9&evil=1"
    )

    assert saved_views.saved_view_params_clean(query) == {
        "q": "export",
        "status": ["new", "planned"],
        "kind": "epic",
        "area": "4",
        "tag": "7",
        "segment": "Enterprise",
        "score_min": "1.5",
        "sort": "arr",
    }


def test_params_of_a_stored_dict_of_any_shape():
    stored = {"status": "planned", "area": 5, "q": ["a", "b"], "kind": "nope", "sort": "x" * 500}

    assert saved_views.saved_view_params_clean(stored) == {"status": ["planned"], "q": "a"}


# --- create and open -------------------------------------------------------------------------
def test_save_the_current_filters_as_a_view_and_open_it(workspace, member, login, items):
    client = login(member)

    response = client.post(
        _url(workspace, "backlog:saved-view-create"),
        {
            "name": "  Planned   work ",
            "layout": "table",
            "query": "status=planned&sort=arr&after=x",
        },
    )

    view = SavedView.objects.for_workspace(workspace).get()
    assert (view.name, view.params, view.is_shared, view.created_by_id, view.layout) == (
        "Planned work",
        {"status": ["planned"], "sort": "arr"},
        False,
        member.id,
        "table",
    )
    assert response.status_code == 302
    assert response["Location"] == f"{_url(workspace)}?sort=arr&status=planned&view={view.id}"
    page = client.get(response["Location"])
    assert [r["title"] for r in page.context["rows"]] == ["Planned thing"]
    assert page.context["current_view"] == view
    assert page.context["current_view_changed"] is False
    html = page.content.decode()
    assert f'<input type="hidden" name="view" value="{view.id}">' in html
    assert "Save changes to view" not in html


def test_changed_filters_offer_to_save_them_into_the_open_view(workspace, member, login, items):
    view = _view(workspace, member)

    response = login(member).get(_url(workspace), {"status": "new", "view": view.id})

    assert response.context["current_view_changed"] is True
    assert "Save changes to view" in response.content.decode()


def test_the_open_link_redirects_to_the_layouts_page(workspace, member, login):
    table = _view(workspace, member, "Table view")
    board = saved_views.saved_view_create(
        workspace=workspace,
        membership=_membership(workspace, member),
        name="Board view",
        params={"kind": "epic"},
        layout="board",
    )
    client = login(member)

    to_table = client.get(_url(workspace, "backlog:saved-view-open", saved_view_id=table.id))
    to_board = client.get(_url(workspace, "backlog:saved-view-open", saved_view_id=board.id))

    assert to_table["Location"] == f"{_url(workspace)}?status=planned&view={table.id}"
    try:
        board_url = _url(workspace, "backlog:board")
    except NoReverseMatch:  # The board page is built separately; until then, the table.
        board_url = _url(workspace)
    assert to_board["Location"] == f"{board_url}?kind=epic&view={board.id}"


def test_layout_falls_back_to_the_table_without_its_page(workspace, member, monkeypatch):
    view = _view(workspace, member)
    view.layout = "matrix"
    monkeypatch.setitem(table_views.LAYOUT_URL_NAMES, "matrix", "backlog:no-such-page")

    assert table_views.saved_view_url(workspace.slug, view) == (
        f"{_url(workspace)}?status=planned&view={view.id}"
    )


def test_bad_stored_params_are_dropped_when_opened(workspace, member, login, items):
    view = _view(workspace, member)
    # A row written before today's rules, or by hand: unknown keys, wrong shapes, a dead area.
    SavedView.objects.for_workspace(workspace).filter(id=view.id).update(
        params={"status": ["planned", "<script>"], "area": "999999", "evil": "x", "owner": {}}
    )
    client = login(member)

    opened = client.get(_url(workspace, "backlog:saved-view-open", saved_view_id=view.id))
    page = client.get(opened["Location"])

    assert opened["Location"] == f"{_url(workspace)}?area=999999&status=planned&view={view.id}"
    # The area no longer exists: the table drops that filter and still shows the list.
    assert [r["title"] for r in page.context["rows"]] == ["Planned thing"]


def test_names_must_be_given_and_unique(workspace, member, login):
    _view(workspace, member, "Mine")
    _view(workspace, member, "Ours", shared=True)
    membership = _membership(workspace, member)

    for name, shared, message in [
        ("   ", False, "Name the view, e.g. “Enterprise asks”."),
        ("mine", False, "“mine” is already one of your views."),
        ("OURS", True, "“OURS” is already one of the shared views."),
        ("x" * 81, False, "At most 80 characters."),
    ]:
        with pytest.raises(ValidationError) as refused:
            saved_views.saved_view_create(
                workspace=workspace, membership=membership, name=name, params={}, is_shared=shared
            )
        assert refused.value.message_dict == {"name": [message]}
    # A personal view may share a name with a shared one.
    _view(workspace, member, "Ours")
    assert SavedView.objects.for_workspace(workspace).count() == 3


def test_refused_create_says_why_and_keeps_the_filters(workspace, member, login):
    _view(workspace, member, "Mine")

    response = login(member).post(
        _url(workspace, "backlog:saved-view-create"),
        {"name": "Mine", "layout": "table", "query": "kind=epic"},
        follow=True,
    )

    assert response.redirect_chain == [(f"{_url(workspace)}?kind=epic", 302)]
    assert "“Mine” is already one of your views." in response.content.decode()
    assert SavedView.objects.for_workspace(workspace).count() == 1


# --- sharing and who sees what ---------------------------------------------------------------
def test_shared_views_show_to_everyone_personal_ones_to_their_maker(
    workspace, member, admin, viewer, login, items
):
    _view(workspace, member, "Bob's own")
    _view(workspace, member, "Team", shared=True)
    _view(workspace, admin, "Alice's own")

    assert _names(login(member), workspace) == ["Team", "Bob's own"]
    assert _names(login(admin), workspace) == ["Team", "Alice's own"]
    assert _names(login(viewer), workspace) == ["Team"]


def test_someone_elses_personal_view_is_404(workspace, member, admin, login):
    view = _view(workspace, member, "Bob's own")
    client = login(admin)

    for name in ("saved-view-rename", "saved-view-update", "saved-view-delete"):
        response = client.post(
            _url(workspace, f"backlog:{name}", saved_view_id=view.id), {"name": "Taken"}
        )
        assert response.status_code == 404, name
    assert (
        client.get(_url(workspace, "backlog:saved-view-open", saved_view_id=view.id)).status_code
        == 404
    )
    view.refresh_from_db()
    assert view.name == "Bob's own"


def test_another_workspaces_view_is_404(workspace, other_workspace, member, outsider, login):
    theirs = _view(other_workspace, outsider, "Theirs", shared=True)
    client = login(member)

    assert (
        client.get(_url(workspace, "backlog:saved-view-open", saved_view_id=theirs.id)).status_code
        == 404
    )
    for name in ("saved-view-rename", "saved-view-update", "saved-view-delete"):
        response = client.post(
            _url(workspace, f"backlog:{name}", saved_view_id=theirs.id), {"name": "Mine now"}
        )
        assert response.status_code == 404, name
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert "Theirs" not in client.get(_url(workspace)).content.decode()


def test_outsider_gets_404(workspace, member, outsider, login):
    view = _view(workspace, member, "Team", shared=True)
    client = login(outsider)

    assert (
        client.post(_url(workspace, "backlog:saved-view-create"), {"name": "x"}).status_code == 404
    )
    assert (
        client.post(_url(workspace, "backlog:saved-view-delete", saved_view_id=view.id)).status_code
        == 404
    )
    assert SavedView.objects.for_workspace(workspace).count() == 1


@pytest.mark.parametrize(
    ("role_case", "allowed"),
    [
        ("creator_case", True),
        ("admin_case", True),
        ("other_editor_case", False),
        ("viewer_case", False),
    ],
)
def test_only_the_creator_or_an_admin_changes_a_shared_view(
    workspace, member, admin, viewer, login, role_case, allowed
):
    view = _view(workspace, member, "Team", shared=True)
    other_editor = MembershipFactory(
        workspace=workspace, role=Role.EDITOR, user__email="eve@acme.test"
    ).user
    user = {
        "creator_case": member,
        "admin_case": admin,
        "other_editor_case": other_editor,
        "viewer_case": viewer,
    }[role_case]
    client = login(user)
    events = AuditEvent.objects.for_workspace(workspace).count()

    renamed = client.post(
        _url(workspace, "backlog:saved-view-rename", saved_view_id=view.id),
        {"name": "Team board"},
    )

    view.refresh_from_db()
    if allowed:
        assert renamed.status_code == 302
        assert view.name == "Team board"
        assert AuditEvent.objects.for_workspace(workspace).count() == events + 1
    else:
        # Refused before the form is read, as the authorization matrix expects of a member.
        assert renamed.status_code == 403
        assert view.name == "Team"
        assert AuditEvent.objects.for_workspace(workspace).count() == events
        for action in ("update", "delete"):
            refused = client.post(
                _url(workspace, f"backlog:saved-view-{action}", saved_view_id=view.id),
                {"sharing": "personal", "query": ""},
            )
            assert refused.status_code == 403, action
        view.refresh_from_db()
        assert (view.name, view.is_shared) == ("Team", True)


def test_viewers_keep_personal_views_but_cannot_share(workspace, viewer, login, items):
    client = login(viewer)

    client.post(
        _url(workspace, "backlog:saved-view-create"),
        {"name": "Mine", "layout": "table", "query": "kind=epic"},
    )
    refused = client.post(
        _url(workspace, "backlog:saved-view-create"),
        {"name": "Everyone's", "layout": "table", "query": "", "is_shared": "on"},
        follow=True,
    )

    assert list(SavedView.objects.for_workspace(workspace).values_list("name", "is_shared")) == [
        ("Mine", False)
    ]
    assert "Viewers keep personal views; an editor can share one." in refused.content.decode()
    html = client.get(_url(workspace)).content.decode()
    assert 'name="is_shared"' not in html


# --- update, rename, delete ------------------------------------------------------------------
def test_update_saves_the_pages_filters_and_sharing(workspace, member, login):
    view = _view(workspace, member)
    client = login(member)

    client.post(
        _url(workspace, "backlog:saved-view-update", saved_view_id=view.id),
        {"query": "kind=epic&sort=customers&view=5"},
    )
    view.refresh_from_db()
    assert (view.params, view.is_shared) == ({"kind": "epic", "sort": "customers"}, False)

    client.post(
        _url(workspace, "backlog:saved-view-update", saved_view_id=view.id), {"sharing": "shared"}
    )
    view.refresh_from_db()
    assert (view.params, view.is_shared) == ({"kind": "epic", "sort": "customers"}, True)
    event = AuditEvent.objects.for_workspace(workspace).filter(action="saved_view.updated").last()
    assert event.changes == {"is_shared": [False, True]}


def test_rename_and_delete(workspace, member, login):
    view = _view(workspace, member)
    client = login(member)

    renamed = client.post(
        _url(workspace, "backlog:saved-view-rename", saved_view_id=view.id), {"name": "Now"}
    )
    view.refresh_from_db()
    deleted = client.post(_url(workspace, "backlog:saved-view-delete", saved_view_id=view.id))

    assert view.name == "Now"
    assert renamed["Location"] == f"{_url(workspace)}?status=planned&view={view.id}"
    assert deleted["Location"] == _url(workspace)
    assert not SavedView.objects.for_workspace(workspace).exists()
    assert list(
        AuditEvent.objects.for_workspace(workspace)
        .filter(action__startswith="saved_view.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["saved_view.created", "saved_view.renamed", "saved_view.deleted"]


def test_views_bar_escapes_names(workspace, member, login, items):
    _view(workspace, member, "<script>alert(1)</script>", shared=True)

    html = login(member).get(_url(workspace)).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_get_is_not_allowed_on_writes(workspace, member, login):
    view = _view(workspace, member)
    client = login(member)

    assert client.get(_url(workspace, "backlog:saved-view-create")).status_code == 405
    assert (
        client.get(_url(workspace, "backlog:saved-view-delete", saved_view_id=view.id)).status_code
        == 405
    )
