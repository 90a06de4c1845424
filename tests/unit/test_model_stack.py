"""The model endpoint's stack (model_server/template.yaml) read beside the API's (template.yaml).

Asynchronous requests cross both stacks: the API's role writes bodies that SageMaker reads with
the endpoint's role, and the endpoint's role writes answers that the API's role reads. Both are
derived here from the templates themselves, for the same S3 URI, so the two cannot drift apart.
Scaling is checked against SageMaker's documented metrics and CloudWatch's alarm semantics.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import botocore.validate
import pytest

from tests.cfn_template import load_template, resolve
from tryon_api.backends.factory import create_backend
from tryon_api.settings import Settings

MODEL_TEMPLATE = Path(__file__).resolve().parents[2] / "model_server" / "template.yaml"
ASYNC_URIS = ("s3://tryon-async-bucket/tryon/", "s3://tryon-async-bucket/a/b/", "s3://tryon-async-bucket/")

# SageMaker's documented async endpoint metrics ("Monitor asynchronous endpoints", SageMaker
# developer guide): namespace AWS/SageMaker, dimension EndpointName; HasBacklogWithoutCapacity is 1
# while requests are queued and the endpoint has no instance, else 0.
ASYNC_METRICS = {
    "ApproximateBacklogSize": {"EndpointName"},
    "ApproximateBacklogSizePerInstance": {"EndpointName"},
    "ApproximateAgeOfOldestRequest": {"EndpointName"},
    "HasBacklogWithoutCapacity": {"EndpointName"},
}
# Application Auto Scaling's predefined metric for SageMaker variants (PredefinedMetricType values).
SAGEMAKER_PREDEFINED_METRICS = {
    "SageMakerVariantInvocationsPerInstance",
    "SageMakerVariantProvisionedConcurrencyUtilization",
}


@pytest.fixture(scope="module")
def api() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    """The model stack with its two required parameters given (the weights in another bucket)."""
    return with_parameters(
        load_template(MODEL_TEMPLATE),
        ModelDataS3Uri="s3://weights-bucket/tryon-model/qwen-image-edit-2511/",
        ImageUri="123456789012.dkr.ecr.us-east-1.amazonaws.com/tryon-model-server:1",
    )


def with_parameters(template: dict[str, Any], **values: Any) -> dict[str, Any]:
    configured = copy.deepcopy(template)
    for name, value in values.items():
        configured["Parameters"][name]["Default"] = value
    return configured


def is_async(template: dict[str, Any]) -> bool:
    return bool(template["Parameters"]["AsyncS3Uri"]["Default"])


def chosen(value: Any, template: dict[str, Any]) -> Any:
    """Fn::If on the model stack's two conditions, as CloudFormation picks them."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        truth = {"IsAsync": is_async(template), "IsRealTime": not is_async(template)}[condition]
        return chosen(when_true if truth else when_false, template)
    return value


def statements(policy_document: dict[str, Any], template: dict[str, Any]) -> list[dict[str, Any]]:
    picked = [chosen(statement, template) for statement in policy_document["Statement"]]
    return [statement for statement in picked if statement != {"Ref": "AWS::NoValue"}]


def resources_for(action: str, found: list[dict[str, Any]], template: dict[str, Any]) -> set[str]:
    granted = set()
    for statement in found:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if action in actions:
            assert statement["Effect"] == "Allow"
            granted.add(resolve(statement["Resource"], template))
    return granted


def endpoint_role_statements(model: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = model["Resources"]["ExecutionRole"]["Properties"]["Policies"]
    return statements(policy["PolicyDocument"], model)


def api_async_statements(api: dict[str, Any]) -> list[dict[str, Any]]:
    for policy in api["Resources"]["TryOnFunctionRole"]["Properties"]["Policies"]:
        if isinstance(policy, dict) and "Fn::If" in policy and policy["Fn::If"][0] == "UseSageMakerAsync":
            return list(policy["Fn::If"][1]["PolicyDocument"]["Statement"])
    raise AssertionError("the API role has no async policy")


@pytest.mark.parametrize("uri", ASYNC_URIS)
def test_the_endpoint_reads_what_the_api_writes_and_writes_what_it_reads(
    api: dict[str, Any], model: dict[str, Any], uri: str
) -> None:
    api_stack = with_parameters(api, SageMakerAsyncS3Uri=uri, Backend="sagemaker")
    model_stack = with_parameters(model, AsyncS3Uri=uri)
    api_writes = resources_for("s3:PutObject", api_async_statements(api_stack), api_stack)
    api_reads = resources_for("s3:GetObject", api_async_statements(api_stack), api_stack)
    role = endpoint_role_statements(model_stack)
    endpoint_reads = resources_for("s3:GetObject", role, model_stack) - {
        resolve(s["Resource"], model_stack) for s in role if s.get("Sid") == "ReadModelWeights"
    }
    endpoint_writes = resources_for("s3:PutObject", role, model_stack)
    assert api_writes and api_reads
    assert endpoint_reads == api_writes  # exactly the prefix the API writes to, nothing more
    assert endpoint_writes == api_reads
    assert api_writes.isdisjoint(api_reads)  # a request body can never be taken for an answer

    # The code writes where the role allows, and SageMaker writes answers and failures where the API reads.
    settings = Settings(backend="sagemaker", sagemaker_endpoint_name="tryon-model-dev", sagemaker_async_s3_uri=uri)
    runtime = boto3.client(
        "sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    backend: Any = create_backend(settings, model_client=runtime)
    written = f"arn:aws:s3:::{backend.async_input.bucket}/{backend.async_input.key}x.json"
    assert any(re.fullmatch(re.escape(allowed).replace(r"\*", ".*"), written) for allowed in api_writes)
    config = model_stack["Resources"]["EndpointConfig"]["Properties"]["AsyncInferenceConfig"]
    output = chosen(config, model_stack)["OutputConfig"]
    for location in (output["S3OutputPath"], output["S3FailurePath"]):
        arn = "arn:aws:s3:::" + resolve(location, model_stack).removeprefix("s3://") + "answer.out"
        assert any(re.fullmatch(re.escape(allowed).replace(r"\*", ".*"), arn) for allowed in api_reads)


def test_a_real_time_endpoint_role_has_no_async_access(model: dict[str, Any]) -> None:
    role = endpoint_role_statements(model)
    assert not resources_for("s3:PutObject", role, model)
    assert chosen(model["Resources"]["EndpointConfig"]["Properties"]["AsyncInferenceConfig"], model) == {
        "Ref": "AWS::NoValue"
    }


def test_both_stacks_accept_the_same_async_uris(api: dict[str, Any], model: dict[str, Any]) -> None:
    assert (
        model["Parameters"]["AsyncS3Uri"]["AllowedPattern"]
        == api["Parameters"]["SageMakerAsyncS3Uri"]["AllowedPattern"]
    )


# ------------------------------------------------------------------ scaling


def scaling(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in model["Resources"].items()
        if resource["Type"].startswith("AWS::ApplicationAutoScaling::") or resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_the_scalable_target_is_the_endpoint_variant(model: dict[str, Any]) -> None:
    target = model["Resources"]["ScalableTarget"]["Properties"]
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    variant = model["Resources"]["EndpointConfig"]["Properties"]["ProductionVariants"][0]["VariantName"]
    assert target["ResourceId"] == {"Fn::Sub": f"endpoint/${{Endpoint.EndpointName}}/variant/{variant}"}
    for uri, minimum in (("", 1), ("s3://tryon-async-bucket/tryon/", 0)):
        stack = with_parameters(model, AsyncS3Uri=uri)
        assert int(resolve(chosen(target["MinCapacity"], stack), stack)) == minimum
    # A real-time endpoint cannot go to zero: its minimum is InstanceCount, which is at least 1.
    assert model["Parameters"]["InstanceCount"]["MinValue"] >= 1
    assert target["MaxCapacity"] == {"Ref": "MaxInstanceCount"}


def test_real_time_tracks_invocations_per_instance(model: dict[str, Any]) -> None:
    policy = model["Resources"]["InvocationsScaling"]
    assert policy["Condition"] == "IsRealTime"
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    metric = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
    assert metric in SAGEMAKER_PREDEFINED_METRICS and metric == "SageMakerVariantInvocationsPerInstance"
    assert policy["Properties"]["ScalingTargetId"] == {"Ref": "ScalableTarget"}


def endpoint_dimension(dimensions: list[dict[str, Any]]) -> set[str]:
    for dimension in dimensions:
        assert dimension["Value"] == {"Fn::GetAtt": ["Endpoint", "EndpointName"]}
    return {dimension["Name"] for dimension in dimensions}


def test_async_tracks_the_documented_backlog_metric(model: dict[str, Any]) -> None:
    policy = model["Resources"]["BacklogScaling"]
    assert policy["Condition"] == "IsAsync"
    metric = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    assert metric["Namespace"] == "AWS/SageMaker"
    assert metric["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert endpoint_dimension(metric["Dimensions"]) == ASYNC_METRICS[metric["MetricName"]]
    assert metric["Statistic"] == "Average"


def alarm_state(alarm: dict[str, Any], minute_values: list[list[float]]) -> str:
    """CloudWatch's evaluation of the last EvaluationPeriods periods (one list of samples a period)."""
    statistics: dict[str, Callable[[list[float]], float]] = {
        "Maximum": max,
        "Minimum": min,
        "Average": lambda v: sum(v) / len(v),
        "Sum": sum,
    }
    statistic = statistics[alarm["Statistic"]]
    comparisons: dict[str, Callable[[float, float], bool]] = {
        "GreaterThanOrEqualToThreshold": lambda x, t: x >= t,
        "GreaterThanThreshold": lambda x, t: x > t,
        "LessThanThreshold": lambda x, t: x < t,
        "LessThanOrEqualToThreshold": lambda x, t: x <= t,
    }
    compare = comparisons[alarm["ComparisonOperator"]]
    recent = minute_values[-alarm["EvaluationPeriods"] :]
    breaching = [
        compare(statistic(samples), alarm["Threshold"])
        if samples
        else alarm.get("TreatMissingData", "missing") == "breaching"
        for samples in recent
    ]
    return "ALARM" if sum(breaching) >= alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"]) else "OK"


def test_the_wake_from_zero_alarm_fires_on_a_backlog_and_starts_an_instance(model: dict[str, Any]) -> None:
    alarm = model["Resources"]["BacklogWithoutCapacityAlarm"]
    assert alarm["Condition"] == "IsAsync"
    properties = alarm["Properties"]
    assert properties["Namespace"] == "AWS/SageMaker"
    assert properties["MetricName"] == "HasBacklogWithoutCapacity"
    assert endpoint_dimension(properties["Dimensions"]) == ASYNC_METRICS["HasBacklogWithoutCapacity"]
    assert properties["Period"] in (10, 30) or properties["Period"] % 60 == 0
    # The metric is 0 or 1: one queued request with no instance within a minute must fire, and
    # no backlog (0s, or no data once the endpoint is deleted or idle) must not.
    assert alarm_state(properties, [[0, 0, 1, 0]]) == "ALARM"
    assert alarm_state(properties, [[1, 1, 1]]) == "ALARM"
    assert alarm_state(properties, [[0, 0, 0]]) == "OK"
    assert alarm_state(properties, [[]]) == "OK"
    # Its action is the step policy, whose adjustment covers the breach (metric - threshold >= 0).
    (action,) = properties["AlarmActions"]
    assert action == {"Ref": "WakeFromZeroScaling"}
    step = model["Resources"]["WakeFromZeroScaling"]
    assert step["Condition"] == "IsAsync"
    config = step["Properties"]["StepScalingPolicyConfiguration"]
    assert step["Properties"]["PolicyType"] == "StepScaling"
    assert config["AdjustmentType"] == "ChangeInCapacity"
    breach = 1 - properties["Threshold"]  # the metric's only breaching value, relative to the threshold
    (covering,) = [
        adjustment
        for adjustment in config["StepAdjustments"]
        if adjustment.get("MetricIntervalLowerBound", float("-inf"))
        <= breach
        < adjustment.get("MetricIntervalUpperBound", float("inf"))
    ]
    assert covering["ScalingAdjustment"] >= 1


def test_every_scaling_resource_belongs_to_one_mode(model: dict[str, Any]) -> None:
    conditions = {name: resource.get("Condition") for name, resource in scaling(model).items()}
    assert conditions == {
        "ScalableTarget": None,
        "InvocationsScaling": "IsRealTime",
        "BacklogScaling": "IsAsync",
        "WakeFromZeroScaling": "IsAsync",
        "BacklogWithoutCapacityAlarm": "IsAsync",
    }


# ------------------------------------------------------------------ lifecycle rules (documented)


def documented_lifecycle() -> dict[str, Any]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "model-endpoint-async.md").read_text()
    block = text.split("<!-- lifecycle-rules:begin -->", 1)[1].split("<!-- lifecycle-rules:end -->", 1)[0]
    loaded: dict[str, Any] = json.loads(block.strip().removeprefix("```json").removesuffix("```"))
    return loaded


def test_the_documented_lifecycle_rules_expire_both_prefixes_the_stacks_use(
    api: dict[str, Any], model: dict[str, Any]
) -> None:
    lifecycle = documented_lifecycle()
    s3_model = botocore.session.get_session().get_service_model("s3")
    request = s3_model.operation_model("PutBucketLifecycleConfiguration").input_shape
    botocore.validate.validate_parameters(
        {"Bucket": "my-models-bucket", "LifecycleConfiguration": lifecycle}, request
    )  # raises ParamValidationError on any shape the API would refuse
    uri = "s3://my-models-bucket/tryon-async/"
    api_stack = with_parameters(api, SageMakerAsyncS3Uri=uri, Backend="sagemaker")
    objects = resources_for("s3:PutObject", api_async_statements(api_stack), api_stack) | resources_for(
        "s3:GetObject", api_async_statements(api_stack), api_stack
    )
    prefixes = {arn.removeprefix("arn:aws:s3:::my-models-bucket/").removesuffix("*") for arn in objects}
    rules = lifecycle["Rules"]
    assert {rule["Filter"]["Prefix"] for rule in rules} == prefixes == {"tryon-async/in/", "tryon-async/out/"}
    for rule in rules:
        assert rule["Status"] == "Enabled" and rule["Expiration"]["Days"] >= 1


def test_the_model_container_runs_network_isolated(model: dict[str, Any]) -> None:
    """EnableNetworkIsolation as SageMaker's CreateModel defines it (botocore's service model), and an
    image that needs no network at start: the weights are local, the Hugging Face libraries offline."""
    create_model = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateModel")
    assert create_model.input_shape.members["EnableNetworkIsolation"].type_name == "boolean"
    properties = model["Resources"]["Model"]["Properties"]
    assert properties["EnableNetworkIsolation"] is True
    assert set(properties) <= set(create_model.input_shape.members)
    dockerfile = (MODEL_TEMPLATE.parent / "Dockerfile").read_text()
    for offline in ("HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1"):
        assert re.search(rf"^\s*(ENV\s+)?{offline}\b", dockerfile, re.MULTILINE), offline
    assert properties["PrimaryContainer"]["Environment"]["TRYON_MODEL_FAMILY"] == {"Ref": "ModelFamily"}
