"""A function-URL resolver whose current event belongs to the resolver, not to the process.

Powertools keeps the event being resolved (and the Lambda context) on the ``BaseRouter``
class, shared by every resolver in the process. Lambda runs one request per container, but the
dev server answers requests in threads: with the class attribute, a request could be routed,
parsed and timed with another thread's event (a valid request answered with another caller's
400, or generated from another caller's selfie). Each thread has its own resolver
(``tryon_api.http.app``), and here the event and context live on that instance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent
from aws_lambda_powertools.utilities.typing import LambdaContext


class ThreadSafeFunctionUrlResolver(LambdaFunctionUrlResolver):
    _own_event: LambdaFunctionUrlEvent | None = None
    _own_context: LambdaContext | None = None

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        self._own_event = LambdaFunctionUrlEvent(dict(event))
        self._own_context = context
        try:
            return super().resolve(event, context)
        finally:
            self._own_event = None
            self._own_context = None

    @property  # type: ignore[override]
    def current_event(self) -> LambdaFunctionUrlEvent:
        if self._own_event is None:
            raise RuntimeError("no event is being resolved")
        return self._own_event

    @current_event.setter
    def current_event(self, value: LambdaFunctionUrlEvent) -> None:
        self._own_event = value

    @property
    def lambda_context(self) -> LambdaContext:
        return self._own_context  # type: ignore[return-value]

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        self._own_context = value


ResolverGetter = Callable[[], ThreadSafeFunctionUrlResolver]


def per_thread_resolver(build: ResolverGetter) -> ResolverGetter:
    """A getter of this thread's resolver, built on the thread's first request."""
    local = threading.local()

    def get() -> ThreadSafeFunctionUrlResolver:
        app = getattr(local, "app", None)
        if app is None:
            app = local.app = build()
        return app

    return get
