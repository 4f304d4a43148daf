"""Who may do what: the declared authorization policy of every route and HTTP method.

This table is what we *say*; tests/test_authz_matrix.py sends every route every method as each
principal and fails on any answer that departs from it, and on any route missing here. The code
enforces the policy elsewhere (workspace_view(roles=...), WorkspaceApiView.required_roles, the
`can_*` predicates); nothing here is read by the app, so a change of policy is a change in both
places, reviewed together.

Each route is keyed by its URL template without converters (`<feedback_id>`, not
`<int:feedback_id>`), relative to the table's prefix, and maps each method it accepts to the
least principal that may send it. A method not listed answers 405. Principals, weakest first:

- ANYONE: no session needed (login, health, the public changelog);
- LINK: whoever holds the signed token in the URL (a roadmap share link, a digest link); the
  token is the credential, a session adds nothing;
- USER: any signed-in person, no workspace in play;
- VIEWER < EDITOR < ADMIN: members of the workspace in the URL with at least that role;
- OWNER: the object's creator, or an admin of its workspace (tokens, saved views, comments);
- OWNER_OR_EDITOR: the object's creator, or an editor (resolving a comment thread);
- REVIEWER: one of the document's reviewers, whatever their role (a verdict).

API tokens act as their member, and need the access TOKEN_ACCESS names for the method: a
read-only token reads, a read-write token also writes. Tokens open API routes only; pages need
a session.

A workspace that requires two-factor authentication lets no member without it reach any of its
routes, whatever their role: its pages send them to set it up, its API answers 403, by session
or by token.

The matrix sends GET, POST, PUT, PATCH and DELETE. HEAD and OPTIONS are left to Django and DRF
(on the API, OPTIONS needs a member of any role, or a token of either access).

To declare a new route: add one line to the table of its part of the app (a page under
/w/<workspace_slug>/ to PAGES, an endpoint under /api/v1/workspaces/<workspace_slug>/ to API,
anything else to OTHER), reusing a shape below when one fits (SHOW, FORM, ACTION ...), with the
least principal per method as the product means it, not as the code happens to do it; then run
`pytest tests/test_authz_matrix.py`. A mismatch is either a bug to fix in the view or a decision
to change here and in the view together.
"""

from __future__ import annotations

from collections.abc import Mapping

ANYONE = "anyone"
LINK = "link"
USER = "user"
VIEWER = "viewer"
EDITOR = "editor"
ADMIN = "admin"
OWNER = "owner"
OWNER_OR_EDITOR = "owner or editor"
REVIEWER = "reviewer"

READ = "read"
WRITE = "write"
TOKEN_ACCESS: Mapping[str, str] = {
    "GET": READ,
    "POST": WRITE,
    "PUT": WRITE,
    "PATCH": WRITE,
    "DELETE": WRITE,
}

Rule = Mapping[str, str]

# Shapes of pages: a page to read, a form (read it, send it), an action (a button's POST).
SHOW: Rule = {"GET": VIEWER}
FORM: Rule = {"GET": VIEWER, "POST": EDITOR}
EDITOR_FORM: Rule = {"GET": EDITOR, "POST": EDITOR}  # a form only editors can send: no preview
ACTION: Rule = {"POST": EDITOR}
ADMIN_FORM: Rule = {"GET": VIEWER, "POST": ADMIN}  # settings everyone sees, admins change
ADMIN_ACTION: Rule = {"POST": ADMIN}
COMMENT: Rule = {"POST": VIEWER}  # viewers take part in reviews and comments
OWN: Rule = {"POST": OWNER}

# Shapes of API endpoints.
LIST: Rule = {"GET": VIEWER, "POST": EDITOR}
READ_ONLY: Rule = {"GET": VIEWER}
CREATE: Rule = {"POST": EDITOR}
DELETE: Rule = {"DELETE": EDITOR}
DETAIL: Rule = {"GET": VIEWER, "PATCH": EDITOR, "DELETE": EDITOR}
CHANGE: Rule = {"GET": VIEWER, "PATCH": EDITOR}
ORDERED_LIST: Rule = {"GET": VIEWER, "POST": EDITOR, "PUT": EDITOR}  # PUT reorders
ROW: Rule = {"PATCH": EDITOR, "DELETE": EDITOR}

PAGES_PREFIX = "/w/<workspace_slug>/"
_KEY_RESULT = "roadmap/objectives/<objective_id>/key-results/<key_result_id>/"
PAGES: Mapping[str, Rule] = {
    "": SHOW,
    # Settings: members and personal tokens are everyone's; the rest is the admins'.
    "settings/": ADMIN_FORM,
    "settings/members/": SHOW,
    "settings/security/": ADMIN_FORM,
    "settings/members/<member_id>/role/": ADMIN_ACTION,
    "settings/members/<member_id>/remove/": ADMIN_ACTION,
    "settings/leave/": {"POST": VIEWER},
    "settings/invitations/": ADMIN_ACTION,
    "settings/invitations/<invitation_id>/resend/": ADMIN_ACTION,
    "settings/invitations/<invitation_id>/revoke/": ADMIN_ACTION,
    "settings/tokens/": {"GET": VIEWER, "POST": VIEWER},
    "settings/tokens/<token_id>/revoke/": OWN,
    "settings/audit/": {"GET": ADMIN},
    "settings/data/": {"GET": ADMIN},
    "settings/data/export/": {"GET": ADMIN},
    "settings/data/delete/": ADMIN_ACTION,
    # Discovery.
    "discovery/": SHOW,
    "discovery/feedback/new/": FORM,
    "discovery/feedback/bulk/": ACTION,
    "discovery/feedback/<feedback_id>/": SHOW,
    "discovery/feedback/<feedback_id>/edit/": FORM,
    "discovery/feedback/<feedback_id>/delete/": ACTION,
    "discovery/feedback/<feedback_id>/status/": ACTION,
    "discovery/feedback/<feedback_id>/tag/": ACTION,
    "discovery/feedback/<feedback_id>/untag/": ACTION,
    "discovery/feedback/<feedback_id>/link/": ACTION,
    "discovery/feedback/<feedback_id>/highlights/": ACTION,
    "discovery/feedback/<feedback_id>/merge/": ACTION,
    "discovery/feedback/<feedback_id>/not-duplicate/": ACTION,
    "discovery/feedback/<feedback_id>/no-tag-fits/": ACTION,
    "discovery/companies/": SHOW,
    "discovery/companies/new/": FORM,
    "discovery/companies/<company_id>/": SHOW,
    "discovery/companies/<company_id>/edit/": FORM,
    "discovery/customers/": SHOW,
    "discovery/customers/new/": FORM,
    "discovery/customers/<customer_id>/": SHOW,
    "discovery/customers/<customer_id>/edit/": FORM,
    "discovery/tags/": SHOW,
    "discovery/tags/new/": FORM,
    "discovery/tags/<tag_id>/": SHOW,
    "discovery/tags/<tag_id>/edit/": FORM,
    "discovery/tags/<tag_id>/merge/": FORM,
    "discovery/tags/<tag_id>/delete/": FORM,
    "discovery/tags/<tag_id>/rules/": ACTION,
    "discovery/tags/<tag_id>/rules/preview/": SHOW,
    "discovery/tags/<tag_id>/rules/<rule_id>/edit/": FORM,
    "discovery/tag-rules/<rule_id>/toggle/": ACTION,
    "discovery/tag-rules/<rule_id>/delete/": ACTION,
    "discovery/suggestions/<suggestion_id>/accept/": ACTION,
    "discovery/suggestions/<suggestion_id>/reject/": ACTION,
    "discovery/tagging/": SHOW,
    "discovery/tagging/train/": ACTION,
    "discovery/tagging/retag/": ACTION,
    "discovery/tagging/jobs/<tagging_job_id>/": SHOW,
    "discovery/themes/": SHOW,
    "discovery/themes/find/": ACTION,
    "discovery/themes/create-tag/": ACTION,
    "discovery/interviews/": SHOW,
    "discovery/interviews/new/": FORM,
    "discovery/interviews/<interview_id>/": SHOW,
    "discovery/interviews/<interview_id>/edit/": FORM,
    "discovery/interviews/<interview_id>/delete/": ACTION,
    "discovery/interviews/<interview_id>/highlights/": ACTION,
    "discovery/highlights/<highlight_id>/": SHOW,
    "discovery/highlights/<highlight_id>/delete/": ACTION,
    "discovery/highlights/<highlight_id>/tag/": ACTION,
    "discovery/highlights/<highlight_id>/untag/": ACTION,
    "discovery/insights/": SHOW,
    "discovery/insights/new/": FORM,
    "discovery/insights/<insight_id>/": SHOW,
    "discovery/insights/<insight_id>/edit/": FORM,
    "discovery/insights/<insight_id>/delete/": ACTION,
    "discovery/insights/<insight_id>/evidence/": ACTION,
    "discovery/evidence/<evidence_id>/remove/": ACTION,
    "discovery/search/": SHOW,
    "discovery/imports/": SHOW,
    "discovery/imports/new/": EDITOR_FORM,
    "discovery/imports/<job_id>/": SHOW,
    "discovery/imports/<job_id>/map/": EDITOR_FORM,
    # Backlog. Saved views are personal unless shared: anyone saves their own.
    "backlog/": SHOW,
    "backlog/items/new/": FORM,
    "backlog/items/<item_id>/": SHOW,
    "backlog/items/<item_id>/move/": ACTION,
    "backlog/items/<item_id>/cell/": ACTION,
    "backlog/items/<item_id>/edit/": ACTION,
    "backlog/items/<item_id>/parents/": SHOW,
    "backlog/items/<item_id>/status/": ACTION,
    "backlog/items/<item_id>/importance/": ACTION,
    "backlog/items/<item_id>/inputs/": ACTION,
    "backlog/items/<item_id>/evidence/": ACTION,
    "backlog/items/<item_id>/evidence/all/": SHOW,
    "backlog/items/<item_id>/evidence/<item_evidence_id>/unlink/": ACTION,
    "backlog/views/": {"POST": VIEWER},
    "backlog/views/<saved_view_id>/": SHOW,
    "backlog/views/<saved_view_id>/update/": OWN,
    "backlog/views/<saved_view_id>/rename/": OWN,
    "backlog/views/<saved_view_id>/delete/": OWN,
    "backlog/board/": SHOW,
    "backlog/board/items/<item_id>/status/": ACTION,
    "backlog/matrix/": SHOW,
    "backlog/link/": SHOW,
    "backlog/link/save/": ACTION,
    # A CSV of the rows a viewer reads anyway (a read-only token lists them too); the export
    # of the whole workspace is the admins' (settings/data/).
    "backlog/export.csv": SHOW,
    "backlog/scoring/": SHOW,
    "backlog/scoring/setup/": ACTION,
    "backlog/scoring/formulas/new/": ACTION,
    "backlog/scoring/formulas/<formula_id>/": FORM,
    "backlog/scoring/formulas/<formula_id>/what-if/": SHOW,
    "backlog/scoring/formulas/<formula_id>/primary/": ACTION,
    "backlog/scoring/formulas/<formula_id>/delete/": ACTION,
    "backlog/scoring/jobs/<scoring_job_id>/": SHOW,
    "backlog/scoring/fields/new/": ACTION,
    "backlog/scoring/fields/<score_field_id>/": ACTION,
    "backlog/scoring/fields/<score_field_id>/delete/": ACTION,
    # Roadmap. Share links publish a roadmap outside the workspace: editors make them.
    "roadmap/": SHOW,
    "roadmap/roadmaps/new/": EDITOR_FORM,
    "roadmap/roadmaps/<roadmap_id>/": SHOW,
    "roadmap/roadmaps/<roadmap_id>/edit/": EDITOR_FORM,
    "roadmap/roadmaps/<roadmap_id>/delete/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/history/": SHOW,
    "roadmap/roadmaps/<roadmap_id>/items/add/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/items/search/": SHOW,
    "roadmap/roadmaps/<roadmap_id>/items/<item_id>/move/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/items/<item_id>/remove/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/items/<item_id>/schedule/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/columns/new/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/columns/<column_id>/more/": SHOW,
    "roadmap/roadmaps/<roadmap_id>/columns/<column_id>/rename/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/columns/<column_id>/shift/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/columns/<column_id>/delete/": ACTION,
    "roadmap/roadmaps/<roadmap_id>/share/": FORM,
    "roadmap/roadmaps/<roadmap_id>/share/<share_link_id>/": FORM,
    "roadmap/roadmaps/<roadmap_id>/share/<share_link_id>/revoke/": ACTION,
    "roadmap/releases/": SHOW,
    "roadmap/releases/new/": FORM,
    "roadmap/releases/<release_id>/": SHOW,
    "roadmap/releases/<release_id>/edit/": FORM,
    "roadmap/releases/<release_id>/status/": ACTION,
    "roadmap/releases/<release_id>/delete/": ACTION,
    "roadmap/releases/<release_id>/items/": ACTION,
    "roadmap/releases/<release_id>/items/<item_id>/remove/": ACTION,
    "roadmap/releases/<release_id>/tasks/": ACTION,
    "roadmap/releases/<release_id>/tasks/<launch_task_id>/toggle/": ACTION,
    "roadmap/releases/<release_id>/tasks/<launch_task_id>/move/": ACTION,
    "roadmap/releases/<release_id>/tasks/<launch_task_id>/edit/": FORM,
    "roadmap/releases/<release_id>/tasks/<launch_task_id>/delete/": ACTION,
    "roadmap/objectives/": SHOW,
    "roadmap/objectives/new/": EDITOR_FORM,
    "roadmap/objectives/<objective_id>/": SHOW,
    "roadmap/objectives/<objective_id>/edit/": EDITOR_FORM,
    "roadmap/objectives/<objective_id>/archive/": ACTION,
    "roadmap/objectives/<objective_id>/delete/": ACTION,
    "roadmap/objectives/<objective_id>/key-results/": ACTION,
    "roadmap/objectives/<objective_id>/items/link/": ACTION,
    _KEY_RESULT + "edit/": EDITOR_FORM,
    _KEY_RESULT + "delete/": ACTION,
    _KEY_RESULT + "values/": ACTION,
    _KEY_RESULT + "values/import/": ACTION,
    _KEY_RESULT + "values/<key_result_value_id>/delete/": ACTION,
    _KEY_RESULT + "items/<item_id>/unlink/": ACTION,
    # Docs. Reviewers and commenters may be viewers; making the changelog public is the admins'.
    "docs/": SHOW,
    "docs/new/": EDITOR_FORM,
    "docs/references/": SHOW,
    "docs/<document_id>/": SHOW,
    "docs/<document_id>/edit/": EDITOR_FORM,
    "docs/<document_id>/preview/": ACTION,
    "docs/<document_id>/status/": ACTION,
    "docs/<document_id>/details/": ACTION,
    "docs/<document_id>/links/": ACTION,
    "docs/<document_id>/links/<link_id>/remove/": ACTION,
    "docs/<document_id>/export/": SHOW,
    "docs/<document_id>/delete/": ACTION,
    "docs/<document_id>/history/": SHOW,
    "docs/<document_id>/history/<number>/": SHOW,
    "docs/<document_id>/history/<number>/diff/<other_number>/": SHOW,
    "docs/<document_id>/history/<number>/restore/": ACTION,
    "docs/<document_id>/review/": SHOW,
    "docs/<document_id>/review/verdict/": {"POST": REVIEWER},
    "docs/<document_id>/reviewers/add/": ACTION,
    "docs/<document_id>/reviewers/<reviewer_id>/remove/": ACTION,
    "docs/<document_id>/comments/add/": COMMENT,
    "docs/<document_id>/comments/<comment_id>/resolve/": {"POST": OWNER_OR_EDITOR},
    "docs/<document_id>/comments/<comment_id>/reopen/": {"POST": OWNER_OR_EDITOR},
    "docs/<document_id>/comments/<comment_id>/delete/": OWN,
    "docs/release-notes/new/<release_id>/": ACTION,
    "docs/changelog/": ADMIN_FORM,
    "docs/templates/": SHOW,
    "docs/templates/new/": EDITOR_FORM,
    "docs/templates/<template_id>/": EDITOR_FORM,
    "docs/templates/<template_id>/delete/": ACTION,
    # Digests. The outbox shows what stakeholders were sent: editors, who write to them.
    "digests/": SHOW,
    "digests/stakeholders/import/": FORM,
    "digests/stakeholders/new/": FORM,
    "digests/stakeholders/<stakeholder_id>/": FORM,
    "digests/stakeholders/<stakeholder_id>/follows/": ACTION,
    "digests/stakeholders/<stakeholder_id>/follows/<follow_id>/remove/": ACTION,
    "digests/stakeholders/<stakeholder_id>/resume/": ACTION,
    "digests/stakeholders/<stakeholder_id>/delete/": ACTION,
    "digests/stakeholders/<stakeholder_id>/preview/": SHOW,
    "digests/stakeholders/<stakeholder_id>/test/": ACTION,
    "digests/settings/": ADMIN_FORM,
    "digests/runs/": SHOW,
    "digests/runs/<period>/": SHOW,
    "digests/outbox/": {"GET": EDITOR},
    "digests/outbox/<message_key>/": {"GET": EDITOR},
}

API_PREFIX = "/api/v1/workspaces/<workspace_slug>/"
API: Mapping[str, Rule] = {
    "": {"GET": VIEWER, "PATCH": ADMIN},
    "members/": READ_ONLY,
    "members/<member_id>/": {"GET": VIEWER, "PATCH": ADMIN, "DELETE": ADMIN},
    "invitations/": {"GET": ADMIN, "POST": ADMIN},
    "feedback/": LIST,
    "feedback/bulk/": CREATE,
    "feedback/<feedback_id>/": DETAIL,
    "feedback/<feedback_id>/tags/": CREATE,
    "feedback/<feedback_id>/tags/<tag_id>/": DELETE,
    "companies/": LIST,
    "companies/<company_id>/": DETAIL,
    "customers/": LIST,
    "customers/<customer_id>/": DETAIL,
    "tags/": LIST,
    "tags/<tag_id>/": DETAIL,
    "tags/<tag_id>/merge/": CREATE,
    "interviews/": LIST,
    "interviews/<interview_id>/": DETAIL,
    "interviews/<interview_id>/highlights/": LIST,
    "highlights/<highlight_id>/": {"GET": VIEWER, "DELETE": EDITOR},
    "insights/": LIST,
    "insights/<insight_id>/": DETAIL,
    "insights/<insight_id>/evidence/": LIST,
    "insights/<insight_id>/evidence/<evidence_id>/": DELETE,
    "items/": LIST,
    "items/bulk/": CREATE,
    "items/export.csv": READ_ONLY,
    "items/<item_id>/": CHANGE,
    "items/<item_id>/merge/": CREATE,
    "items/<item_id>/evidence/": LIST,
    "items/<item_id>/evidence/<evidence_id>/": DELETE,
    "items/<item_id>/schedule/": CHANGE,
    "roadmaps/": LIST,
    "roadmaps/<roadmap_id>/": DETAIL,
    "roadmaps/<roadmap_id>/columns/": ORDERED_LIST,
    "roadmaps/<roadmap_id>/columns/<column_id>/": ROW,
    "roadmaps/<roadmap_id>/placements/": LIST,
    "roadmaps/<roadmap_id>/placements/<item_id>/": ROW,
    "roadmap-events/": READ_ONLY,
    "releases/": LIST,
    "releases/<release_id>/": DETAIL,
    "releases/<release_id>/items/": READ_ONLY,
    "releases/<release_id>/tasks/": LIST,
    "releases/<release_id>/tasks/<launch_task_id>/": ROW,
    "objectives/": LIST,
    "objectives/<objective_id>/": DETAIL,
    "objectives/<objective_id>/key-results/": CREATE,
    "objectives/<objective_id>/key-results/<key_result_id>/": DETAIL,
    "objectives/<objective_id>/key-results/<key_result_id>/values/": LIST,
    "objectives/<objective_id>/key-results/<key_result_id>/values/import/": CREATE,
    "objectives/<objective_id>/key-results/<key_result_id>/values/<key_result_value_id>/": DELETE,
    "objectives/<objective_id>/key-results/<key_result_id>/items/": CREATE,
    "objectives/<objective_id>/key-results/<key_result_id>/items/<item_id>/": DELETE,
    "documents/": LIST,
    "documents/<document_id>/": DETAIL,
    "documents/<document_id>/revisions/": READ_ONLY,
    "documents/<document_id>/revisions/<number>/": READ_ONLY,
    "documents/<document_id>/publish/": CREATE,
    "documents/<document_id>/comments/": {"GET": VIEWER, "POST": VIEWER},
    "doc-templates/": LIST,
    "doc-templates/<template_id>/": DETAIL,
    "stakeholders/": LIST,
    "stakeholders/<stakeholder_id>/": DETAIL,
    "stakeholders/<stakeholder_id>/follows/": ORDERED_LIST,
    "stakeholders/<stakeholder_id>/follows/<follow_id>/": DELETE,
    "digest-settings/": {"GET": VIEWER, "PATCH": ADMIN},
    "digest-deliveries/": READ_ONLY,
}

OTHER: Mapping[str, Rule] = {
    "/": {"GET": USER},
    "/health/": {"GET": ANYONE},
    # Django's form views take PUT as POST; the reset link page checks the link first, and
    # answers any method with the invalid-link page or the redirect to its form.
    "/accounts/login/": {"GET": ANYONE, "POST": ANYONE, "PUT": ANYONE},
    "/accounts/login/two-factor/": {"GET": ANYONE, "POST": ANYONE},
    "/accounts/logout/": {"POST": ANYONE},
    "/accounts/password-reset/": {"GET": ANYONE, "POST": ANYONE, "PUT": ANYONE},
    "/accounts/password-reset/sent/": {"GET": ANYONE},
    "/accounts/reset/<uidb64>/<token>/": dict.fromkeys(
        ("GET", "POST", "PUT", "PATCH", "DELETE"), ANYONE
    ),
    "/accounts/reset/done/": {"GET": ANYONE},
    "/accounts/two-factor/": {"GET": USER, "POST": USER},
    # Opened (GET), the two forms' addresses send to the page they are on.
    "/accounts/two-factor/recovery-codes/": {"GET": USER, "POST": USER},
    "/accounts/two-factor/disable/": {"GET": USER, "POST": USER},
    "/workspaces/new/": {"GET": USER, "POST": USER},
    # The invitation's token is the credential; accepting it needs an account (made here).
    "/invitations/<token>/": {"GET": ANYONE, "POST": ANYONE},
    "/share/<share_token>/": {"GET": LINK},
    "/share/<share_token>/embed/": {"GET": LINK},
    "/changelog/<changelog_slug>/": {"GET": ANYONE},
    "/changelog/<changelog_slug>/feed.atom": {"GET": ANYONE},
    "/changelog/<changelog_slug>/<entry_id>/": {"GET": ANYONE},
    "/digest/unsubscribe/<digest_token>/": {"GET": LINK, "POST": LINK},
    "/digest/view/<digest_token>/": {"GET": LINK},
    "/api/v1/me/": {"GET": USER},
    "/api/schema/": {"GET": ANYONE},
    "/api/docs/": {"GET": ANYONE},
}


def declared() -> dict[str, Rule]:
    """Every declared route by its full URL template (without converters)."""
    return {
        **{PAGES_PREFIX + path: rule for path, rule in PAGES.items()},
        **{API_PREFIX + path: rule for path, rule in API.items()},
        **OTHER,
    }
