"""Tagging in the UI: a tag's rules with their preview, the model's suggestions in the inbox,
"no tag fits", and the tagging page (model, quality per tag, training, re-tagging)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from discovery import selectors, services, tagging
from discovery.models import Classifier, Feedback, Tagging, TaggingJob, TagRule, TagSuggestion
from discovery.selectors import FeedbackFilters
from discovery.services import FeedbackInput
from discovery.tag_rules import rule_create, rule_delete, rule_preview, rule_toggle, rule_update
from discovery.tagging_actions import filters_as_json
from pmhub.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _url(workspace, name, **kwargs):
    return reverse(f"discovery:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _feedback(workspace, text, *, minutes=0, customer=None, source="support"):
    return services.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(
            text=text,
            source=source,
            customer_id=customer.id if customer else None,
            received_at=T0 + timedelta(minutes=minutes),
        ),
    )


def _suggest(workspace, feedback, tag, confidence=0.64):
    return TagSuggestion.objects.create(
        workspace=workspace, tag=tag, feedback=feedback, confidence=confidence, model_version=1
    )


def _htmx(client, url, data=None):
    return client.post(url, data or {}, HTTP_HX_REQUEST="true")


@pytest.fixture
def tag(workspace):
    return services.tag_create(workspace=workspace, actor=None, name="Billing", color="#d9480f")


@pytest.fixture
def customers(workspace):
    big, _ = services.company_upsert(
        workspace=workspace, actor=None, name="Initech", domain="initech.test", segment="Enterprise"
    )
    small, _ = services.company_upsert(
        workspace=workspace, actor=None, name="Tiny", domain="tiny.test", segment="SMB"
    )
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=None, email="peter@initech.test", company=big
    )
    sam, _ = services.customer_upsert(
        workspace=workspace, actor=None, email="sam@tiny.test", company=small
    )
    return peter, sam


# --- rule services -------------------------------------------------------------------------
def test_rule_create_stores_the_rule_and_audits_it(workspace, member, tag):
    rule = rule_create(
        workspace=workspace,
        actor=member,
        tag=tag,
        kind="phrase",
        pattern="  wrong invoice ",
        sources=["support", "email"],
        segments=["Enterprise"],
    )

    stored = TagRule.objects.for_workspace(workspace).get()
    assert stored.id == rule.id
    assert (stored.kind, stored.pattern, stored.enabled) == ("phrase", "wrong invoice", True)
    assert stored.sources == ["email", "support"]
    assert stored.segments == ["Enterprise"]
    event = AuditEvent.objects.for_workspace(workspace).get(action="tag_rule.created")
    assert event.changes == {"tag": "Billing", "kind": "phrase", "pattern": "wrong invoice"}


@pytest.mark.parametrize(
    ("kind", "pattern", "reason"),
    [
        ("regex", "(?=x)", "Not a pattern pmhub can run"),
        ("regex", r"(a)\1", "Not a pattern pmhub can run"),
        ("regex", "a" * 301, "Too long: 301 characters; the limit is 300."),
        ("keyword", "two words", "A keyword is one word"),
        ("keyword", "   ", "Give a keyword, a phrase or an expression."),
    ],
    ids=["lookahead", "backreference", "too-long", "keyword-with-space", "empty"],
)
def test_rule_create_refuses_patterns_re2_cannot_run(workspace, member, tag, kind, pattern, reason):
    with pytest.raises(ValidationError) as caught:
        rule_create(workspace=workspace, actor=member, tag=tag, kind=kind, pattern=pattern)

    assert reason in " ".join(caught.value.message_dict["pattern"])
    assert not TagRule.objects.for_workspace(workspace).exists()


def test_rule_create_refuses_a_duplicate_and_an_unknown_source(workspace, member, tag):
    rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="invoice")

    with pytest.raises(ValidationError) as duplicate:
        rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="invoice")
    with pytest.raises(ValidationError) as source:
        rule_create(
            workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat", sources=["x"]
        )

    assert duplicate.value.message_dict == {"pattern": ["This tag already has this rule."]}
    assert source.value.message_dict == {"sources": ["Unknown source: x."]}
    assert TagRule.objects.for_workspace(workspace).count() == 1


def test_rule_create_refuses_a_tag_of_another_workspace(workspace, other_workspace, member):
    foreign = services.tag_create(workspace=other_workspace, actor=None, name="Theirs")

    with pytest.raises(ValidationError):
        rule_create(workspace=workspace, actor=member, tag=foreign, kind="keyword", pattern="x")

    assert not TagRule.objects.for_workspace(workspace).exists()


def test_rule_update_toggle_and_delete(workspace, member, tag):
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")

    rule = rule_update(
        workspace=workspace, actor=member, rule=rule, kind="regex", pattern=r"vat\s+id"
    )
    assert (rule.kind, rule.pattern) == ("regex", r"vat\s+id")
    with pytest.raises(ValidationError):
        rule_update(workspace=workspace, actor=member, rule=rule, kind="regex", pattern="(?<=a)b")
    rule.refresh_from_db()
    assert rule.pattern == r"vat\s+id"

    assert rule_toggle(workspace=workspace, actor=member, rule=rule).enabled is False
    assert rule_toggle(workspace=workspace, actor=member, rule=rule, enabled=True).enabled is True
    rule_delete(workspace=workspace, actor=member, rule=rule)

    assert not TagRule.objects.for_workspace(workspace).exists()
    actions = list(
        AuditEvent.objects.for_workspace(workspace)
        .filter(action__startswith="tag_rule.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "tag_rule.created",
        "tag_rule.updated",
        "tag_rule.disabled",
        "tag_rule.enabled",
        "tag_rule.deleted",
    ]


# --- preview -------------------------------------------------------------------------------
def test_preview_counts_exactly_the_items_the_rule_would_tag(workspace, customers):
    peter, sam = customers
    _feedback(workspace, "The INVOICE shows the wrong VAT", minutes=1, customer=peter)
    _feedback(workspace, "invoice totals are off", minutes=2, customer=sam, source="sales")
    _feedback(workspace, "Invoices arrive late", minutes=3)  # not the whole word
    _feedback(workspace, "Exports time out", minutes=4)
    merged = _feedback(workspace, "Invoice duplicate", minutes=5)
    Feedback.objects.for_workspace(workspace).filter(id=merged.id).update(
        merged_into=_feedback(workspace, "Survivor", minutes=6)
    )

    count, samples = rule_preview(workspace=workspace, kind="keyword", pattern="invoice")
    support_only, _ = rule_preview(
        workspace=workspace, kind="keyword", pattern="invoice", sources=["support"]
    )
    smb_only, smb = rule_preview(
        workspace=workspace, kind="keyword", pattern="invoice", segments=["SMB"]
    )
    regex, _ = rule_preview(workspace=workspace, kind="regex", pattern=r"invoices?\b")
    phrase, phrase_samples = rule_preview(workspace=workspace, kind="phrase", pattern="time  out")

    assert count == 2
    assert [(s.before, s.match, s.after) for s in samples] == [
        ("", "invoice", " totals are off"),
        ("The ", "INVOICE", " shows the wrong VAT"),
    ]
    assert support_only == 1
    assert smb_only == 1
    assert smb[0].match == "invoice"
    assert regex == 3
    assert phrase == 1
    assert phrase_samples[0].match == "time out"


def test_preview_cuts_long_texts_around_the_match_and_limits_the_samples(workspace):
    _feedback(workspace, "a" * 200 + " refund " + "b" * 200)
    for i in range(5):
        _feedback(workspace, f"refund number {i}", minutes=i + 1)

    count, samples = rule_preview(workspace=workspace, kind="keyword", pattern="refund", limit=3)

    assert count == 6
    assert len(samples) == 3
    count, samples = rule_preview(workspace=workspace, kind="keyword", pattern="refund", limit=10)
    long_one = samples[-1]
    assert long_one.before.startswith("…")
    assert long_one.after.endswith("…")
    assert long_one.match == "refund"


def test_preview_refuses_an_invalid_pattern(workspace):
    with pytest.raises(ValidationError):
        rule_preview(workspace=workspace, kind="regex", pattern="(?!x)")


# --- rule views ----------------------------------------------------------------------------
def test_tag_page_lists_rules_and_offers_the_editor_to_editors(
    workspace, member, viewer, login, tag
):
    rule_create(
        workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat", sources=["sales"]
    )

    as_editor = login(member).get(_url(workspace, "tag-detail", tag_id=tag.id)).content.decode()
    as_viewer = login(viewer).get(_url(workspace, "tag-detail", tag_id=tag.id)).content.decode()

    assert "vat" in as_editor
    assert "from sales" in as_editor
    assert "Save rule" in as_editor
    assert 'role="switch"' in as_editor
    assert "vat" in as_viewer
    assert "Save rule" not in as_viewer
    assert 'role="switch"' not in as_viewer


def test_saving_a_rule_with_htmx_returns_the_section_with_re_tag_now(workspace, member, login, tag):
    response = _htmx(
        login(member),
        _url(workspace, "tag-rule-create", tag_id=tag.id),
        {"kind": "keyword", "pattern": "invoice", "sources": ["support"]},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="tag-rules"' in html
    assert "Re-tag now" in html
    assert "<!DOCTYPE" not in html
    rule = TagRule.objects.for_workspace(workspace).get()
    assert (rule.pattern, rule.sources, rule.created_by) == ("invoice", ["support"], member)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("(?=x)", "Not a pattern pmhub can run"), (r"(a)\1", "Not a pattern pmhub can run")],
    ids=["lookahead", "backreference"],
)
def test_a_refused_pattern_shows_re2s_reason_and_saves_nothing(
    workspace, member, login, tag, pattern, message
):
    client = login(member)
    data = {"kind": "regex", "pattern": pattern}

    swapped = _htmx(client, _url(workspace, "tag-rule-create", tag_id=tag.id), data)
    plain = client.post(_url(workspace, "tag-rule-create", tag_id=tag.id), data)
    preview = client.get(_url(workspace, "tag-rule-preview", tag_id=tag.id), data)

    assert swapped.status_code == 200
    assert message in swapped.content.decode()
    assert plain.status_code == 400
    assert message in plain.content.decode()
    assert message in preview.content.decode()
    assert "data-preview-error" in preview.content.decode()
    assert not TagRule.objects.for_workspace(workspace).exists()


def test_a_too_long_pattern_is_refused_in_words(workspace, member, login, tag):
    response = _htmx(
        login(member),
        _url(workspace, "tag-rule-create", tag_id=tag.id),
        {"kind": "regex", "pattern": "a" * 301},
    )

    assert "Too long: 301 characters; the limit is 300." in response.content.decode()
    assert not TagRule.objects.for_workspace(workspace).exists()


def test_preview_view_says_how_many_items_and_marks_the_match(workspace, member, login, tag):
    _feedback(workspace, "The invoice is <b>wrong</b>", minutes=1)
    _feedback(workspace, "Another invoice issue", minutes=2)
    _feedback(workspace, "Unrelated", minutes=3)

    response = login(member).get(
        _url(workspace, "tag-rule-preview", tag_id=tag.id),
        {"kind": "keyword", "pattern": "INVOICE"},
    )

    html = response.content.decode()
    assert 'data-preview-count="2"' in html
    assert "Would tag <strong>2</strong> existing items" in html
    assert "The <mark>invoice</mark> is &lt;b&gt;wrong&lt;/b&gt;" in html
    empty = login(member).get(_url(workspace, "tag-rule-preview", tag_id=tag.id))
    assert "Type a pattern" in empty.content.decode()


def test_toggle_and_delete_views(workspace, member, login, tag):
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")
    client = login(member)

    off = _htmx(client, _url(workspace, "tag-rule-toggle", rule_id=rule.id), {"enabled": "0"})
    rule.refresh_from_db()
    assert off.status_code == 200
    assert rule.enabled is False
    assert 'aria-checked="false"' in off.content.decode()
    on = client.post(_url(workspace, "tag-rule-toggle", rule_id=rule.id))
    rule.refresh_from_db()
    assert on.status_code == 302
    assert rule.enabled is True
    gone = _htmx(client, _url(workspace, "tag-rule-delete", rule_id=rule.id))
    assert gone.status_code == 200
    assert "No rules yet" in gone.content.decode()
    assert not TagRule.objects.for_workspace(workspace).exists()


def test_rules_of_another_workspace_are_404(workspace, other_workspace, member, login):
    foreign_tag = services.tag_create(workspace=other_workspace, actor=None, name="Theirs")
    foreign = rule_create(
        workspace=other_workspace, actor=None, tag=foreign_tag, kind="keyword", pattern="x"
    )
    client = login(member)

    assert client.post(_url(workspace, "tag-rule-toggle", rule_id=foreign.id)).status_code == 404
    assert client.post(_url(workspace, "tag-rule-delete", rule_id=foreign.id)).status_code == 404
    assert client.post(_url(workspace, "tag-rule-toggle", rule_id=0)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.enabled is True


def test_editing_a_rule_turns_its_row_into_a_form_with_its_values(workspace, member, login, tag):
    rule = rule_create(
        workspace=workspace,
        actor=member,
        tag=tag,
        kind="phrase",
        pattern="wrong vat",
        sources=["sales"],
    )
    client = login(member)
    url = _url(workspace, "tag-rule-edit", tag_id=tag.id, rule_id=rule.id)

    swapped = client.get(url, HTTP_HX_REQUEST="true")
    page = client.get(url)

    html = swapped.content.decode()
    assert swapped.status_code == 200
    assert "<!DOCTYPE" not in html
    assert f'id="rule-{rule.id}-fields"' in html
    assert f'id="rule-{rule.id}-preview"' in html
    assert f'<input type="hidden" name="editing" value="{rule.id}">' in html
    assert f'id="id_rule{rule.id}_pattern"' in html
    assert 'value="wrong vat"' in html
    assert '<option value="phrase" selected>' in html
    assert f'value="sales" id="id_rule{rule.id}_sources_' in html
    assert "data-escape-cancel" in html
    assert "Save changes" in html
    # Without JavaScript the tag's page opens with the row as a form.
    assert page.status_code == 200
    assert f'id="id_rule{rule.id}_pattern"' in page.content.decode()


def test_editing_a_rule_saves_it_through_rule_update(workspace, member, login, tag):
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")
    client = login(member)
    url = _url(workspace, "tag-rule-edit", tag_id=tag.id, rule_id=rule.id)

    swapped = _htmx(
        client,
        url,
        {"kind": "regex", "pattern": r"vat\s+id", "sources": ["email"], "editing": rule.id},
    )

    html = swapped.content.decode()
    assert swapped.status_code == 200
    assert 'id="tag-rules"' in html
    assert "Re-tag now" in html
    assert "Save changes" not in html
    assert 'aria-label="Edit rule vat\\s+id" data-rule-edit autofocus' in html
    rule.refresh_from_db()
    assert (rule.kind, rule.pattern, rule.sources, rule.enabled) == (
        "regex",
        r"vat\s+id",
        ["email"],
        True,
    )
    event = AuditEvent.objects.for_workspace(workspace).get(action="tag_rule.updated")
    assert event.changes["pattern"] == ["vat", r"vat\s+id"]
    plain = client.post(url, {"kind": "keyword", "pattern": "tax"})
    assert plain.status_code == 302
    assert plain["Location"] == _url(workspace, "tag-detail", tag_id=tag.id)
    rule.refresh_from_db()
    assert (rule.kind, rule.pattern, rule.sources) == ("keyword", "tax", [])


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?=x)", "Not a pattern pmhub can run"),
        ("a" * 301, "Too long: 301 characters; the limit is 300."),
        ("two words", "A keyword is one word"),
    ],
    ids=["lookahead", "too-long", "keyword-with-space"],
)
def test_editing_a_rule_to_an_invalid_pattern_changes_nothing(
    workspace, member, login, tag, pattern, message
):
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")
    client = login(member)
    url = _url(workspace, "tag-rule-edit", tag_id=tag.id, rule_id=rule.id)
    data = {"kind": "regex" if "?" in pattern else "keyword", "pattern": pattern}

    swapped = _htmx(client, url, data)
    plain = client.post(url, data)

    assert swapped.status_code == 200
    html = swapped.content.decode()
    assert message in html
    # The row stays a form, with what was typed, and the reason under the pattern.
    assert f'id="rule-{rule.id}-pattern-errors"><ul class="errorlist' in html
    assert "Save changes" in html
    assert plain.status_code == 400
    assert message in plain.content.decode()
    rule.refresh_from_db()
    assert (rule.kind, rule.pattern) == ("keyword", "vat")
    assert (
        not AuditEvent.objects.for_workspace(workspace).filter(action="tag_rule.updated").exists()
    )


def test_editing_a_rule_deleted_meanwhile_says_so(workspace, member, login, tag):
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")
    kept = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="tax")
    client = login(member)
    url = _url(workspace, "tag-rule-edit", tag_id=tag.id, rule_id=rule.id)
    rule_delete(workspace=workspace, actor=None, rule=rule)

    swapped = _htmx(client, url, {"kind": "keyword", "pattern": "levy"})
    plain = client.post(url, {"kind": "keyword", "pattern": "levy"})
    opened = client.get(url, HTTP_HX_REQUEST="true")

    for response in (swapped, plain, opened):
        assert response.status_code == 404
        html = response.content.decode()
        assert "This rule no longer exists: it was deleted while you were editing it." in html
        assert "data-rules-error" in html
        assert f'id="rule-{kept.id}"' in html
    assert "<!DOCTYPE" not in swapped.content.decode()
    assert list(TagRule.objects.for_workspace(workspace).values_list("pattern", flat=True)) == [
        "tax"
    ]


def test_editing_a_rule_of_another_workspace_or_tag_is_404(
    workspace, other_workspace, member, login, tag
):
    foreign_tag = services.tag_create(workspace=other_workspace, actor=None, name="Theirs")
    foreign = rule_create(
        workspace=other_workspace, actor=None, tag=foreign_tag, kind="keyword", pattern="x"
    )
    speed = services.tag_create(workspace=workspace, actor=None, name="Speed")
    sibling = rule_create(workspace=workspace, actor=None, tag=speed, kind="keyword", pattern="y")
    client = login(member)
    data = {"kind": "keyword", "pattern": "changed"}

    responses = [
        client.post(_url(workspace, "tag-rule-edit", tag_id=tag.id, rule_id=foreign.id), data),
        client.post(
            _url(workspace, "tag-rule-edit", tag_id=foreign_tag.id, rule_id=foreign.id), data
        ),
        client.post(_url(workspace, "tag-rule-edit", tag_id=tag.id, rule_id=sibling.id), data),
        client.get(_url(workspace, "tag-rule-edit", tag_id=tag.id, rule_id=foreign.id)),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    foreign.refresh_from_db()
    sibling.refresh_from_db()
    assert (foreign.pattern, sibling.pattern) == ("x", "y")


def test_the_edit_rows_preview_clears_its_own_errors(workspace, member, login, tag):
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")
    _feedback(workspace, "VAT is wrong")

    response = login(member).get(
        _url(workspace, "tag-rule-preview", tag_id=tag.id),
        {"kind": "keyword", "pattern": "vat", "editing": str(rule.id)},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert f'<div id="rule-{rule.id}-pattern-errors" hx-swap-oob="true"></div>' in html
    assert 'data-preview-count="1"' in html


def test_cancelling_an_edit_redraws_the_rules_and_focuses_the_rule(workspace, member, login, tag):
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")

    response = login(member).get(
        _url(workspace, "tag-detail", tag_id=tag.id) + f"?focus={rule.id}",
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert "<!DOCTYPE" not in html
    assert html.lstrip().startswith('<div id="tag-rules"')
    assert "data-rule-edit autofocus" in html
    assert response["Vary"].count("HX-Request") == 1


# --- suggestions in the inbox --------------------------------------------------------------
def test_inbox_shows_origins_and_suggestions(workspace, member, login, tag):
    speed = services.tag_create(workspace=workspace, actor=None, name="Speed")
    item = _feedback(workspace, "Slow invoices page")
    Tagging.objects.create(
        workspace=workspace, tag=speed, feedback=item, origin="model", confidence=0.82
    )
    Tagging.objects.create(workspace=workspace, tag=tag, feedback=item, origin="rule")
    suggestion = _suggest(
        workspace, item, services.tag_create(workspace=workspace, actor=None, name="UX")
    )

    html = login(member).get(_url(workspace, "index")).content.decode()

    assert 'data-origin="model"' in html
    assert "82%" in html
    assert 'data-origin="rule"' in html
    assert "(by a rule)" in html
    assert f'data-suggestion-id="{suggestion.id}"' in html
    assert "64%" in html
    assert "Accept UX" in html
    assert "Reject UX" in html


def test_viewer_sees_suggestions_without_buttons(workspace, viewer, login, tag):
    _suggest(workspace, _feedback(workspace, "VAT wrong"), tag)

    html = login(viewer).get(_url(workspace, "index")).content.decode()

    assert "data-suggestion-id" in html
    assert "Accept Billing" not in html
    assert "data-no-tag-fits" not in html


def test_accepting_a_suggestion_makes_it_the_persons_tag(workspace, member, login, tag):
    item = _feedback(workspace, "VAT wrong")
    suggestion = _suggest(workspace, item, tag)

    response = _htmx(
        login(member), _url(workspace, "suggestion-accept", suggestion_id=suggestion.id)
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<tr") or "<tr " in html
    assert f'data-id="{item.id}"' in html
    assert 'data-origin="person"' in html
    assert "data-suggestion-id" not in html
    assert "Tagged Billing." in html
    assert 'hx-swap-oob="beforeend:.toasts"' in html
    suggestion.refresh_from_db()
    assert suggestion.status == "accepted"
    assert suggestion.decided_by == member
    tagging_row = Tagging.objects.for_workspace(workspace).get(feedback=item)
    assert (tagging_row.tag_id, tagging_row.origin, tagging_row.created_by) == (
        tag.id,
        "person",
        member,
    )


@dataclass
class _Prediction:
    label: str | None
    confidence: float


class _UnsureModel:
    """Stands in for a trained TagClassifier: always this tag, never sure enough to apply it."""

    def __init__(self, tag_id):
        self.tag_id = str(tag_id)

    def predict(self, texts):
        return [_Prediction(self.tag_id, 0.55) for _ in texts]

    def auto_threshold(self, label):
        return 0.9


def test_a_rejected_suggestion_is_not_suggested_again(workspace, member, login, tag, monkeypatch):
    rejected = _feedback(workspace, "VAT wrong", minutes=1)
    other = _feedback(workspace, "VAT missing", minutes=2)
    monkeypatch.setattr(tagging, "classifier_load", lambda ws: (1, _UnsureModel(tag.id)))
    tagging.tag_items(workspace=workspace, kind="feedback", ids=[rejected.id, other.id], force=True)
    suggestion = TagSuggestion.objects.for_workspace(workspace).get(feedback=rejected)

    response = login(member).post(
        _url(workspace, "suggestion-reject", suggestion_id=suggestion.id),
        {"next": _url(workspace, "index") + "?status=all"},
    )
    tagging.tag_items(workspace=workspace, kind="feedback", ids=[rejected.id, other.id], force=True)

    assert response.status_code == 302
    assert response["Location"] == _url(workspace, "index") + "?status=all"
    suggestion.refresh_from_db()
    assert suggestion.status == "rejected"
    pending = TagSuggestion.objects.for_workspace(workspace).filter(status="pending")
    assert list(pending.values_list("feedback_id", flat=True)) == [other.id]
    assert not Tagging.objects.for_workspace(workspace).filter(feedback=rejected).exists()


def test_deciding_a_suggestion_twice_answers_with_the_reason(workspace, member, login, tag):
    suggestion = _suggest(workspace, _feedback(workspace, "VAT"), tag)
    client = login(member)
    _htmx(client, _url(workspace, "suggestion-reject", suggestion_id=suggestion.id))

    again = _htmx(client, _url(workspace, "suggestion-accept", suggestion_id=suggestion.id))

    assert again.status_code == 200
    assert "This suggestion was rejected already." in again.content.decode()
    assert not Tagging.objects.for_workspace(workspace).exists()


def test_no_tag_fits_rejects_pending_suggestions_and_can_be_undone(workspace, member, login, tag):
    item = _feedback(workspace, "Lorem ipsum")
    suggestion = _suggest(workspace, item, tag)
    client = login(member)

    marked = _htmx(client, _url(workspace, "feedback-no-tag-fits", feedback_id=item.id))

    item.refresh_from_db()
    suggestion.refresh_from_db()
    assert marked.status_code == 200
    assert item.no_tag_fits is True
    assert suggestion.status == "rejected"
    assert "data-no-tag-fits-badge" in marked.content.decode()
    undone = client.post(
        _url(workspace, "feedback-no-tag-fits", feedback_id=item.id), {"value": "0"}
    )
    item.refresh_from_db()
    assert undone.status_code == 302
    assert item.no_tag_fits is False


@pytest.mark.parametrize(
    "name",
    [
        "suggestion-accept",
        "suggestion-reject",
        "feedback-no-tag-fits",
        "tag-rule-create",
        "tag-rule-toggle",
        "tag-rule-delete",
        "tag-rule-edit",
        "tagging-train",
        "tagging-retag",
    ],
)
def test_viewers_cannot_post(
    workspace, member, viewer, login, tag, name, django_capture_on_commit_callbacks
):
    item = _feedback(workspace, "VAT wrong")
    suggestion = _suggest(workspace, item, tag)
    rule = rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="vat")
    kwargs = {
        "suggestion-accept": {"suggestion_id": suggestion.id},
        "suggestion-reject": {"suggestion_id": suggestion.id},
        "feedback-no-tag-fits": {"feedback_id": item.id},
        "tag-rule-create": {"tag_id": tag.id},
        "tag-rule-toggle": {"rule_id": rule.id},
        "tag-rule-delete": {"rule_id": rule.id},
        "tag-rule-edit": {"tag_id": tag.id, "rule_id": rule.id},
    }.get(name, {})

    with django_capture_on_commit_callbacks() as callbacks:
        response = login(viewer).post(
            _url(workspace, name, **kwargs), {"kind": "keyword", "pattern": "x"}
        )

    assert response.status_code == 403
    assert callbacks == []
    suggestion.refresh_from_db()
    item.refresh_from_db()
    rule.refresh_from_db()
    assert (suggestion.status, item.no_tag_fits, rule.enabled) == ("pending", False, True)
    assert (rule.kind, rule.pattern) == ("keyword", "vat")
    assert TagRule.objects.for_workspace(workspace).count() == 1
    assert not TaggingJob.objects.for_workspace(workspace).exists()


def test_suggestions_of_another_workspace_are_404(workspace, other_workspace, member, login):
    foreign_tag = services.tag_create(workspace=other_workspace, actor=None, name="Theirs")
    foreign = _suggest(other_workspace, _feedback(other_workspace, "x"), foreign_tag)
    client = login(member)

    for name in ("suggestion-accept", "suggestion-reject"):
        assert client.post(_url(workspace, name, suggestion_id=foreign.id)).status_code == 404
    assert (
        client.post(
            _url(workspace, "feedback-no-tag-fits", feedback_id=foreign.feedback_id)
        ).status_code
        == 404
    )
    foreign.refresh_from_db()
    assert foreign.status == "pending"


def test_has_suggestions_filter_in_the_inbox_and_in_feedback_list(workspace, member, login, tag):
    with_one = _feedback(workspace, "VAT wrong", minutes=1)
    decided = _feedback(workspace, "VAT odd", minutes=2)
    _feedback(workspace, "Nothing", minutes=3)
    _suggest(workspace, with_one, tag)
    suggestion = _suggest(workspace, decided, tag)
    TagSuggestion.objects.for_workspace(workspace).filter(id=suggestion.id).update(
        status="rejected"
    )

    response = login(member).get(_url(workspace, "index"), {"suggested": "on"})
    listed = selectors.feedback_list(
        workspace=workspace, filters=FeedbackFilters(status="new", has_suggestions=True)
    )

    assert [row.id for row in response.context["rows"]] == [with_one.id]
    assert list(listed.values_list("id", flat=True)) == [with_one.id]


def test_inbox_query_count_stays_constant_with_suggestions(
    workspace, member, login, tag, django_assert_num_queries
):
    client = login(member)
    client.get(_url(workspace, "index"))
    for i in range(3):
        _suggest(workspace, _feedback(workspace, f"a {i}", minutes=i), tag)
    # membership (+user), tags, segments, rows, taggings, suggestions, insights, switcher
    with django_assert_num_queries(8):
        client.get(_url(workspace, "index"))
    other = services.tag_create(workspace=workspace, actor=None, name="Other")
    for i in range(20):
        item = _feedback(workspace, f"b {i}", minutes=10 + i)
        _suggest(workspace, item, tag)
        _suggest(workspace, item, other, confidence=0.3)
    with django_assert_num_queries(8):
        response = client.get(_url(workspace, "index"))
    assert len(response.context["rows"]) == 23
    first = response.context["rows"][0]
    assert [s.name for s in first.suggestions] == ["Billing", "Other"]


# --- the tagging page ----------------------------------------------------------------------
def _classifier(workspace, version=1, metrics=None):
    return Classifier.objects.create(
        workspace=workspace,
        version=version,
        status=Classifier.Status.READY,
        label_count=42,
        tag_count=3,
        train_seconds=1.7,
        trained_at=timezone.now(),
        metrics=metrics or {},
    )


def test_tagging_page_shows_the_model_and_quality_per_tag(workspace, member, login, tag):
    speed = services.tag_create(workspace=workspace, actor=None, name="Speed")
    sparse = services.tag_create(workspace=workspace, actor=None, name="Sparse")
    items = [_feedback(workspace, f"t {i}", minutes=i) for i in range(4)]
    for item in items[:3]:
        Tagging.objects.create(workspace=workspace, tag=tag, feedback=item, origin="person")
    Tagging.objects.create(workspace=workspace, tag=tag, feedback=items[3], origin="rule")
    Tagging.objects.create(
        workspace=workspace, tag=speed, feedback=items[0], origin="model", confidence=0.9
    )
    _suggest(workspace, items[1], speed)
    _classifier(workspace, 1)
    _classifier(
        workspace,
        2,
        metrics={
            str(tag.id): {"precision": 0.95, "recall": 0.81, "support": 40},
            str(speed.id): {"precision": 0.8, "recall": 0.5, "support": 12},
            str(sparse.id): {"precision": 1.0, "recall": 1.0, "support": 3},
            "_overall": {"precision": 0.9, "recall": 0.7, "support": 55, "abstain_rate": 0.12},
        },
    )

    response = login(member).get(_url(workspace, "tagging"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "v2" in html
    assert "Version history" in html
    rows = {row.tag.name: row for row in response.context["rows"]}
    assert (rows["Billing"].person, rows["Billing"].rule, rows["Billing"].model) == (3, 1, 0)
    assert (rows["Speed"].model, rows["Speed"].pending) == (1, 1)
    assert rows["Billing"].quality.trust == ("high", "Trust: high")
    assert rows["Speed"].quality.trust == ("medium", "Trust: medium")
    assert rows["Sparse"].quality.trust == ("low", "Needs more examples")
    assert "abstains (no tag fits) on <strong>12%</strong>" in html
    assert 'class="bar bar--person"' in html
    assert 'class="bar bar--rule"' in html
    assert "Train now" in html
    assert "Re-tag everything" in html


def test_tagging_page_without_a_model_or_tags(workspace, viewer, login):
    response = login(viewer).get(_url(workspace, "tagging"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "No model yet" in html
    assert "No tags yet" in html
    assert _url(workspace, "tagging-train") not in html
    assert _url(workspace, "tagging-retag") not in html


def test_tagging_page_tolerates_metrics_without_overall_or_fields(workspace, member, login, tag):
    _classifier(workspace, 1, metrics={str(tag.id): {"support": 2}, "junk": 3})

    response = login(member).get(_url(workspace, "tagging"))

    assert response.status_code == 200
    assert response.context["overall"] is None
    assert response.context["rows"][0].quality.trust == ("low", "Needs more examples")


def test_tagging_page_query_count_is_constant(
    workspace, member, login, tag, django_assert_num_queries
):
    client = login(member)
    client.get(_url(workspace, "tagging"))
    _classifier(workspace, 1, metrics={str(tag.id): {"precision": 1, "recall": 1, "support": 9}})
    # membership (+user), versions, tags, taggings by origin, pending suggestions,
    # re-tag jobs, labels (2), switcher
    with django_assert_num_queries(9):
        client.get(_url(workspace, "tagging"))
    for i in range(5):
        extra = services.tag_create(workspace=workspace, actor=None, name=f"T{i}")
        _suggest(workspace, _feedback(workspace, f"x {i}", minutes=i), extra)
        TaggingJob.objects.create(workspace=workspace, kind="retag")
    with django_assert_num_queries(9):
        client.get(_url(workspace, "tagging"))


def test_train_now_with_too_few_labels_says_so_and_enqueues_nothing(
    workspace, member, login, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(member).post(_url(workspace, "tagging-train"), follow=True)

    assert callbacks == []
    assert "needs examples of at least two tags" in response.content.decode()


def test_train_now_enqueues_a_forced_training(
    workspace, member, login, tag, django_capture_on_commit_callbacks, monkeypatch
):
    other = services.tag_create(workspace=workspace, actor=None, name="Other")
    services.feedback_tag(
        workspace=workspace, actor=None, feedback_ids=[_feedback(workspace, "a").id], tag_id=tag.id
    )
    services.feedback_tag(
        workspace=workspace,
        actor=None,
        feedback_ids=[_feedback(workspace, "b", minutes=1).id],
        tag_id=other.id,
    )
    sent = []
    from discovery import tasks

    monkeypatch.setattr(
        tasks.classifier_train_task, "delay_on_commit", lambda **kwargs: sent.append(kwargs)
    )

    response = login(member).post(_url(workspace, "tagging-train"))

    assert response.status_code == 302
    assert sent == [{"workspace_id": workspace.id, "force": True}]


def test_retag_the_inbox_filter_starts_a_job_with_its_filters(
    workspace, member, login, tag, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(member).post(
            _url(workspace, "tagging-retag"),
            {
                "scope": "filter",
                "source": "support",
                "tag": str(tag.id),
                "since": "2026-03-01",
                "suggested": "on",
                "q": "vat",
            },
        )

    job = TaggingJob.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert response["Location"] == _url(workspace, "tagging-job", tagging_job_id=job.id)
    assert job.filters == {
        "status": "new",
        "source": "support",
        "tag_id": tag.id,
        "since": "2026-03-01",
        "query": "vat",
        "has_suggestions": True,
    }
    assert len(callbacks) == 1
    assert tagging._filters_from(job.filters) == FeedbackFilters(
        status="new",
        source="support",
        tag_id=tag.id,
        since=date(2026, 3, 1),
        query="vat",
        has_suggestions=True,
    )


def test_retag_everything_and_follow_its_progress(workspace, member, login):
    client = login(member)
    _feedback(workspace, "One")
    client.post(_url(workspace, "tagging-retag"))
    job = TaggingJob.objects.for_workspace(workspace).get()
    assert job.filters == {}

    waiting = client.get(_url(workspace, "tagging-job", tagging_job_id=job.id))
    assert 'hx-trigger="every 1s"' in waiting.content.decode()
    tagging.retag_run(workspace=workspace, job_id=job.id)
    done = client.get(_url(workspace, "tagging-job", tagging_job_id=job.id), HTTP_HX_REQUEST="true")

    html = done.content.decode()
    assert "<!DOCTYPE" not in html
    assert "every 1s" not in html
    assert "Re-tagged 1 items" in html
    assert 'value="100"' in html


def test_filters_as_json_leaves_out_empty_fields():
    filters = FeedbackFilters(status="triaged", until=date(2026, 1, 31), tag_ids=[3])

    assert filters_as_json(filters) == {"status": "triaged", "until": "2026-01-31", "tag_ids": [3]}


def test_tagging_jobs_of_another_workspace_are_404(workspace, other_workspace, member, login):
    foreign = TaggingJob.objects.create(workspace=other_workspace, kind="retag")
    themes = TaggingJob.objects.create(workspace=workspace, kind="themes")
    client = login(member)

    assert client.get(_url(workspace, "tagging-job", tagging_job_id=foreign.id)).status_code == 404
    assert client.get(_url(workspace, "tagging-job", tagging_job_id=themes.id)).status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "tagging",
        "tagging-train",
        "tagging-retag",
        "tagging-job",
        "tag-rule-preview",
        "tag-rule-edit",
    ],
)
def test_outsider_gets_404(workspace, outsider, login, tag, name):
    rule = rule_create(workspace=workspace, actor=None, tag=tag, kind="keyword", pattern="vat")
    kwargs = {
        "tagging-job": {"tagging_job_id": 1},
        "tag-rule-preview": {"tag_id": tag.id},
        "tag-rule-edit": {"tag_id": tag.id, "rule_id": rule.id},
    }
    client = login(outsider)

    assert client.get(_url(workspace, name, **kwargs.get(name, {}))).status_code == 404
    assert client.post(_url(workspace, name, **kwargs.get(name, {}))).status_code == 404
