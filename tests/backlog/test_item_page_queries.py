"""The item page answers "why are we building this" for everyone who can read it, in a number of
queries that does not grow with its evidence, customers, children or scoring formulas; the
evidence page lists everything behind it, page by page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import scoring, services
from backlog.models import ItemCustomer
from backlog.views import items as item_views
from discovery import services as discovery
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _asked_item(workspace, title, *, links, children):
    """An item with `links` feedback links (each from its own customer; every other one at a
    company with a segment and an ARR), one insight link, and `children` child items."""
    company, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name=f"{title} Corp",
        domain=f"{title.lower()}.test",
        segment="Enterprise",
        arr=Decimal("250000"),
    )
    parent = services.item_create(workspace=workspace, actor=None, title=title, kind="epic")
    for n in range(children):
        services.item_create(
            workspace=workspace, actor=None, title=f"{title} child {n}", parent_id=parent.id
        )
    insight = discovery.insight_create(workspace=workspace, actor=None, title=f"{title} insight")
    services.item_link_evidence(workspace=workspace, actor=None, item=parent, insight_id=insight.id)
    for n in range(links):
        customer, _ = discovery.customer_upsert(
            workspace=workspace,
            actor=None,
            email=f"{title.lower()}{n}@example.test",
            name=f"{title} customer {n}",
            company=company if n % 2 else None,
        )
        feedback = discovery.feedback_create(
            workspace=workspace,
            actor=None,
            data=FeedbackInput(text=f"{title} please, says {n}", customer_id=customer.id),
        )
        services.item_link_evidence(
            workspace=workspace, actor=None, item=parent, feedback_id=feedback.id
        )
    parent.refresh_from_db()
    return parent


def _queries(client, url):
    client.get(url)  # warm: the session and the first-request caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def _set_inputs(workspace, item):
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=item,
        values={
            "rice.reach": "100",
            "rice.impact": "2",
            "rice.confidence": "0.8",
            "rice.effort": "3",
        },
    )


# membership (+workspace, user); the merged-item redirect check; the item (+owner,
# area, parent); the top customers (+customer, company); the top quotes (+feedback, customer,
# company, their importance); the newest links; children; formulas; the item's scores with
# their positions; scoring fields; the item's row for the formulas; every formula's recent
# history; its inputs; the inputs form's fields; the decision records concerning the item;
# switcher memberships. Editors add the edit
# form's members and areas (the parent is searched for: no list of every epic). The medians
# and score quantiles come from the cache, which the first (warming) request fills: one more
# query each when it is cold.
PINNED = {"viewer": 16, "member": 18}


@pytest.mark.parametrize("role_case", ["viewer", "member"])
def test_query_count_does_not_grow_with_links_customers_children_or_formulas(
    workspace, viewer, member, login, role_case
):
    small = _asked_item(workspace, "Small", links=2, children=1)
    big = _asked_item(workspace, "Big", links=30, children=5)
    formulas = scoring.scoring_defaults_ensure(workspace=workspace)
    for formula in formulas:
        if formula.framework != "rice":
            scoring.formula_delete(workspace=workspace, actor=None, formula=formula)
    for item in (small, big):
        _set_inputs(workspace, item)
    client = login(viewer if role_case == "viewer" else member)
    one_formula = [
        _queries(client, _url(workspace, "backlog:item-detail", item_id=item.id))
        for item in (small, big)
    ]
    scoring.scoring_defaults_ensure(workspace=workspace)
    for item in (small, big):
        scoring.item_scores_recompute(workspace=workspace, item_ids=[item.id], cause="again")
    four_formulas = [
        _queries(client, _url(workspace, "backlog:item-detail", item_id=item.id))
        for item in (small, big)
    ]

    counts = [len(sql) for sql in [*one_formula, *four_formulas]]
    assert counts == [PINNED[role_case]] * 4, "\n\n".join(four_formulas[1])


def test_a_viewer_reads_who_asked_in_their_words_and_sees_no_edit_control(workspace, viewer, login):
    item = _asked_item(workspace, "Export", links=2, children=0)
    asker = (
        ItemCustomer.objects.for_workspace(workspace)
        .filter(item=item, customer__company__isnull=False)
        .get()
    )
    services.item_customer_importance_set(
        workspace=workspace,
        actor=None,
        item=item,
        customer_id=asker.customer_id,
        importance="critical",
    )

    html = login(viewer).get(_url(workspace, "backlog:item-detail", item_id=item.id))
    html = html.content.decode()

    assert "Export please, says 1" in html
    assert "Export please, says 0" in html
    # The critical customer's quote comes first, with company, segment and importance.
    first = html.index('class="quote"')
    who = html[first : html.index("</li>", first)]
    assert "Export customer 1" in who
    assert "Export Corp" in who
    assert "Enterprise" in who
    assert "importance--critical" in who
    assert "Critical" in who
    assert "Export please, says 1" in who
    for control in (
        'id="edit"',
        'name="importance"',
        "/unlink/",
        "/status/",
        "Link evidence",
        "Set scoring inputs",
    ):
        assert control not in html, control


def test_long_lists_show_the_top_and_link_to_all_of_it(workspace, viewer, login, monkeypatch):
    item = _asked_item(workspace, "Busy", links=30, children=0)
    monkeypatch.setattr(item_views, "EVIDENCE_PAGE_SIZE", 12)
    client = login(viewer)

    page = client.get(_url(workspace, "backlog:item-detail", item_id=item.id))

    assert len(page.context["quotes"]) == item_views.QUOTES_SHOWN
    assert len(page.context["evidence"]) == item_views.EVIDENCE_SHOWN
    assert page.context["evidence_more"] == 31 - item_views.EVIDENCE_SHOWN
    assert len(page.context["customers"]) == item_views.CUSTOMERS_SHOWN
    assert page.context["customers_more"] == 30 - item_views.CUSTOMERS_SHOWN
    all_url = _url(workspace, "backlog:item-evidence-all", item_id=item.id)
    html = page.content.decode()
    assert f'href="{all_url}"' in html
    assert f'href="{all_url}?list=customers"' in html

    pages = [client.get(all_url, {"page": n}).context["page"] for n in (1, 2, 3)]
    shown = [e.id for p in pages for e in p.object_list]
    assert len(shown) == len(set(shown)) == 31
    assert pages[0].object_list[0].insight_id is not None  # insights lead
    customers = client.get(all_url, {"list": "customers", "page": 3}).context["page"]
    assert len(customers.object_list) == 30 - 2 * 12


@pytest.mark.parametrize("role_case", ["anonymous", "outsider"])
def test_the_evidence_page_is_for_members_only(workspace, outsider, client, login, role_case):
    item = _asked_item(workspace, "Private", links=1, children=0)
    http = client if role_case == "anonymous" else login(outsider)

    response = http.get(_url(workspace, "backlog:item-evidence-all", item_id=item.id))

    assert response.status_code == (302 if role_case == "anonymous" else 404)
