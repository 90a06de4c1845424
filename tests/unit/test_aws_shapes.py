"""The emulators' answer check (tryon_dev.aws_shapes) against botocore's own service models."""

from __future__ import annotations

import pytest

from tryon_dev.aws_shapes import ShapeMismatch, check_output, http_route

READY = {
    "modelId": "stability.stable-image-inpaint-v1:0",
    "agreementAvailability": {"status": "AVAILABLE"},
    "authorizationStatus": "AUTHORIZED",
    "entitlementAvailability": "AVAILABLE",
    "regionAvailability": "AVAILABLE",
}


def test_an_answer_botocore_parses_passes() -> None:
    assert check_output("bedrock", "GetFoundationModelAvailability", READY) is READY


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({**READY, "regionAvailability": "YES"}, "is not one of"),  # not in the model's enum
        ({k: v for k, v in READY.items() if k != "entitlementAvailability"}, "required members"),
        ({**READY, "agreementAvailability": {"status": "AVAILABLE", "reason": "x"}}, "not in AgreementAvailability"),
        ({**READY, "agreementAvailability": "AVAILABLE"}, "expected an object"),
        ({**READY, "modelId": 7}, "expected string"),
    ],
)
def test_an_answer_off_the_model_is_refused(answer: dict[str, object], complaint: str) -> None:
    with pytest.raises(ShapeMismatch, match=complaint):
        check_output("bedrock", "GetFoundationModelAvailability", answer)


def test_lists_and_numbers_are_checked_inside() -> None:
    offers = {"modelId": "m.x", "offers": [{"offerToken": "t"}]}  # termDetails is required
    with pytest.raises(ShapeMismatch, match="termDetails"):
        check_output("bedrock", "ListFoundationModelAgreementOffers", offers)
    with pytest.raises(ShapeMismatch, match="expected integer"):
        check_output("lambda", "GetFunctionConfiguration", {"Timeout": "180"})
    assert check_output("lambda", "GetFunctionConfiguration", {"Timeout": 900})["Timeout"] == 900


def test_routes_come_from_the_model() -> None:
    assert http_route("bedrock", "GetFoundationModelAvailability") == (
        "GET",
        "/foundation-model-availability/{modelId}",
        200,
    )
    assert http_route("bedrock", "CreateFoundationModelAgreement") == (
        "POST",
        "/create-foundation-model-agreement",
        202,
    )
