"""Turn two-factor authentication off for someone locked out (phone and recovery codes lost)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pmhub.accounts.models import User
from pmhub.accounts.two_factor import two_factor_reset


class Command(BaseCommand):
    help = (
        "Turn off two-factor authentication of the account with this email; its password alone "
        "logs it in again. Check who is asking by other means first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The account's email address.")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No account has the email {email!r}.")
        was_on = two_factor_reset(user=user)
        state = "was on and is now off" if was_on else "was already off"
        self.stdout.write(
            f"Two-factor authentication of {user.email} {state}. The password alone logs in; "
            "a workspace that requires two-factor asks for a new setup."
        )
