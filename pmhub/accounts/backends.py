"""The authentication backend: Django's ModelBackend, which can take a user the request has
read already instead of reading it again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.backends import ModelBackend

# A workspace page reads the signed-in user with its membership, in one statement (see
# pmhub.workspaces.decorators); Django's own checks of the session (its auth hash, the user
# still active) then run on that user rather than on a second read of it.
_read_already: ContextVar[Any] = ContextVar("pmhub_user_read_already", default=None)


@contextmanager
def user_read_already(user: Any) -> Iterator[None]:
    """While inside, a session naming `user`'s id is checked against `user` as given."""
    token = _read_already.set(user)
    try:
        yield
    finally:
        _read_already.reset(token)


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = _read_already.get()
        if user is not None and user.pk == user_id:
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)
