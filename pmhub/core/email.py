"""Sending mail: one helper so that every message has a text and an HTML part."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def email_send(*, to: list[str], subject: str, template: str, context: dict[str, Any]) -> None:
    """Render `<template>.txt` and `<template>.html` and send them through the configured SMTP."""
    context = {"base_url": settings.PMHUB_BASE_URL, **context}
    # A header may not span lines; names inside a subject must not break the mail.
    subject = " ".join(subject.splitlines())
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()
