"""The model clients: botocore makes one attempt, and a call's read timeout ends before the deadline."""

from __future__ import annotations

import pytest

from tryon_api.backends.aws_clients import READ_TIMEOUT_LADDER, bound_to_deadline, create_model_client, read_timeout_for
from tryon_api.settings import Settings
from tryon_api.tryon.deadline import Deadline


@pytest.mark.parametrize("remaining", [0.6, 0.99, 1.0, 2.5, 7.3, 44.0, 84.9, 85.0, 178.5, None])
def test_the_read_timeout_is_the_configured_one_or_shorter_and_never_past_the_deadline(
    remaining: float | None,
) -> None:
    timeout = read_timeout_for(85.0, remaining)
    assert timeout <= 85.0
    if remaining is None or remaining >= 85.0:
        assert timeout == 85.0
    else:
        assert timeout <= remaining
        assert timeout in READ_TIMEOUT_LADDER
        # The longest step that fits: the next longer one would run past the deadline.
        longer = [step for step in READ_TIMEOUT_LADDER if step > timeout]
        assert not longer or min(longer) > remaining


def test_calls_inside_a_deadline_go_to_a_client_whose_botocore_timeout_fits() -> None:
    settings = Settings(backend="bedrock", model_region="us-east-1", model_read_timeout_seconds=85.0)
    client = create_model_client("bedrock-runtime", settings)
    assert client.meta.config.read_timeout == 85.0
    assert client.meta.config.retries["total_max_attempts"] == 1  # our retry layer is the only one
    with bound_to_deadline(Deadline.after(7.3)):
        near = client.meta.config
        assert near.read_timeout == 5.0
        assert near.retries["total_max_attempts"] == 1
        assert near.connect_timeout == settings.model_connect_timeout_seconds
    with bound_to_deadline(Deadline.after(170.0)):
        assert client.meta.config.read_timeout == 85.0
    assert client.meta.region_name == "us-east-1"
