"""The capacity plan (make model-plan): each family's published architecture on the meta device, its
counts, and the model stack's parameters and Rules derived from it."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from typing import Any

import pytest

from capacity_plan import plan
from capacity_plan.plan import (
    ComponentSizes,
    InstanceEstimate,
    cheapest_realtime,
    component_sizes,
    estimate,
    load_architecture,
    load_instances,
    realtime_estimate,
    request_flops,
)
from tests.conftest import KLEIN, QWEN
from tryon_model_server.families import FAMILY_NAMES, get_family
from tryon_model_server.families.qwen_image_edit import denoise_flops
from tryon_model_server.planning import RequestFlops, RequestShape, TextTokens, parameter_count

REPOSITORY = Path(__file__).resolve().parents[2]
MODEL_TEMPLATE = REPOSITORY / "model_server" / "template.yaml"
GB = 1e9
QWEN_LORA_SHAPE = get_family(QWEN).realtime_shape(True)


def cfn_template_module() -> Any:
    """The repository's CloudFormation YAML loader (tests/cfn_template.py), loaded by path."""
    spec = importlib.util.spec_from_file_location("cfn_template", REPOSITORY / "tests" / "cfn_template.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_qwens_published_configurations_build_the_published_sizes() -> None:
    sizes = component_sizes(QWEN)
    # The card: a 20 B MMDiT; Qwen2.5-VL-7B with its vision tower: about 8.3 B; the VAE: about 0.13 B.
    assert 19.5e9 <= sizes.parameters["transformer"] <= 21.0e9
    assert 8.0e9 <= sizes.parameters["text_encoder"] <= 8.6e9
    assert 0.10e9 <= sizes.parameters["vae"] <= 0.16e9
    for name, count in sizes.parameters.items():
        assert sizes.bytes_bf16[name] == 2 * count
    # fp8 stores the transformer's linear weights in one byte: close to half, never less.
    ratio = sizes.bytes_fp8["transformer"] / sizes.bytes_bf16["transformer"]
    assert 0.5 <= ratio < 0.52
    assert sizes.gpu_bytes("fp8") < sizes.gpu_bytes("bf16")
    assert sizes.host_peak_bytes() == sizes.bytes_bf16["transformer"]


def test_kleins_published_configurations_build_a_4b_model_that_fits_24_gb() -> None:
    sizes = component_sizes(KLEIN)
    # The card: a 4 B transformer; Qwen3-4B: about 4.0 B with tied embeddings; the FLUX.2 VAE: 84 M.
    assert 3.8e9 <= sizes.parameters["transformer"] <= 4.0e9
    assert 3.9e9 <= sizes.parameters["text_encoder"] <= 4.1e9
    assert 0.07e9 <= sizes.parameters["vae"] <= 0.10e9
    assert 15.5 * GB < sizes.gpu_bytes("bf16") < 16.5 * GB, "16 GB of bf16 weights, not the quoted 13"
    assert sizes.host_peak_bytes() == sizes.bytes_bf16["text_encoder"]
    # 1 MP out with a 1 MP person and a 1 MP garment: 4096 tokens each in every pass.
    (flops,) = [request_flops(KLEIN, shape) for shape in get_family(KLEIN).request_shapes()[:1]]
    assert flops.image_tokens == 3 * 4096
    assert flops.shape.transformer_passes == 4, "step-distilled: 4 passes, no guidance"
    assert 500e12 < flops.total < 580e12
    qwen = request_flops(QWEN, QWEN_LORA_SHAPE)
    assert qwen.total > 2 * flops.total


def test_the_garment_references_size_is_a_knob_the_plan_prices_in_tokens() -> None:
    rows = {shape.garment_pixels: request_flops(KLEIN, shape) for shape in get_family(KLEIN).request_shapes()[:3]}
    assert sorted(rows) == [256 * 1024, 512 * 1024, 1024 * 1024]
    assert [rows[pixels].image_tokens - 2 * 4096 for pixels in sorted(rows)] == [32 * 32, 45 * 45, 64 * 64]
    assert rows[256 * 1024].transformer < rows[512 * 1024].transformer < rows[1024 * 1024].transformer


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_number_in_the_architecture_file_says_where_it_comes_from(family: str) -> None:
    architecture = load_architecture(family)
    repositories = {QWEN: "Qwen/Qwen-Image-Edit-2511/", KLEIN: "black-forest-labs/FLUX.2-klein-4B/"}
    for name in ("transformer", "text_encoder", "vae"):
        component = architecture[name]
        assert component["hf_file"].startswith(repositories[family])
        assert component["sources"] and "config" in component
        assert component["class"].rsplit(".", 1)[1] == type(getattr(plan.published_components(family), name)).__name__


def test_every_instance_and_gpu_says_where_its_numbers_come_from() -> None:
    catalogue = load_instances()
    unchecked = ("unverified", "not checked against AWS", "NOT a quoted price", "no price found")
    for instance in catalogue["instances"].values():
        assert instance["gpu"] in catalogue["gpus"]
        assert any(words in instance["price_source"] for words in unchecked), "no price here was checked against AWS"
    for gpu in catalogue["gpus"].values():
        assert "datasheet" in gpu["source"]
    assert catalogue["gpus"]["L4"]["memory_gb"] == catalogue["gpus"]["A10G"]["memory_gb"] == 24
    assert {"ml.g6.xlarge", "ml.g5.xlarge"} <= set(catalogue["instances"])


def catalogue(memory_gb: float, host_gib: float) -> dict[str, Any]:
    return {
        "utilisation": {"fraction_of_dense_peak": 0.5, "source": "test"},
        "gpus": {"G": {"memory_gb": memory_gb, "bf16_dense_tflops": 100, "fp8_dense_tflops": 200, "source": "t"}},
        "instances": {"i": {"gpu": "G", "gpus": 1, "host_memory_gib": host_gib, "usd_per_hour": 3.6}},
    }


def test_fits_and_time_follow_memory_peaks_and_utilisation() -> None:
    sizes = ComponentSizes(
        parameters={"transformer": 10, "text_encoder": 5, "vae": 1},
        bytes_bf16={"transformer": int(40 * GB), "text_encoder": int(16 * GB), "vae": int(1 * GB)},
        bytes_fp8={"transformer": int(20 * GB), "text_encoder": int(8 * GB), "vae": int(1 * GB)},
    )
    flops = RequestFlops(QWEN_LORA_SHAPE, transformer=int(100e12), text_encoder=int(50e12), vae=int(50e12))
    reserve = plan.ACTIVATION_RESERVE_GB
    # bf16 needs 57 GB + reserve, fp8 37 GB + reserve (the text encoder stays bf16).
    exactly_fp8 = estimate("i", flops, sizes, catalogue(37 + reserve, 64))
    assert exactly_fp8.fits_gpu_fp8 and not exactly_fp8.fits_gpu_bf16
    too_small = estimate("i", flops, sizes, catalogue(37 + reserve - 0.01, 64))
    assert not too_small.fits_gpu_fp8 and not too_small.answers_in_realtime
    roomy = estimate("i", flops, sizes, catalogue(57 + reserve, 64))
    assert roomy.fits_gpu_bf16 and roomy.fits_gpu_fp8
    # The host holds the largest component (40 GB = 37.25 GiB) plus the reserve.
    host_needed = 40 * GB / 2**30 + plan.HOST_RESERVE_GIB
    assert estimate("i", flops, sizes, catalogue(80, host_needed)).fits_host
    assert not estimate("i", flops, sizes, catalogue(80, host_needed - 0.01)).fits_host
    # 200 TFLOP at 100 TFLOPS: 2 s at peak, 4 s at 50 %; fp8 halves the transformer's part only.
    assert roomy.seconds_at_bf16_peak == pytest.approx(2.0)
    assert roomy.seconds_at_utilisation == pytest.approx(4.0)
    assert roomy.seconds_at_fp8_peak == pytest.approx(1.5)
    assert roomy.usd_per_image == pytest.approx(3.6 * 4.0 / 3600)


@pytest.fixture(scope="module")
def short_transformer() -> Any:
    """Qwen's published width with two blocks: every step's shapes are the real ones, counted fast."""
    return get_family(QWEN).meta_components(load_architecture(QWEN), transformer_blocks=2).transformer


def test_flops_grow_linearly_with_the_steps_counted_one_by_one(short_transformer: Any) -> None:
    prompt, negative = TextTokens(encoder=400, transformer=336), TextTokens(encoder=120, transformer=56)
    base = RequestShape("t", 1, False, 512 * 512, True)
    one = denoise_flops(short_transformer, base, prompt, negative, steps_counted=1)
    for steps in (2, 3):
        shape = RequestShape("t", steps, False, 512 * 512, True)
        counted = denoise_flops(short_transformer, shape, prompt, negative, steps_counted=steps)
        assert counted == steps * one
        assert denoise_flops(short_transformer, shape, prompt, negative) == counted  # the plan's extrapolation


def test_true_cfg_doubles_the_passes(short_transformer: Any) -> None:
    same = TextTokens(encoder=300, transformer=236)
    without = RequestShape("t", 2, False, 512 * 512, False)
    with_cfg = RequestShape("t", 2, True, 512 * 512, False)
    single = denoise_flops(short_transformer, without, same, same, steps_counted=2)
    double = denoise_flops(short_transformer, with_cfg, same, same, steps_counted=2)
    assert double == 2 * single


def test_a_garment_photo_and_a_larger_output_cost_more_tokens(short_transformer: Any) -> None:
    prompt = TextTokens(encoder=300, transformer=236)
    small = denoise_flops(short_transformer, RequestShape("t", 1, False, 512 * 512, False), prompt, prompt)
    garment = denoise_flops(short_transformer, RequestShape("t", 1, False, 512 * 512, True), prompt, prompt)
    larger = denoise_flops(short_transformer, RequestShape("t", 1, False, 1024 * 1024, False), prompt, prompt)
    assert garment > small and larger > small
    assert parameter_count(short_transformer) < 2e9


# ------------------------------------------------------------------ the template's Rules, from the plan


def evaluate(node: Any, parameters: dict[str, str]) -> Any:
    """The rule functions CloudFormation evaluates in Rules (Ref, Equals, Not, And, Or, Contains)."""
    if isinstance(node, list):
        return [evaluate(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    ((function, argument),) = node.items()
    if function == "Ref":
        return parameters[argument]
    values = evaluate(argument, parameters)
    if function == "Fn::Equals":
        return values[0] == values[1]
    if function == "Fn::Not":
        return not values[0]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    if function == "Fn::Contains":
        return values[1] in values[0]
    raise AssertionError(f"a rule function this check does not know: {function}")


def accepted(template: dict[str, Any], parameters: dict[str, str]) -> bool:
    for rule in template["Rules"].values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], parameters):
            continue
        if not all(evaluate(assertion["Assert"], parameters) for assertion in rule["Assertions"]):
            return False
    return True


def test_the_template_refuses_exactly_what_the_plan_says_cannot_answer() -> None:
    """Every combination of family, instance type, quantization, LoRA and async: CloudFormation's
    Rules accept it exactly when the plan says it fits the GPU and the host and, for a real-time
    endpoint, answers the worst request (1 MP with a garment photo) within SageMaker's 60 s."""
    template = cfn_template_module().load_template(MODEL_TEMPLATE)
    parameters = template["Parameters"]
    assert set(parameters["ModelFamily"]["AllowedValues"]) == set(FAMILY_NAMES)
    instance_types = parameters["InstanceType"]["AllowedValues"]
    assert set(instance_types) <= set(load_instances()["instances"]), "every allowed type is in the plan"
    lora_path = parameters["FewStepLoraPath"]["Default"]
    assert lora_path, "a Qwen deployment uses the few-step LoRA unless told otherwise"
    checked, outcomes = 0, set()
    for family, instance, quantization, lora, asynchronous in itertools.product(
        FAMILY_NAMES, instance_types, parameters["Quantization"]["AllowedValues"], (True, False), (True, False)
    ):
        adapter = get_family(family)
        row = realtime_estimate(family, instance, with_lora=lora and adapter.accepts_lora)
        precision = "fp8" if quantization == "fp8" else "bf16"
        expected = row.fits(precision) and (
            asynchronous or row.seconds_at_utilisation <= plan.REALTIME_MODEL_BUDGET_SECONDS
        )
        given = {
            "ModelFamily": family,
            "InstanceType": instance,
            "Quantization": quantization,
            "FewStepLoraPath": lora_path if lora else "",
            "AsyncS3Uri": "s3://tryon-async-bucket/tryon/" if asynchronous else "",
        }
        assert accepted(template, given) == expected, given
        checked += 1
        outcomes.add((family, expected))
    assert checked == len(FAMILY_NAMES) * len(instance_types) * 2 * 2 * 2
    assert outcomes == {(QWEN, True), (QWEN, False), (KLEIN, True)}, "Qwen is refused somewhere, klein nowhere"


def test_only_klein_fits_the_24_gb_instances() -> None:
    for instance in ("ml.g6.xlarge", "ml.g5.xlarge"):
        assert realtime_estimate(KLEIN, instance).answers_in_realtime_with("bf16")
        qwen: InstanceEstimate = realtime_estimate(QWEN, instance)
        assert not qwen.fits("fp8") and not qwen.fits("bf16")


def test_the_stacks_default_is_the_cheapest_family_and_instance_that_answers_in_time() -> None:
    template = cfn_template_module().load_template(MODEL_TEMPLATE)
    parameters = template["Parameters"]
    best = cheapest_realtime(parameters["InstanceType"]["AllowedValues"])
    defaults = {name: str(parameters[name]["Default"]) for name in ("ModelFamily", "InstanceType", "Quantization")}
    assert (defaults["ModelFamily"], defaults["InstanceType"]) == (best.family, best.instance)
    assert defaults["Quantization"] == {"bf16": "none", "fp8": "fp8"}[best.precision]
    assert best.estimate.answers_in_realtime_with(best.precision)
    assert parameters["AsyncS3Uri"]["Default"] == ""
    # The stack tells the server which family it staged, and the server refuses a mismatch at start.
    environment = template["Resources"]["Model"]["Properties"]["PrimaryContainer"]["Environment"]
    assert environment["TRYON_MODEL_FAMILY"] == {"Ref": "ModelFamily"}
    assert template["Resources"]["Model"]["Properties"]["EnableNetworkIsolation"] is True
