"""Shapes of the backlog pages' input; the services judge the content."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms

from backlog.models import Item, ItemCustomer, ProductArea, SavedView, ScoringFormula
from backlog.selectors import ItemFilters
from discovery.models import Tag
from pmhub.core.forms import FastWidgetRenderer
from pmhub.workspaces.models import Membership

SORT_CHOICES = [
    ("rank", "Rank"),
    ("customers", "Customers"),
    ("arr", "ARR"),
    ("created", "Newest"),
]


def _area_choices(areas: Iterable[ProductArea], empty: str) -> list[tuple[str, str]]:
    return [("", empty), *((str(a.id), a.name) for a in areas)]


def _owner_choices(members: Iterable[Membership], empty: str) -> list[tuple[str, str]]:
    return [("", empty), *((str(m.user_id), m.user.display_name) for m in members)]


def _tag_choices(tags: Iterable[Tag]) -> list[Any]:
    """Tags grouped as the tags page groups them; ungrouped ones first."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for tag in tags:
        groups.setdefault(tag.group, []).append((str(tag.id), tag.name))
    loose = groups.pop("", [])
    return [("", "Any tag"), *loose, *groups.items()]


def _optional_id(value: str | None) -> int | None:
    return int(value) if value else None


class ItemFilterForm(forms.Form):
    default_renderer = FastWidgetRenderer()

    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.MultipleChoiceField(
        label="Status",
        required=False,
        choices=Item.Status.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Any kind"), *Item.Kind.choices]
    )
    area = forms.ChoiceField(label="Area", required=False)
    owner = forms.ChoiceField(label="Owner", required=False)
    tag = forms.ChoiceField(label="Tag", required=False)
    segment = forms.ChoiceField(label="Asked by", required=False)
    score_min = forms.FloatField(label="Score from", required=False)
    score_max = forms.FloatField(label="to", required=False)
    sort = forms.ChoiceField(label="Sort", required=False, choices=SORT_CHOICES)

    def __init__(
        self,
        *args: Any,
        areas: Iterable[ProductArea],
        members: Iterable[Membership],
        tags: Iterable[Tag] = (),
        segments: Iterable[str] = (),
        formula: ScoringFormula | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.formula = formula
        self.fields["area"].choices = _area_choices(areas, "Any area")
        self.fields["owner"].choices = _owner_choices(members, "Anyone")
        self.fields["tag"].choices = _tag_choices(tags)
        self.fields["segment"].choices = [("", "Any segment"), *((s, s) for s in segments)]
        self.fields["q"].widget.attrs.update({"placeholder": "Search items…", "type": "search"})
        if formula is None:
            del self.fields["score_min"], self.fields["score_max"]
        else:
            # After "Rank": the select shows the first choice, which must be the default order.
            self.fields["sort"].choices = [
                SORT_CHOICES[0],
                ("score", formula.name),
                *SORT_CHOICES[1:],
            ]
            self.fields["score_min"].label = f"{formula.name} from"
            for name, hint in (("score_min", "min"), ("score_max", "max")):
                self.fields[name].widget.attrs.update(
                    {"placeholder": hint, "step": "any", "inputmode": "decimal"}
                )

    def _data(self) -> dict[str, Any]:
        # A bad filter value (a stale link) is dropped, not refused: the list still shows.
        if not self.is_bound:
            return {}
        self.is_valid()
        return getattr(self, "cleaned_data", {})

    def filters(self) -> ItemFilters:
        data = self._data()
        score_min, score_max = data.get("score_min"), data.get("score_max")
        scored = self.formula is not None and (score_min is not None or score_max is not None)
        return ItemFilters(
            statuses=tuple(data.get("status") or ()),
            kind=data.get("kind") or "",
            area_id=_optional_id(data.get("area")),
            owner_id=_optional_id(data.get("owner")),
            tag_id=_optional_id(data.get("tag")),
            segment=data.get("segment") or "",
            query=(data.get("q") or "").strip(),
            score_formula_id=self.formula.id if scored and self.formula else None,
            score_min=score_min,
            score_max=score_max,
        )

    def sort_value(self) -> str:
        return self._data().get("sort") or "rank"

    def status_summary(self) -> str:
        """The status menu's closed label: "Any status", one name, or how many."""
        chosen = self._data().get("status") or []
        if not chosen:
            return "Any status"
        if len(chosen) == 1:
            return str(Item.Status(chosen[0]).label)
        return f"{len(chosen)} statuses"


class ItemCreateForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Item.Kind.choices, initial=Item.Kind.IDEA)
    area = forms.ChoiceField(required=False)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), help_text="Markdown."
    )

    def __init__(self, *args: Any, areas: Iterable[ProductArea], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = _area_choices(areas, "No area")
        self.fields["title"].widget.attrs.update(
            {"placeholder": "e.g. Export boards to CSV", "autofocus": True}
        )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "kind": data["kind"],
            "area_id": _optional_id(data["area"]),
            "description": data["description"],
        }


class ItemEditForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 10}), help_text="Markdown."
    )
    effort = forms.CharField(
        required=False, max_length=20, help_text="Person-weeks, points: the team's unit."
    )
    owner = forms.ChoiceField(required=False)
    area = forms.ChoiceField(required=False)
    # An epic's or feature's id, chosen in the page's parent picker (a workspace has tens of
    # thousands: no select lists them all); `parent_get` resolves it within the workspace.
    parent = forms.IntegerField(required=False, min_value=1)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        areas: Iterable[ProductArea],
        members: Iterable[Membership],
        parent_get: Callable[..., Item],
        current_parent: Item | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = _area_choices(areas, "No area")
        self.fields["owner"].choices = _owner_choices(members, "No owner")
        self.parent_get = parent_get
        # The parent the picker shows as chosen: the item's own, or the one just posted.
        self.parent_choice = current_parent

    def clean_parent(self) -> int | None:
        parent_id = self.cleaned_data.get("parent")
        if parent_id is None:
            self.parent_choice = None
            return None
        try:
            self.parent_choice = self.parent_get(parent_id=parent_id)
        except Item.DoesNotExist as exc:
            raise forms.ValidationError("Choose an epic or a feature of this workspace.") from exc
        return parent_id

    @staticmethod
    def initial_for(item: Item) -> dict[str, Any]:
        effort = "" if item.effort is None else f"{item.effort:g}"
        return {
            "title": item.title,
            "description": item.description,
            "effort": effort,
            "owner": str(item.owner_id or ""),
            "area": str(item.area_id or ""),
            "parent": item.parent_id,
            "version": item.version,
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "effort": data["effort"],
            "owner_id": _optional_id(data["owner"]),
            "area_id": _optional_id(data["area"]),
            "parent_id": data["parent"],
        }


class ItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Item.Status.choices)
    reason = forms.CharField(required=False, max_length=500)


class ItemMoveForm(forms.Form):
    after_id = forms.IntegerField(required=False, min_value=1)
    before_id = forms.IntegerField(required=False, min_value=1)


class ImportanceForm(forms.Form):
    customer_id = forms.IntegerField(min_value=1)
    importance = forms.ChoiceField(choices=ItemCustomer.Importance.choices)


class EvidenceLinkForm(forms.Form):
    """Which insight or feedback item to link; exactly one."""

    insight_id = forms.IntegerField(required=False, min_value=1)
    feedback_id = forms.IntegerField(required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("insight_id") is None) == (data.get("feedback_id") is None):
            raise forms.ValidationError("Choose one insight or one feedback item.")
        return data


class ItemCellForm(forms.Form):
    """One cell of the table: which (a name of `cells`), its new value, the version it began on.

    Owner and area arrive as ids ("" for none); the services judge every value."""

    field = forms.ChoiceField()
    value = forms.CharField(required=False, max_length=40, strip=True)
    reason = forms.CharField(required=False, max_length=500)
    version = forms.IntegerField(min_value=1)
    # The value the cell showed, for inputs (which do not bump the item's version).
    was = forms.CharField(required=False, max_length=40, strip=True)

    def __init__(self, *args: Any, cells: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(name, name) for name in cells]
        self.fields["field"].error_messages["invalid_choice"] = "This column cannot be edited."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        field, value = data.get("field"), data.get("value", "")
        if field in ("owner", "area"):
            if value and not value.isdigit():
                raise forms.ValidationError({"value": f"Choose an {field} from the list."})
            data["value"] = int(value) if value else None
        return data


class SavedViewCreateForm(forms.Form):
    name = forms.CharField(max_length=80)
    is_shared = forms.BooleanField(required=False, label="Share with the workspace")
    layout = forms.ChoiceField(choices=SavedView.Layout.choices, initial=SavedView.Layout.TABLE)
    # The page's query string when "Save view" was pressed: its filters and sort.
    query = forms.CharField(required=False, max_length=2000)


class SavedViewUpdateForm(forms.Form):
    """Save the page's filters into the view, or change whether it is shared (or both)."""

    query = forms.CharField(required=False, max_length=2000)
    sharing = forms.ChoiceField(
        required=False, choices=[("", "unchanged"), ("shared", "shared"), ("personal", "personal")]
    )


class SavedViewRenameForm(forms.Form):
    name = forms.CharField(max_length=80)
