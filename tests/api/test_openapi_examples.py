"""Every operation of the OpenAPI document is documented with examples.

The checks walk the whole document, so an endpoint added later without examples fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from hub.api.app import create_app
from hub.config.hub import HubSettings
from hub.runtime import HubRuntime

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir: Path = tmp_path_factory.mktemp("openapi")
    return create_app(HubRuntime(HubSettings(data_dir=data_dir)), manage_runtime=False)


@pytest.fixture(scope="module")
def document(app: FastAPI) -> Doc:
    return app.openapi()


def _operations(document: Doc) -> list[tuple[str, Doc]]:
    return [
        (f"{method.upper()} {path}", item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def _resolve(document: Doc, node: Doc) -> Doc:
    """``node`` with its ``$ref`` (to ``#/components/...``) followed, again and again."""
    seen: set[str] = set()
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/components/"), f"unexpected $ref {ref}"
        assert ref not in seen, f"$ref loop at {ref}"
        seen.add(ref)
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _has_own_example(node: Doc) -> bool:
    return bool(node.get("examples")) or "example" in node


def _schema_has_example(document: Doc, schema: Doc | None, depth: int = 0) -> bool:
    """Examples on the schema, its $ref, an array's items or a ``Page``'s ``items`` element schema."""
    if schema is None or depth > 8:
        return False
    if _has_own_example(schema):
        return True
    resolved = _resolve(document, schema)
    if _has_own_example(resolved):
        return True
    if resolved.get("type") == "array" and "items" in resolved:
        return _schema_has_example(document, resolved["items"], depth + 1)
    page_items = resolved.get("properties", {}).get("items")
    if page_items is not None and {"total", "limit", "offset"} <= set(resolved.get("properties", {})):
        return _schema_has_example(document, page_items, depth + 1)
    for combinator in ("allOf", "anyOf", "oneOf"):
        options = [o for o in resolved.get(combinator, []) if _resolve(document, o).get("type") != "null"]
        if options and all(_schema_has_example(document, o, depth + 1) for o in options):
            return True
    return False


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _media_has_example(document: Doc, media_type: str, media: Doc) -> bool:
    if _has_own_example(media) or _schema_has_example(document, media.get("schema")):
        return True
    if _is_json(media_type):
        return False
    schema = _resolve(document, media.get("schema", {}))
    return bool(schema.get("description"))  # binary or text: described is enough


def _parameter_has_example(document: Doc, parameter: Doc) -> bool:
    parameter = _resolve(document, parameter)
    return _has_own_example(parameter) or _schema_has_example(document, parameter.get("schema"))


def _error_has_example(document: Doc, response: Doc) -> bool:
    response = _resolve(document, response)
    return any(
        _media_has_example(document, media_type, media)
        for media_type, media in response.get("content", {}).items()
    )


def test_the_document_has_operations(document: Doc) -> None:
    assert len(_operations(document)) >= 30


@pytest.mark.parametrize("check", ["summary", "tags"])
def test_every_operation_has_a_summary_and_tags(document: Doc, check: str) -> None:
    missing = [name for name, operation in _operations(document) if not operation.get(check)]
    assert not missing, f"operations without {check}: {missing}"


def test_every_summary_is_written_not_made_from_the_function_name(app: FastAPI) -> None:
    missing = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema and not route.summary
    ]
    assert not missing, f"routes without an explicit summary: {missing}"


def test_every_json_request_body_has_an_example(document: Doc) -> None:
    missing = []
    for name, operation in _operations(document):
        if "requestBody" not in operation:
            continue
        body = _resolve(document, operation["requestBody"])
        for media_type, media in body.get("content", {}).items():
            if not _media_has_example(document, media_type, media):
                missing.append(f"{name} ({media_type})")
    assert not missing, f"request bodies without an example: {missing}"


def test_every_successful_response_with_content_has_an_example(document: Doc) -> None:
    missing = []
    for name, operation in _operations(document):
        for status, response in operation.get("responses", {}).items():
            if not str(status).startswith("2"):
                continue
            for media_type, media in _resolve(document, response).get("content", {}).items():
                if not _media_has_example(document, media_type, media):
                    missing.append(f"{name} {status} ({media_type})")
    assert not missing, f"responses without an example: {missing}"


def test_every_operation_without_a_body_in_its_answer_has_an_example_elsewhere(document: Doc) -> None:
    missing = []
    for name, operation in _operations(document):
        responses = operation.get("responses", {})
        if "204" not in responses:
            continue
        parameters = operation.get("parameters", [])
        errors = [r for status, r in responses.items() if str(status)[0] in "45"]
        if not any(_parameter_has_example(document, p) for p in parameters) and not any(
            _error_has_example(document, r) for r in errors
        ):
            missing.append(name)
    assert not missing, f"204 operations with no parameter or error example: {missing}"


def test_resolving_follows_component_refs(document: Doc) -> None:
    page = document["components"]["schemas"]["Page_EventOut_"]
    assert _schema_has_example(document, page)
    assert not _schema_has_example(document, {"type": "object"})
