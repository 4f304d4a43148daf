"""Saved views of the backlog: named filters and sort, shared with the workspace or personal.

The stored `params` are the page's GET parameters, cleaned to a known shape: a view saved from
one page opens the table, the board or the matrix with the same filters. Whether an id still
names an area or a tag is the page's to judge (its filter form drops stale values), so a view
outlives the things it filters on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.http import QueryDict

from backlog.models import Item, SavedView
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Membership, Workspace
from pmhub.workspaces.roles import Role, role_allows

if TYPE_CHECKING:
    from pmhub.accounts.models import User

NAME_MAX = 80
TEXT_MAX = 200
# Parameters a view keeps, by the shape of their value. Anything else (the page cursor, the
# open view's id, a parameter from an old link) is not part of a view.
TEXT_PARAMS = ("q", "segment", "sort")
ID_PARAMS = ("area", "owner", "tag")
NUMBER_PARAMS = ("score_min", "score_max")
CHOICE_PARAMS = {"kind": frozenset(Item.Kind.values)}
STATUSES = frozenset(Item.Status.values)


class SavedViewPermissionError(ApplicationError):
    """Only its creator or an admin changes a shared view; only its creator a personal one."""

    status_code = 403


# --- the stored parameters -------------------------------------------------------------------
def _number(value: str) -> str | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return value if number == number and abs(number) != float("inf") else None


def saved_view_params_clean(params: Mapping[str, Any]) -> dict[str, Any]:
    """The filter and sort parameters of `params` (a QueryDict or a stored dict) in the stored
    shape: text values, `status` a list; unknown keys, empty and malformed values dropped."""

    def values_of(key: str) -> list[str]:
        if isinstance(params, QueryDict):
            raw: Any = params.getlist(key)
        else:
            raw = params.get(key)
        items = raw if isinstance(raw, list) else [raw]
        return [v.strip() for v in items if isinstance(v, str) and v.strip()]

    cleaned: dict[str, Any] = {}
    for key in TEXT_PARAMS:
        found = values_of(key)
        if found and len(found[0]) <= TEXT_MAX:
            cleaned[key] = found[0]
    # The manual order is every page's default: a view that names it says nothing more.
    if cleaned.get("sort") == "rank":
        del cleaned["sort"]
    for key in ID_PARAMS:
        found = values_of(key)
        if found and found[0].isdigit() and 0 < int(found[0]) < 2**63:
            cleaned[key] = found[0]
    for key in NUMBER_PARAMS:
        found = values_of(key)
        number = _number(found[0]) if found and len(found[0]) <= 40 else None
        if number is not None:
            cleaned[key] = number
    for key, allowed in CHOICE_PARAMS.items():
        found = values_of(key)
        if found and found[0] in allowed:
            cleaned[key] = found[0]
    statuses = sorted({s for s in values_of("status") if s in STATUSES})
    if statuses:
        cleaned["status"] = statuses
    return cleaned


def saved_view_query(view: SavedView) -> QueryDict:
    """The view's parameters as a query string for its page (cleaned again: a stored row may
    predate today's rules)."""
    query = QueryDict(mutable=True)
    for key, value in saved_view_params_clean(view.params or {}).items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return query


# --- who may do what -------------------------------------------------------------------------
def can_share_saved_view(membership: Membership) -> bool:
    """Shared views shape what everyone sees first: editors and admins make them."""
    return role_allows(membership.role, Role.EDITOR)


def can_change_saved_view(membership: Membership, view: SavedView) -> bool:
    if view.created_by_id == membership.user_id:
        return not view.is_shared or can_share_saved_view(membership)
    return view.is_shared and membership.role == Role.ADMIN


# --- reads -----------------------------------------------------------------------------------
def saved_view_list(*, workspace: Workspace, user: User) -> QuerySet[SavedView]:
    """The workspace's shared views and this person's own, shared first, then by position."""
    return (
        SavedView.objects.for_workspace(workspace)
        .filter(Q(is_shared=True) | Q(created_by=user))
        .order_by("-is_shared", "position", "id")
    )


def saved_view_get(*, workspace: Workspace, user: User, saved_view_id: int) -> SavedView:
    """A view this person can see; another's personal view, like another workspace's, is
    SavedView.DoesNotExist."""
    return saved_view_list(workspace=workspace, user=user).get(id=saved_view_id)


# --- writes ----------------------------------------------------------------------------------
def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the view, e.g. “Enterprise asks”."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"At most {NAME_MAX} characters."})
    return name


def _check_layout(layout: str) -> None:
    if layout not in SavedView.Layout.values:
        raise ValidationError({"layout": "Choose table, board or matrix."})


def _check_may_share(membership: Membership, is_shared: bool) -> None:
    if is_shared and not can_share_saved_view(membership):
        raise SavedViewPermissionError("Viewers keep personal views; an editor can share one.")


def _check_may_change(membership: Membership, view: SavedView) -> None:
    if not can_change_saved_view(membership, view):
        raise SavedViewPermissionError(
            "Only the person who made this shared view, or an admin, can change it."
        )


def _save(view: SavedView, fields: list[str]) -> None:
    """Save, turning a taken name into a clear refusal (the unique constraints decide)."""
    try:
        with transaction.atomic():
            if view.pk is None:
                view.save()
            else:
                view.save(update_fields=[*fields, "updated_at"])
    except IntegrityError as exc:
        where = "the shared views" if view.is_shared else "your views"
        raise ValidationError({"name": f"“{view.name}” is already one of {where}."}) from exc


@transaction.atomic
def saved_view_create(
    *,
    workspace: Workspace,
    membership: Membership,
    name: str,
    params: Mapping[str, Any],
    layout: str = SavedView.Layout.TABLE,
    is_shared: bool = False,
) -> SavedView:
    """A new view at the end of the list, keeping only the filter and sort parameters."""
    _check_layout(layout)
    _check_may_share(membership, is_shared)
    last = SavedView.objects.for_workspace(workspace).aggregate(last=Max("position"))["last"]
    view = SavedView(
        workspace=workspace,
        name=_clean_name(name),
        layout=layout,
        params=saved_view_params_clean(params),
        is_shared=is_shared,
        created_by_id=membership.user_id,
        position=0 if last is None else last + 1,
    )
    _save(view, [])
    audit_record(
        workspace=workspace,
        actor=membership.user,
        action="saved_view.created",
        target=view,
        changes={"name": view.name, "shared": is_shared},
    )
    return view


@transaction.atomic
def saved_view_rename(
    *, workspace: Workspace, membership: Membership, view: SavedView, name: str
) -> SavedView:
    _check_may_change(membership, view)
    before, view.name = view.name, _clean_name(name)
    if view.name != before:
        _save(view, ["name"])
        audit_record(
            workspace=workspace,
            actor=membership.user,
            action="saved_view.renamed",
            target=view,
            changes={"name": [before, view.name]},
        )
    return view


@transaction.atomic
def saved_view_update(
    *,
    workspace: Workspace,
    membership: Membership,
    view: SavedView,
    params: Mapping[str, Any] | None = None,
    layout: str | None = None,
    is_shared: bool | None = None,
) -> SavedView:
    """Replace the view's filters and sort, layout or sharing (None leaves one as it is)."""
    _check_may_change(membership, view)
    changes: dict[str, list[Any]] = {}
    if params is not None:
        cleaned = saved_view_params_clean(params)
        if cleaned != view.params:
            changes["params"] = [view.params, cleaned]
            view.params = cleaned
    if layout is not None and layout != view.layout:
        _check_layout(layout)
        changes["layout"] = [view.layout, layout]
        view.layout = layout
    if is_shared is not None and is_shared != view.is_shared:
        _check_may_share(membership, is_shared)
        changes["is_shared"] = [view.is_shared, is_shared]
        view.is_shared = is_shared
    if changes:
        _save(view, list(changes))
        audit_record(
            workspace=workspace,
            actor=membership.user,
            action="saved_view.updated",
            target=view,
            changes=changes,
        )
    return view


@transaction.atomic
def saved_view_delete(*, workspace: Workspace, membership: Membership, view: SavedView) -> None:
    _check_may_change(membership, view)
    audit_record(
        workspace=workspace,
        actor=membership.user,
        action="saved_view.deleted",
        target=view,
        changes={"name": view.name},
    )
    view.delete()
