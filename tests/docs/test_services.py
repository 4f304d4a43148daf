"""The docs foundation's one write path: documents from templates, saves as revisions, the
conflict path (refused, nothing written, the newer text handed back), concurrent saves, restores,
the status workflow, decision records, links and oversized bodies."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from backlog import services as backlog
from discovery import services as discovery
from docs import services
from docs.models import (
    BODY_MAX_CHARS,
    Document,
    DocumentEvent,
    DocumentLink,
    DocumentTemplate,
    Revision,
)
from docs.services import DocumentGoneError, StaleDocumentError
from pmhub.core.exceptions import ApplicationError
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pm(workspace):
    return MembershipFactory(workspace=workspace, user__email="pm@acme.test", user__name="Pat").user


@pytest.fixture
def other_pm(workspace):
    return MembershipFactory(
        workspace=workspace, user__email="sam@acme.test", user__name="Sam Other"
    ).user


def _doc(workspace, actor, kind="prd", title="Exports PRD", body="First text"):
    return services.document_create(
        workspace=workspace, actor=actor, kind=kind, title=title, body=body
    )


def _revisions(document):
    return list(
        Revision.objects.for_workspace(document.workspace)
        .filter(document=document)
        .order_by("number")
    )


# --- templates and creation ---------------------------------------------------------------------
def test_templates_ensure_ships_one_per_kind_once(workspace):
    first = services.templates_ensure(workspace=workspace)
    again = services.templates_ensure(workspace=workspace)
    assert len(first) == len(again) == len(Document.Kind.values)
    assert {t.kind for t in again} == set(Document.Kind.values)
    assert all(t.is_default for t in again)


def test_a_document_created_from_a_template_starts_with_its_text(workspace, pm):
    services.templates_ensure(workspace=workspace)
    template = DocumentTemplate.objects.for_workspace(workspace).get(kind="prd", is_default=True)

    document = services.document_create(
        workspace=workspace, actor=pm, kind="prd", title="  SSO   PRD ", template=template
    )

    assert document.title == "SSO PRD"
    assert document.body == template.body
    assert document.version == 1
    assert document.owner == pm
    assert document.status == Document.Status.DRAFT
    (revision,) = _revisions(document)
    assert (revision.number, revision.body, revision.author) == (1, template.body, pm)
    assert (
        DocumentEvent.objects.for_workspace(workspace)
        .filter(document=document, kind=DocumentEvent.Kind.CREATED)
        .exists()
    )


def test_a_template_of_another_workspace_is_refused(workspace, other_workspace, pm):
    (foreign, *_) = services.templates_ensure(workspace=other_workspace)
    with pytest.raises(DocumentGoneError):
        services.document_create(
            workspace=workspace, actor=pm, kind="prd", title="x", template=foreign
        )
    assert not Document.objects.for_workspace(workspace).exists()


def test_bad_kind_and_empty_title_are_refused(workspace, pm):
    with pytest.raises(ValidationError, match="kind"):
        _doc(workspace, pm, kind="poem")
    with pytest.raises(ValidationError, match="title"):
        _doc(workspace, pm, title="   ")


def test_a_decision_record_starts_proposed(workspace, pm):
    assert _doc(workspace, pm, kind="decision").decision_status == Document.Decision.PROPOSED
    assert _doc(workspace, pm, kind="prd", title="b").decision_status == ""


# --- saves ---------------------------------------------------------------------------------------
def test_each_save_is_a_new_revision_and_the_same_text_is_not(workspace, pm):
    document = _doc(workspace, pm)

    document = services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=1,
        title="Exports PRD", body="Second text", summary="  tighter   scope ",
    )  # fmt: skip
    assert document.version == 2
    same = services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=2,
        title="Exports PRD", body="Second text",
    )  # fmt: skip

    assert same.version == 2
    revisions = _revisions(document)
    assert [(r.number, r.body, r.summary) for r in revisions] == [
        (1, "First text", "Created"),
        (2, "Second text", "tighter scope"),
    ]


def test_windows_line_endings_are_saved_as_unix_ones(workspace, pm):
    document = _doc(workspace, pm)
    document = services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=1, title="t",
        body="a\r\nb",
    )  # fmt: skip
    assert document.body == "a\nb"


def test_a_save_on_a_stale_version_is_refused_with_the_newer_text_and_writes_nothing(
    workspace, pm, other_pm
):
    document = _doc(workspace, pm)
    services.document_save(
        workspace=workspace, actor=other_pm, document=document, base_version=1,
        title="Their title", body="Their text",
    )  # fmt: skip

    with pytest.raises(StaleDocumentError) as refused:
        services.document_save(
            workspace=workspace, actor=pm, document=document, base_version=1,
            title="My title", body="My text",
        )  # fmt: skip

    assert refused.value.status_code == 412
    assert refused.value.extra == {"version": 2, "title": "Their title", "body": "Their text"}
    assert "Sam Other saved this document after you opened it" in refused.value.message
    stored = Document.objects.for_workspace(workspace).get(id=document.id)
    assert (stored.version, stored.title, stored.body) == (2, "Their title", "Their text")
    assert [r.number for r in _revisions(document)] == [1, 2]
    assert "My text" not in {r.body for r in _revisions(document)}


def test_a_save_of_a_deleted_document_says_so(workspace, pm):
    document = _doc(workspace, pm)
    services.document_delete(workspace=workspace, document=document)
    with pytest.raises(DocumentGoneError, match="deleted"):
        services.document_save(
            workspace=workspace, actor=pm, document=document, base_version=1, title="t", body="b"
        )


def test_a_body_over_the_limit_is_refused_with_a_clear_message(workspace, pm):
    document = _doc(workspace, pm)
    with pytest.raises(ValidationError) as refused:
        services.document_save(
            workspace=workspace, actor=pm, document=document, base_version=1, title="t",
            body="x" * (BODY_MAX_CHARS + 1),
        )  # fmt: skip
    message = refused.value.message_dict["body"][0]
    assert f"{BODY_MAX_CHARS:,}" in message
    assert f"{BODY_MAX_CHARS + 1:,}" in message
    assert Document.objects.for_workspace(workspace).get(id=document.id).version == 1
    with pytest.raises(ValidationError, match="at most"):
        _doc(workspace, pm, body="y" * (BODY_MAX_CHARS + 1), title="big")
    # Exactly the limit is fine.
    services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=1, title="t",
        body="x" * BODY_MAX_CHARS,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_once_on_the_same_version_exactly_one_wins(workspace, pm, other_pm):
    document = _doc(workspace, pm)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def save(actor, text: str) -> None:
        try:
            barrier.wait()
            services.document_save(
                workspace=workspace, actor=actor, document=document, base_version=1,
                title="Exports PRD", body=text,
            )  # fmt: skip
            outcomes[text] = "saved"
        except BaseException as exc:  # noqa: BLE001 - asserted below
            outcomes[text] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=save, args=(pm, "Pat's text")),
        threading.Thread(target=save, args=(other_pm, "Sam's text")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = [text for text, outcome in outcomes.items() if outcome == "saved"]
    lost = [outcome for outcome in outcomes.values() if outcome != "saved"]
    assert len(won) == 1, outcomes
    assert len(lost) == 1, outcomes
    assert isinstance(lost[0], StaleDocumentError), outcomes
    assert lost[0].extra["body"] == won[0]
    stored = Document.objects.for_workspace(workspace).get(id=document.id)
    assert (stored.version, stored.body) == (2, won[0])
    assert [r.body for r in _revisions(stored)] == ["First text", won[0]]


# --- restore -------------------------------------------------------------------------------------
def test_restore_brings_an_old_text_back_as_a_new_revision(workspace, pm):
    document = _doc(workspace, pm, body="v1 text")
    document = services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=1, title="Renamed",
        body="v2 text",
    )  # fmt: skip

    document = services.document_restore(
        workspace=workspace, actor=pm, document=document, number=1, base_version=2
    )

    assert (document.version, document.title, document.body) == (3, "Exports PRD", "v1 text")
    revisions = _revisions(document)
    assert [(r.number, r.restored_from) for r in revisions] == [(1, None), (2, None), (3, 1)]
    assert revisions[-1].summary == "Restored version 1"
    assert (
        DocumentEvent.objects.for_workspace(workspace)
        .filter(document=document, kind=DocumentEvent.Kind.RESTORED)
        .exists()
    )


def test_restore_of_an_unknown_version_or_on_a_stale_one_is_refused(workspace, pm):
    document = _doc(workspace, pm)
    document = services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=1, title="t", body="v2"
    )
    with pytest.raises(DocumentGoneError, match="no version 9"):
        services.document_restore(
            workspace=workspace, actor=pm, document=document, number=9, base_version=2
        )
    with pytest.raises(StaleDocumentError):
        services.document_restore(
            workspace=workspace, actor=pm, document=document, number=1, base_version=1
        )
    assert Document.objects.for_workspace(workspace).get(id=document.id).version == 2
    assert not DocumentEvent.objects.for_workspace(workspace).filter(kind="restored").exists()


# --- status --------------------------------------------------------------------------------------
def _status(workspace, pm, document, status):
    return services.document_set_status(
        workspace=workspace, actor=pm, document=document, status=status
    )


def test_the_workflow_moves_along_its_arrows_with_events(workspace, pm):
    document = _doc(workspace, pm)
    for status in ("in_review", "approved", "published"):
        document = _status(workspace, pm, document, status)
        assert document.status == status
    assert document.published_at is not None
    first_published = document.published_at
    document = _status(workspace, pm, document, "published")  # again: nothing changes
    document = _status(workspace, pm, document, "archived")
    document = _status(workspace, pm, document, "draft")
    document = _status(workspace, pm, document, "in_review")
    document = _status(workspace, pm, document, "approved")
    document = _status(workspace, pm, document, "published")
    assert document.published_at == first_published
    kinds = list(
        DocumentEvent.objects.for_workspace(workspace)
        .filter(document=document)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "created", "submitted", "approved", "published", "archived", "submitted", "approved",
        "published",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "approved"),
        ([], "published"),
        (["in_review"], "published"),
        (["archived"], "in_review"),
        (["archived"], "published"),
        (["in_review", "approved", "published"], "in_review"),
    ],
)
def test_moves_without_an_arrow_are_refused(workspace, pm, path, refused):
    document = _doc(workspace, pm)
    for status in path:
        document = _status(workspace, pm, document, status)
    with pytest.raises(ApplicationError, match="cannot become"):
        _status(workspace, pm, document, refused)
    assert Document.objects.for_workspace(workspace).get(id=document.id).status == (
        path[-1] if path else "draft"
    )


def test_an_unknown_status_is_refused(workspace, pm):
    with pytest.raises(ValidationError, match="Choose one of"):
        _status(workspace, pm, _doc(workspace, pm), "shipped")


# --- decision records ----------------------------------------------------------------------------
def test_a_decision_record_is_accepted_then_superseded_by_another(workspace, pm):
    old = _doc(workspace, pm, kind="decision", title="Use Postgres FTS")
    new = _doc(workspace, pm, kind="decision", title="Use OpenSearch")

    old = services.document_update_details(
        workspace=workspace, document=old, decision_status="accepted"
    )
    assert old.decision_status == "accepted"
    old = services.document_update_details(
        workspace=workspace, document=old, decision_status="superseded", superseded_by=new
    )

    stored = Document.objects.for_workspace(workspace).get(id=old.id)
    assert (stored.decision_status, stored.superseded_by_id) == ("superseded", new.id)
    assert list(new.supersedes.all()) == [stored]
    # Back to accepted: the superseding record is dropped.
    old = services.document_update_details(
        workspace=workspace, document=old, decision_status="accepted"
    )
    assert old.superseded_by is None


def test_superseded_needs_another_decision_record_of_the_same_workspace(
    workspace, other_workspace, pm
):
    record = _doc(workspace, pm, kind="decision", title="A")
    prd = _doc(workspace, pm, kind="prd", title="A PRD")
    foreign = _doc(other_workspace, None, kind="decision", title="Theirs")

    with pytest.raises(ValidationError, match="Name the record"):
        services.document_update_details(
            workspace=workspace, document=record, decision_status="superseded"
        )
    for wrong in (prd, foreign):
        with pytest.raises(ValidationError, match="decision record of this workspace"):
            services.document_update_details(
                workspace=workspace, document=record, decision_status="superseded",
                superseded_by=wrong,
            )  # fmt: skip
    with pytest.raises(ValidationError, match="itself"):
        services.document_update_details(
            workspace=workspace, document=record, decision_status="superseded",
            superseded_by=record,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="proposed, accepted or superseded"):
        services.document_update_details(
            workspace=workspace, document=record, decision_status="maybe"
        )
    with pytest.raises(ValidationError, match="Only decision records"):
        services.document_update_details(
            workspace=workspace, document=prd, decision_status="accepted"
        )
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.document_update_details(workspace=workspace, document=prd, title="sneaky")
    stored = Document.objects.for_workspace(workspace).get(id=record.id)
    assert (stored.decision_status, stored.superseded_by_id) == ("proposed", None)


# --- links ---------------------------------------------------------------------------------------
def test_links_to_this_workspaces_targets_are_kept_once(workspace, pm):
    document = _doc(workspace, pm)
    item = backlog.item_create(workspace=workspace, actor=pm, title="SSO")
    insight = discovery.insight_create(workspace=workspace, actor=pm, title="Needs SSO")

    first = services.document_link_add(workspace=workspace, document=document, item_id=item.id)
    again = services.document_link_add(workspace=workspace, document=document, item_id=item.id)
    services.document_link_add(workspace=workspace, document=document, insight_id=insight.id)

    assert first.id == again.id
    assert DocumentLink.objects.for_workspace(workspace).filter(document=document).count() == 2
    services.document_link_remove(workspace=workspace, document=document, link_id=first.id)
    assert DocumentLink.objects.for_workspace(workspace).filter(document=document).count() == 1


def test_a_link_to_another_workspaces_item_is_refused(workspace, other_workspace, pm):
    document = _doc(workspace, pm)
    foreign = backlog.item_create(workspace=other_workspace, actor=None, title="Theirs")
    foreign_insight = discovery.insight_create(
        workspace=other_workspace, actor=None, title="Their insight"
    )

    with pytest.raises(DocumentGoneError, match="No such item"):
        services.document_link_add(workspace=workspace, document=document, item_id=foreign.id)
    with pytest.raises(DocumentGoneError, match="No such insight"):
        services.document_link_add(
            workspace=workspace, document=document, insight_id=foreign_insight.id
        )
    with pytest.raises(ValidationError, match="one item, insight or release"):
        services.document_link_add(workspace=workspace, document=document)
    assert not DocumentLink.objects.for_workspace(workspace).exists()


# --- ids from forms are this workspace's ------------------------------------------------------
def _release(workspace, name="2026.11"):
    from roadmap.releases import release_create

    return release_create(workspace=workspace, actor=None, name=name)


def test_another_workspaces_release_is_refused(workspace, other_workspace, pm):
    foreign = _release(other_workspace, "Globex secret launch")
    with pytest.raises(ValidationError, match="release of this workspace"):
        services.document_create(
            workspace=workspace, actor=pm, kind="release_notes", title="Notes",
            release_id=foreign.id,
        )  # fmt: skip
    document = _doc(workspace, pm, kind="release_notes")
    with pytest.raises(ValidationError, match="release of this workspace"):
        services.document_update_details(
            workspace=workspace, document=document, release_id=foreign.id
        )
    assert Document.objects.for_workspace(workspace).get(id=document.id).release_id is None
    own = _release(workspace)
    document = services.document_update_details(
        workspace=workspace, document=document, release_id=own.id
    )
    assert document.release_id == own.id
    document = services.document_update_details(
        workspace=workspace, document=document, release_id=None
    )
    assert document.release_id is None


def test_an_owner_from_outside_the_workspace_is_refused(workspace, pm, outsider):
    with pytest.raises(ValidationError, match="member of this workspace"):
        services.document_create(
            workspace=workspace, actor=pm, kind="prd", title="x", owner=outsider
        )
    document = _doc(workspace, pm)
    with pytest.raises(ValidationError, match="member of this workspace"):
        services.document_update_details(workspace=workspace, document=document, owner=outsider)
    assert Document.objects.for_workspace(workspace).get(id=document.id).owner == pm
    document = services.document_update_details(workspace=workspace, document=document, owner=None)
    assert document.owner is None
