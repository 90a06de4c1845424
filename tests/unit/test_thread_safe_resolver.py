"""Two requests resolved at the same time in two threads each see their own event."""

from __future__ import annotations

import json
import threading
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from tryon_api.http.thread_safe_resolver import ThreadSafeFunctionUrlResolver
from tryon_dev.events import function_url_event
from tryon_dev.lambda_context import new_context


def test_concurrent_requests_are_routed_and_read_with_their_own_event() -> None:
    first_inside = threading.Event()
    second_done = threading.Event()
    results: dict[str, dict[str, Any]] = {}

    def make_app() -> ThreadSafeFunctionUrlResolver:
        app = ThreadSafeFunctionUrlResolver()

        @app.post("/echo")
        def echo() -> Response[dict[str, Any]]:
            body = app.current_event.body
            if body == "first":  # hold the first request until the second has been resolved
                first_inside.set()
                assert second_done.wait(10)
            payload = {"body": app.current_event.body, "request": app.lambda_context.aws_request_id}
            return Response(200, content_types.APPLICATION_JSON, json.dumps(payload))

        @app.get("/other")
        def other() -> Response[dict[str, Any]]:
            return Response(200, content_types.APPLICATION_JSON, json.dumps({"body": "other"}))

        return app

    def run(name: str, method: str, path: str) -> None:
        context = new_context(10)
        event = function_url_event(method, path, {"content-type": "text/plain"}, name.encode())
        response = make_app().resolve(event, context)
        results[name] = {**json.loads(response["body"]), "expected_request": context.aws_request_id}

    first = threading.Thread(target=run, args=("first", "POST", "/echo"))
    first.start()
    assert first_inside.wait(10)
    run("second", "GET", "/other")  # resolved while the first is inside its route
    second_done.set()
    first.join(10)

    assert results["second"]["body"] == "other"
    assert results["first"]["body"] == "first"
    assert results["first"]["request"] == results["first"]["expected_request"]
