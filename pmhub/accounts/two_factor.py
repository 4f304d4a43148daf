"""Two-factor authentication: a person's authenticator app (TOTP) and recovery codes, and the
login's pending second step.

A code is spent by one conditional UPDATE (the time step must be later than the last one used,
the recovery code still unused), so two requests racing with the same code cannot both pass.
Wrong codes count against the person, whatever the address, the way wrong passwords do against
an email and address: whoever is guessing codes knows the password already.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import segno
from django.contrib.auth import login
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from pmhub.accounts import totp
from pmhub.accounts.models import RecoveryCode, TwoFactor, User
from pmhub.accounts.sealing import SealBroken, seal, unseal
from pmhub.accounts.throttle import failure_record, failures_exhausted, throttle_key
from pmhub.core.exceptions import ApplicationError
from pmhub.core.http import client_address

# Failed and refused codes, for the operators' log monitoring; never the code itself.
log = logging.getLogger(__name__)

ISSUER = "pmhub"
RECOVERY_CODE_COUNT = 10
# No look-alikes (0/o, 1/l/i): 31 symbols, 10 per code, about 50 bits each.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60

WRONG_CODE = "That code didn’t work. Check your authenticator app and try the newest code."
THROTTLED = "Too many wrong codes. Wait 15 minutes before trying again."


class CodeRefused(ApplicationError):
    """The code was wrong, already used, or refused after too many failures."""


@dataclass(frozen=True)
class Setup:
    """What the setup page shows: the key in text for typing in, and as a QR code."""

    secret_text: str
    qr_svg: SafeString


# --- the authenticator -----------------------------------------------------------------------
def _secret_pending(user: User) -> bytes:
    """The key offered to `user` before; a new one if none was, or if it cannot be opened any
    more (SECRET_KEY changed without a fallback). Nothing is in force until confirmed."""
    fresh = totp.secret_generate()
    try:
        device, created = TwoFactor.objects.get_or_create(
            user=user, defaults={"sealed_secret": seal(fresh)}
        )
    except IntegrityError:  # another tab created it a moment ago
        device, created = TwoFactor.objects.get(user=user), False
    if created:
        return fresh
    try:
        return unseal(device.sealed_secret)
    except SealBroken:
        device.sealed_secret, device.last_used_step = seal(fresh), None
        device.save(update_fields=["sealed_secret", "last_used_step"])
        return fresh


def two_factor_setup(*, user: User) -> Setup:
    """The key to add to an authenticator app, kept across reloads of the setup page; refused
    once two-factor is on, so the key is never shown again after setup."""
    if user.has_two_factor:
        raise ApplicationError("Two-factor authentication is already on.")
    secret = _secret_pending(user)
    uri = totp.provisioning_uri(secret, account=user.email, issuer=ISSUER)
    # A viewBox and no size: the stylesheet sizes it. Dark on white in either theme, as scanners
    # expect.
    svg = segno.make(uri, error="m").svg_inline(
        border=4,
        dark="#111111",
        light="#ffffff",
        omitsize=True,
        title="QR code for your app",
        svgclass="qr",
    )
    text = totp.secret_to_base32(secret)
    return Setup(
        secret_text=" ".join(text[i : i + 4] for i in range(0, len(text), 4)),
        # segno writes only path data computed from the URI's bits and the fixed title above.
        qr_svg=mark_safe(svg),  # noqa: S308
    )


def _app_code_accept(user: User, code: str) -> bool:
    device = TwoFactor.objects.filter(user=user).first()
    if device is None:
        return False
    try:
        secret = unseal(device.sealed_secret)
    except SealBroken:
        log.error("two-factor key cannot be opened (SECRET_KEY changed?): user=%s", user.pk)
        return False
    step = totp.code_step(secret, code, time.time(), after_step=device.last_used_step)
    if step is None:
        return False
    spent = (
        TwoFactor.objects.filter(user=user)
        .filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step))
        .update(last_used_step=step)
    )
    return spent == 1


def _is_app_code(code: str) -> bool:
    digits = "".join(code.split())
    return len(digits) == totp.DIGITS and digits.isascii() and digits.isdigit()


def recovery_code_hash(code: str) -> str:
    # 50 random bits per code and at most PMHUB_LOGIN_ATTEMPTS guesses per 15 minutes: a fast
    # unsalted hash is enough, as for API tokens.
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def _recovery_code_accept(user: User, code: str) -> bool:
    spent = RecoveryCode.objects.filter(
        user=user, code_hash=recovery_code_hash(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return spent == 1


def _failures_key(user: User) -> str:
    return throttle_key("two-factor", str(user.pk))


def two_factor_code_use(
    *, user: User, code: str, address: str, recovery_allowed: bool = True
) -> str:
    """Spend `code` of `user`: "app" for a code of the authenticator, "recovery" for a recovery
    code. CodeRefused if it is wrong or used before, or after PMHUB_LOGIN_ATTEMPTS wrong codes in
    PMHUB_LOGIN_WINDOW_SECONDS (failures logged, with the email and address, never the code)."""
    key = _failures_key(user)
    if failures_exhausted(key):
        log.warning(
            "two-factor code refused, too many failures: email=%s address=%s", user.email, address
        )
        raise CodeRefused(THROTTLED)
    if _is_app_code(code):
        kind = "app" if _app_code_accept(user, code) else ""
    else:
        kind = "recovery" if recovery_allowed and _recovery_code_accept(user, code) else ""
    if kind:
        return kind
    failures = failure_record(key)
    log.info(
        "two-factor code failed: email=%s address=%s failures=%d", user.email, address, failures
    )
    raise CodeRefused(WRONG_CODE)


def _recovery_codes_issue(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=recovery_code_hash(code)) for code in codes]
    )
    return codes


# The code is checked before the transaction that makes the change: a wrong code's failure
# must be recorded (pmhub.accounts.throttle), not rolled back with the refused change.
def two_factor_enable(*, user: User, code: str, address: str) -> list[str]:
    """Turn two-factor on once `code` from the app being set up is right. Returns the recovery
    codes, which are shown this once: only their hashes are kept."""
    _require(user, on=False, refusal=ALREADY_ON)
    two_factor_code_use(user=user, code=code, address=address, recovery_allowed=False)
    with transaction.atomic():
        user = _locked(user, on=False, refusal=ALREADY_ON)
        user.two_factor_enabled_at = timezone.now()
        user.save(update_fields=["two_factor_enabled_at"])
        log.info("two-factor enabled: user=%s", user.pk)
        return _recovery_codes_issue(user)


ALREADY_ON = "Two-factor authentication is already on."
ALREADY_OFF = "Two-factor authentication is already off."
NOT_ON = "Turn on two-factor authentication first."


def _require(user: User, *, on: bool, refusal: str) -> None:
    if user.has_two_factor != on:
        raise ApplicationError(refusal)


def _locked(user: User, *, on: bool, refusal: str) -> User:
    """The user's row, locked, still with two-factor `on` (or off) as checked before."""
    user = User.objects.select_for_update().get(pk=user.pk)
    _require(user, on=on, refusal=refusal)
    return user


def _confirm(user: User, password_or_code: str, address: str) -> None:
    """Ask again who is at the keyboard before a change to the second factor: the password, or
    a code (an app's or a recovery code)."""
    if user.check_password(password_or_code):
        return
    two_factor_code_use(user=user, code=password_or_code, address=address)


def recovery_codes_regenerate(*, user: User, password_or_code: str, address: str) -> list[str]:
    """New recovery codes for `user`; every earlier one stops working."""
    _require(user, on=True, refusal=NOT_ON)
    _confirm(user, password_or_code, address)
    with transaction.atomic():
        user = _locked(user, on=True, refusal=NOT_ON)
        log.info("two-factor recovery codes regenerated: user=%s", user.pk)
        return _recovery_codes_issue(user)


def _two_factor_remove(user: User) -> None:
    TwoFactor.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    user.two_factor_enabled_at = None
    user.save(update_fields=["two_factor_enabled_at"])


def two_factor_disable(*, user: User, password_or_code: str, address: str) -> User:
    """Turn two-factor off: the key and the recovery codes are deleted."""
    _require(user, on=True, refusal=ALREADY_OFF)
    _confirm(user, password_or_code, address)
    with transaction.atomic():
        user = _locked(user, on=True, refusal=ALREADY_OFF)
        _two_factor_remove(user)
        log.info("two-factor disabled: user=%s", user.pk)
        return user


@transaction.atomic
def two_factor_reset(*, user: User) -> bool:
    """Turn two-factor off for someone who lost their phone and their recovery codes: what an
    operator runs (manage.py two_factor_reset), having checked who is asking by other means.
    The password logs them in again; True if two-factor was on."""
    user = User.objects.select_for_update().get(pk=user.pk)
    was_on = user.has_two_factor
    _two_factor_remove(user)
    log.warning("two-factor reset by an operator: user=%s was_on=%s", user.pk, was_on)
    return was_on


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# --- the login's second step -----------------------------------------------------------------
def login_pending_begin(request: HttpRequest, *, user: User, backend: str, next_url: str) -> None:
    """Remember, for PENDING_SECONDS, that `user` gave the right password (or reset it) and
    still owes a code. Nobody is logged in until then; a new session key is issued now, as
    login() issues another one at the end."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "backend": backend,
        "next": next_url,
        "until": time.time() + PENDING_SECONDS,
    }


def login_pending_user(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The person halfway through logging in, with the pending state; None if nobody is, or the
    five minutes are over (the password is asked again)."""
    pending = request.session.get(PENDING_KEY)
    if not pending or pending["until"] < time.time():
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None or not user.has_two_factor:
        request.session.pop(PENDING_KEY, None)
        return None
    return user, pending


def login_pending_complete(request: HttpRequest, *, code: str) -> str:
    """Log the pending person in if `code` is right; returns where to go next. CodeRefused
    otherwise, and ApplicationError if the pending step has expired."""
    found = login_pending_user(request)
    if found is None:
        raise ApplicationError("That took too long. Log in again.")
    user, pending = found
    kind = two_factor_code_use(user=user, code=code, address=client_address(request))
    del request.session[PENDING_KEY]
    login(request, user, backend=pending["backend"])
    if kind == "recovery":
        log.info(
            "login with a recovery code: user=%s left=%d", user.pk, recovery_codes_left(user=user)
        )
    return pending["next"]
