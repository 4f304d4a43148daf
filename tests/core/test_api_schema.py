"""/api/schema/ is generated once per process: open to anyone, it must not cost a second of CPU
per request."""

from __future__ import annotations

import json

import pytest
from drf_spectacular.generators import SchemaGenerator

from pmhub.core.api_schema import SchemaView


@pytest.fixture
def generations(monkeypatch):
    """How many times a schema is generated, counted around the real generator."""
    calls = []
    generate = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        calls.append(1)
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    monkeypatch.setattr(SchemaView, "_documents", {})
    return calls


@pytest.mark.django_db
def test_the_schema_is_generated_once_and_served_alike(client, generations):
    first = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    second = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    as_yaml = client.get("/api/schema/")

    assert first.status_code == second.status_code == as_yaml.status_code == 200
    assert len(generations) == 1
    assert first.content == second.content
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert b"openapi: 3" in as_yaml.content
    # The cached document is the one a fresh generation gives.
    fresh = SchemaGenerator().get_schema(request=None, public=True)
    assert json.loads(first.content)["paths"].keys() == fresh["paths"].keys()
