"""Fixtures shared by the roadmap tests."""

from __future__ import annotations
