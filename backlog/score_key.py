"""The order of scores in lists: highest first, unknown (null) last.

Null sorts as -Infinity, so the order is one non-null key. A keyset cursor on it is then a plain
range (`key <= value`) that the item_score_sort index starts from, where "NULLS LAST" would need
an OR around every bound. Formulas never produce infinities (the evaluator refuses them), so no
known score collides with the unknown ones.
"""

from __future__ import annotations

from django.db.models import F, FloatField, Value
from django.db.models.functions import Coalesce

NO_SCORE = float("-inf")


def score_sort_key(field: str = "value") -> Coalesce:
    return Coalesce(F(field), Value(NO_SCORE, output_field=FloatField()))
