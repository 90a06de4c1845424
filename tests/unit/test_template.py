"""The SAM template keeps its promises: least privilege, a public URL guarded in code, cost guard
rails, retention, alarms and a dashboard that read the metrics the handler really emits.

cfn-lint and ``sam validate --lint`` check the syntax (``make deploy-check``); these tests check
the intent, which no linter knows.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cfn_template import TEMPLATE, default, load_template, resolve
from tryon_api.http import routes
from tryon_api.http.app import REQUEST_ID_HEADER
from tryon_api.http.auth import parse_api_key_secret
from tryon_api.http.routes import API_KEY_HEADER, AUTHORIZATION_HEADER, IDEMPOTENCY_HEADER
from tryon_api.settings import Settings

MODEL_PARAMETERS = (
    "BedrockSearchReplaceModelId",
    "BedrockInpaintModelId",
    "BedrockRemoveBackgroundModelId",
    "BedrockVisionModelId",
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def function(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["TryOnFunction"]["Properties"]


def role_policies(template: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(condition or None, policy) for every inline policy of the function's role."""
    for entry in template["Resources"]["TryOnFunctionRole"]["Properties"]["Policies"]:
        if "Fn::If" in entry:
            condition, policy, otherwise = entry["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}
            yield condition, policy
        else:
            yield None, entry


def all_statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in the template, whatever resource holds it."""
    if isinstance(node, dict):
        if "Statement" in node and isinstance(node["Statement"], list):
            yield from (s for s in node["Statement"] if isinstance(s, dict))
        for value in node.values():
            yield from all_statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_statements(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ least privilege


def allow_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """What grants access; a Deny (the bucket's TLS-only policy) only takes it away."""
    return [s for s in all_statements(template["Resources"]) if s["Effect"] == "Allow"]


def test_no_wildcard_actions_anywhere(template: dict[str, Any]) -> None:
    statements = allow_statements(template)
    assert statements, "the template has IAM statements to check"
    for statement in statements:
        for action in as_list(statement["Action"]):
            assert "*" not in action, statement.get("Sid")


def test_wildcard_resources_are_xray_detect_faces_and_bedrock_grants_held_by_a_condition(
    template: dict[str, Any],
) -> None:
    wildcard = [
        s
        for s in allow_statements(template)
        # The async prefix's objects are a prefix wildcard by nature (checked below).
        if s.get("Sid") not in ASYNC_S3_SIDS + JOBS_BUCKET_PREFIX_SIDS
        and any("*" in str(resolve(r, template)) for r in as_list(s.get("Resource", [])))
    ]
    by_sid = {s["Sid"]: s for s in wildcard}
    assert set(by_sid) == {
        "XRayWriteHasNoResourceLevelPermissions",
        "DetectFacesHasNoResourceLevelPermissions",
        "InvokeTheirFoundationModelsOnlyThroughTheProfiles",
        "RekognitionModerationHasNoResourceLevelPermissions",
    }
    rekognition = by_sid["RekognitionModerationHasNoResourceLevelPermissions"]
    assert rekognition["Resource"] == "*" and rekognition["Action"] == "rekognition:DetectModerationLabels"
    xray = by_sid["XRayWriteHasNoResourceLevelPermissions"]
    assert xray["Resource"] == "*" and "Condition" not in xray
    assert as_list(xray["Action"]) == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    # DetectFaces has no resource type in the Service Authorization Reference: one action, "*".
    faces = by_sid["DetectFacesHasNoResourceLevelPermissions"]
    assert faces["Resource"] == "*" and as_list(faces["Action"]) == ["rekognition:DetectFaces"]
    # Foundation models in any region, only through the configured profiles.
    models = by_sid["InvokeTheirFoundationModelsOnlyThroughTheProfiles"]
    (condition,) = models["Condition"]["StringEquals"].items()
    assert condition[0] == "bedrock:InferenceProfileArn"
    assert {resolve(r, template) for r in condition[1]} == {
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{default(template, p)}" for p in MODEL_PARAMETERS
    }
    # ...and each exception is explained where it stands.
    lines = TEMPLATE.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "xray:PutTraceSegments" in line)
    assert any("X-Ray" in line and line.strip().startswith("#") for line in lines[at - 8 : at])
    at = next(i for i, line in enumerate(lines) if "rekognition:DetectFaces" in line and "Action" in line)
    assert any("no resource" in line and line.strip().startswith("#") for line in lines[at - 12 : at])


def test_the_deployed_functions_check_selfies_with_rekognition_and_only_they_may_call_it(
    template: dict[str, Any],
) -> None:
    """The template's choice is a value the settings accept, and the roles of the functions that
    run the check (the API at submit time, the worker for each sample's ages) alone hold it."""
    from tryon_api.settings import Settings

    for function in ("TryOnFunction", "JobWorkerFunction"):
        variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["TRYON_PERSON_DETECTOR"] == "rekognition", function
    assert Settings.from_env({"TRYON_PERSON_DETECTOR": "rekognition"}).person_detector == "rekognition"
    holders = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        and "rekognition:DetectFaces" in [a for s in all_statements({name: resource}) for a in as_list(s["Action"])]
    }
    assert holders == {"TryOnFunctionRole", "JobWorkerFunctionRole"}


def test_the_function_gets_no_marketplace_permission(template: dict[str, Any]) -> None:
    """Subscribing is an operator's one-time step (make subscribe), not the function's: Bedrock does
    not set aws:CalledVia (IAM lists Athena, CloudFormation, DynamoDB and KMS), so a grant held by
    aws:CalledViaLast = bedrock.amazonaws.com could never apply."""
    actions = [a for s in all_statements(template["Resources"]) for a in as_list(s["Action"])]
    assert actions and not [a for a in actions if a.startswith("aws-marketplace:")]
    conditions = [s.get("Condition", {}) for s in all_statements(template["Resources"])]
    assert "CalledVia" not in str(conditions)


def test_the_function_uses_the_explicit_role_not_sam_managed_policies(template: dict[str, Any]) -> None:
    properties = function(template)
    assert properties["Role"] == {"Fn::GetAtt": ["TryOnFunctionRole", "Arn"]}
    assert "Policies" not in properties  # SAM would add managed policies with Resource "*"
    assert "ManagedPolicyArns" not in template["Resources"]["TryOnFunctionRole"]["Properties"]


def test_logs_are_written_only_to_the_stack_log_groups(template: dict[str, Any]) -> None:
    """Each function writes to its own group (the API's, the jobs worker's), never creates one."""
    statements = [s for s in all_statements(template["Resources"]) if any("logs:" in a for a in as_list(s["Action"]))]
    assert sorted(str(s["Resource"]) for s in statements) == sorted(
        str({"Fn::GetAtt": [group, "Arn"]}) for group in ("TryOnLogGroup", "JobWorkerLogGroup")
    )
    for statement in statements:
        assert "logs:CreateLogGroup" not in as_list(statement["Action"])


def test_the_secret_is_readable_only_by_arn(template: dict[str, Any]) -> None:
    statements = [
        s
        for s in all_statements(template["Resources"]["TryOnFunctionRole"])
        if any("secretsmanager" in a for a in as_list(s["Action"]))
    ]
    # The API keys and the browser tokens' signing key; the webhook secret's reader is the worker
    # (test_template_jobs.py).
    assert sorted(str(s["Resource"]) for s in statements) == sorted(
        str({"Ref": name}) for name in ("ApiKeySecret", "TokenSigningSecret")
    )
    for statement in statements:
        assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]


def test_backend_permissions_exist_only_for_the_chosen_backend(template: dict[str, Any]) -> None:
    by_condition: dict[str | None, list[str]] = {}
    for condition, policy in role_policies(template):
        actions = [a for s in policy["PolicyDocument"]["Statement"] for a in as_list(s["Action"])]
        by_condition.setdefault(condition, []).extend(actions)
    assert sorted(set(by_condition["UseBedrock"])) == ["bedrock:InvokeModel"]
    assert by_condition["UseSageMaker"] == ["sagemaker:InvokeEndpoint"]
    assert by_condition["UseSageMakerAsync"] == [
        "sagemaker:InvokeEndpointAsync",
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
    ]
    unconditional = by_condition[None]
    # Content moderation's guardrail is applied whatever the backend (test_template_moderation.py).
    unconditional = [a for a in unconditional if a != "bedrock:ApplyGuardrail"]
    assert not [a for a in unconditional if a.startswith(("bedrock:", "sagemaker:", "aws-marketplace:"))]
    conditions = template["Conditions"]
    assert conditions["UseBedrock"] == {"Fn::Equals": [{"Ref": "Backend"}, "bedrock"]}
    assert conditions["UseSageMaker"] == {"Fn::Equals": [{"Ref": "Backend"}, "sagemaker"]}


def _bedrock_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    for condition, policy in role_policies(template):
        if condition == "UseBedrock":
            return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    raise AssertionError("no Bedrock policy")


def test_bedrock_is_allowed_on_the_configured_profiles_and_through_them_on_their_foundation_models(
    template: dict[str, Any],
) -> None:
    """A us. profile may route to any region AWS adds to it: its foundation model is allowed in
    every region (``*``), but only when the call comes through the profile."""
    statements = _bedrock_statements(template)
    profiles = statements["InvokeConfiguredInferenceProfilesOnly"]
    models = statements["InvokeTheirFoundationModelsOnlyThroughTheProfiles"]
    assert as_list(profiles["Action"]) == as_list(models["Action"]) == ["bedrock:InvokeModel"]
    assert "Condition" not in profiles
    expected_profiles = {
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{default(template, p)}" for p in MODEL_PARAMETERS
    }
    assert {resolve(r, template) for r in profiles["Resource"]} == expected_profiles
    assert {resolve(r, template) for r in models["Resource"]} == {
        f"arn:aws:bedrock:*::foundation-model/{default(template, p).removeprefix('us.')}" for p in MODEL_PARAMETERS
    }
    assert {resolve(r, template) for r in models["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"]} == (
        expected_profiles
    )


def test_the_default_model_ids_are_the_documented_ones(template: dict[str, Any]) -> None:
    assert {p: default(template, p) for p in MODEL_PARAMETERS} == {
        "BedrockSearchReplaceModelId": "us.stability.stable-image-search-replace-v1:0",
        "BedrockInpaintModelId": "us.stability.stable-image-inpaint-v1:0",
        "BedrockRemoveBackgroundModelId": "us.stability.stable-image-remove-background-v1:0",
        "BedrockVisionModelId": "us.amazon.nova-2-lite-v1:0",
    }
    for parameter in MODEL_PARAMETERS:
        pattern = template["Parameters"][parameter]["AllowedPattern"]
        assert re.fullmatch(pattern, default(template, parameter))
        # A foundation-model id without the profile prefix would break the ARN derivation.
        assert not re.fullmatch(pattern, default(template, parameter).removeprefix("us."))


def test_sagemaker_is_allowed_on_the_configured_endpoint_only(template: dict[str, Any]) -> None:
    for condition, policy in role_policies(template):
        if condition == "UseSageMaker":
            (statement,) = policy["PolicyDocument"]["Statement"]
            assert statement["Resource"] == {
                "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/"
                "${SageMakerEndpointName}"
            }
    pattern = template["Parameters"]["SageMakerEndpointName"]["AllowedPattern"]
    assert re.fullmatch(pattern, "tryon-endpoint-1")
    assert not re.fullmatch(pattern, "TryOn-Endpoint")  # ARNs hold the lower-cased name
    rule = template["Rules"]["SageMakerNeedsAnEndpoint"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Backend"}, "sagemaker"]}


ASYNC_S3_SIDS = ("WriteRequestsUnderIn", "ReadAnswersUnderOut", "ListTheAsyncPrefix")
# Objects of one job prefix of the jobs bucket (tests/unit/test_template_jobs.py checks which).
JOBS_BUCKET_PREFIX_SIDS = (
    "WriteJobInputs",
    "ReadAndSignJobResults",
    "EraseJobInputsAndResults",
    "ReadAndEraseJobInputs",
    "WriteAndEraseJobResults",
    "SignResultUrls",
)


def test_async_sagemaker_is_allowed_on_its_endpoint_and_its_s3_prefix_only(template: dict[str, Any]) -> None:
    assert template["Conditions"]["UseSageMakerAsync"] == {
        "Fn::And": [
            {"Fn::Condition": "UseSageMaker"},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "SageMakerAsyncS3Uri"}, ""]}]},
        ]
    }
    configured = copy.deepcopy(template)
    configured["Parameters"]["SageMakerAsyncS3Uri"]["Default"] = "s3://tryon-async-bucket/tryon/"
    configured["Parameters"]["SageMakerEndpointName"]["Default"] = "tryon-model-dev"
    (policy,) = [p for c, p in role_policies(configured) if c == "UseSageMakerAsync"]
    invoke, writes, reads, listing = policy["PolicyDocument"]["Statement"]
    assert [writes["Sid"], reads["Sid"], listing["Sid"]] == list(ASYNC_S3_SIDS)
    assert (writes["Action"], reads["Action"]) == ("s3:PutObject", "s3:GetObject")
    assert (
        resolve(invoke["Resource"], configured) == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/tryon-model-dev"
    )
    assert resolve(writes["Resource"], configured) == "arn:aws:s3:::tryon-async-bucket/tryon/in/*"
    assert resolve(reads["Resource"], configured) == "arn:aws:s3:::tryon-async-bucket/tryon/out/*"
    assert resolve(listing["Resource"], configured) == "arn:aws:s3:::tryon-async-bucket"
    assert resolve(listing["Condition"]["StringLike"]["s3:prefix"], configured) == "tryon/*"
    pattern = template["Parameters"]["SageMakerAsyncS3Uri"]["AllowedPattern"]
    assert re.fullmatch(pattern, "s3://tryon-async-bucket/tryon/") and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "s3://tryon-async-bucket/tryon")  # the prefix ends with a slash


def _list_bucket_prefix_pattern(template: dict[str, Any], uri: str) -> str:
    configured = copy.deepcopy(template)
    configured["Parameters"]["SageMakerAsyncS3Uri"]["Default"] = uri
    configured["Parameters"]["SageMakerEndpointName"]["Default"] = "tryon-model-dev"
    (policy,) = [p for c, p in role_policies(configured) if c == "UseSageMakerAsync"]
    (listing,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ListTheAsyncPrefix"]
    assert resolve(listing["Resource"], configured) == "arn:aws:s3:::" + uri[len("s3://") :].split("/")[0]
    pattern: str = resolve(listing["Condition"]["StringLike"]["s3:prefix"], configured)
    return pattern


def _string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike: * any run of characters (slashes too), ? one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@pytest.mark.parametrize(
    ("uri", "pattern"),
    [
        ("s3://tryon-async/a/b/", "a/b/*"),
        ("s3://tryon-async/tryon/", "tryon/*"),
        ("s3://tryon-async/", "*"),  # no prefix: the whole bucket is the endpoint's
        ("s3://tryon-async/a//b/", "a//b/*"),
        ("s3://my.bucket-1/1/2/3/4/5/6/7/8/", "1/2/3/4/5/6/7/8/*"),  # eight segments: the most kept whole
        ("s3://my.bucket-1/1/2/3/4/5/6/7/8/9/", "1/2/3/4/5/6/7/8/*"),  # deeper: cut, only wider
    ],
)
def test_list_bucket_is_held_to_the_whole_async_prefix(template: dict[str, Any], uri: str, pattern: str) -> None:
    assert _list_bucket_prefix_pattern(template, uri) == pattern


def test_a_nested_prefix_lets_the_endpoints_keys_be_listed_and_nothing_beside_them(template: dict[str, Any]) -> None:
    pattern = _list_bucket_prefix_pattern(template, "s3://tryon-async/team/tryon/")
    for listed in ("team/tryon/", "team/tryon/out/", "team/tryon/out/3f2a.out", "team/tryon/in/3f2a.json"):
        assert _string_like(pattern, listed), listed
    for other in ("team/", "team/other/out/x", "team/tryonx/out/x", "teamx/tryon/out/x", "", "tryon/out/x"):
        assert not _string_like(pattern, other), other


# ------------------------------------------------------------------ the function


def test_the_url_is_public_buffered_and_allows_browser_posts(template: dict[str, Any]) -> None:
    url = function(template)["FunctionUrlConfig"]
    assert url["AuthType"] == "NONE"
    assert url["InvokeMode"] == "BUFFERED"
    # A page on another origin may call every authenticated route, send what they read, and read
    # back what they answer beside the body.
    assert set(url["Cors"]["AllowMethods"]) == {r.method for r in routes.ROUTES if not r.public}
    allowed = {h.lower() for h in url["Cors"]["AllowHeaders"]}
    # Authorization: a page's browser token (POST /client_tokens), never an API key.
    assert allowed == {"content-type", API_KEY_HEADER, IDEMPOTENCY_HEADER, AUTHORIZATION_HEADER}
    exposed = {h.lower() for h in url["Cors"]["ExposeHeaders"]}
    # RateLimit and RateLimit-Policy: a limited key's budget, readable by the page that spends it.
    assert exposed == {REQUEST_ID_HEADER.lower(), "retry-after", "location", "ratelimit", "ratelimit-policy"}


def test_reserved_concurrency_caps_cost(template: dict[str, Any]) -> None:
    assert function(template)["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    parameter = template["Parameters"]["ReservedConcurrency"]
    assert parameter["MinValue"] >= 1  # 0 would switch the API off
    assert 1 <= parameter["Default"] <= 100


def test_logs_go_to_a_retained_log_group_as_json(template: dict[str, Any]) -> None:
    group = template["Resources"]["TryOnLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/tryon-${Environment}"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] in (7, 14, 30, 60, 90)
    logging_config = function(template)["LoggingConfig"]
    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["LogGroup"] == {"Ref": "TryOnLogGroup"}
    for level in template["Parameters"]["LogLevel"]["AllowedValues"]:
        lambda_level = template["Mappings"]["LambdaLogLevels"][level]["Level"]
        assert lambda_level in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def test_runtime_tracing_and_timeout(template: dict[str, Any]) -> None:
    globals_ = template["Globals"]["Function"]
    # Runtime and architecture: tests/integration/test_lambda_package.py checks the built layer fits them.
    assert globals_["Tracing"] == "Active"
    timeout = template["Parameters"]["FunctionTimeoutSeconds"]
    # Three sequential model calls of up to 30 s, with room for a retry; the URL allows 900 s.
    assert 90 < timeout["Default"] <= timeout["MaxValue"] <= 900
    powertools = globals_["Environment"]["Variables"]
    assert powertools["POWERTOOLS_SERVICE_NAME"] == "tryon"
    assert powertools["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}


def test_the_environment_is_the_one_the_code_reads_and_it_validates(template: dict[str, Any]) -> None:
    variables = function(template)["Environment"]["Variables"]
    assert set(variables) == {
        "TRYON_BACKEND",
        "TRYON_API_KEY_SECRET_ID",
        "TRYON_BEDROCK_SEARCH_REPLACE_MODEL_ID",
        "TRYON_BEDROCK_INPAINT_MODEL_ID",
        "TRYON_BEDROCK_REMOVE_BACKGROUND_MODEL_ID",
        "TRYON_BEDROCK_VISION_MODEL_ID",
        "TRYON_SAGEMAKER_ENDPOINT_NAME",
        "TRYON_SAGEMAKER_INFERENCE_STEPS",
        "TRYON_SAGEMAKER_ASYNC_S3_URI",
        "TRYON_ALLOW_PRIVATE_GARMENT_URLS",
        "TRYON_PERSON_DETECTOR",
        "TRYON_API_KEYS",
        "TRYON_JOBS_TABLE_NAME",
        "TRYON_JOBS_BUCKET_NAME",
        "TRYON_JOBS_QUEUE_URL",
        "TRYON_WEBHOOK_SECRET_ID",
        "TRYON_MODERATION",
        "TRYON_MODERATION_GUARDRAIL_ID",
        "TRYON_MODERATION_GUARDRAIL_VERSION",
        "TRYON_MODERATION_IMAGE_SERVICE",
        "TRYON_KEYS_TABLE_NAME",
        "TRYON_TOKEN_SECRET_ID",
    }
    assert variables["TRYON_ALLOW_PRIVATE_GARMENT_URLS"] == "0"
    assert variables["TRYON_API_KEYS"] == ""  # deployed, the secret is the only source of keys
    assert variables["TRYON_API_KEY_SECRET_ID"] == {"Ref": "ApiKeySecret"}
    environment = {name: resolve(value, template) for name, value in variables.items()}
    environment |= {
        name: resolve(value, template)
        for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items()
    }
    settings = Settings.from_env(environment)
    assert settings.backend == "bedrock"
    assert settings.allow_private_garment_urls is False
    assert settings.api_key_secret_id == "<ApiKeySecret>"
    assert settings.local_api_keys == ()
    assert (settings.moderation, settings.moderation_image_service) == ("permissive", "rekognition")
    assert (settings.keys_table_name, settings.token_secret_id) == ("<KeysTable>", "<TokenSigningSecret>")


def test_the_layer_leaves_out_the_embedded_backends_dependencies(template: dict[str, Any]) -> None:
    """The built package and layer themselves are checked in tests/integration/test_lambda_package.py."""
    layer = template["Resources"]["DependenciesLayer"]
    requirements = (TEMPLATE.parent / layer["Properties"]["ContentUri"] / "requirements.txt").read_text()
    assert "numpy" not in requirements and "mediapipe" not in requirements


def test_the_generated_secret_is_one_the_handler_accepts(template: dict[str, Any]) -> None:
    generate = template["Resources"]["ApiKeySecret"]["Properties"]["GenerateSecretString"]
    # What Secrets Manager stores: the template with the generated password under the key.
    stored = json.loads(generate["SecretStringTemplate"])
    stored[generate["GenerateStringKey"]] = "A" * generate["PasswordLength"]
    assert parse_api_key_secret(json.dumps(stored)) == ("A" * generate["PasswordLength"],)
    assert generate["GenerateStringKey"] == "api_keys"  # the field rotation writes a list into
    # The rotation in docs/deploying.md: both keys live, then only the new one.
    assert parse_api_key_secret('{"api_keys": ["old-key", "new-key"]}') == ("old-key", "new-key")
    assert parse_api_key_secret('{"api_keys": ["new-key"]}') == ("new-key",)
    assert generate["PasswordLength"] >= 32


def test_outputs_name_the_url_and_the_secret_arn_never_its_value(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["FunctionUrl"]["Value"] == {"Fn::GetAtt": ["TryOnFunctionUrl", "FunctionUrl"]}
    assert outputs["ApiKeySecretArn"]["Value"] == {"Ref": "ApiKeySecret"}
    assert "resolve:secretsmanager" not in json.dumps(outputs)


# ------------------------------------------------------------------ alarms and dashboard


def _alarm_metric_names(alarm: dict[str, Any]) -> set[str]:
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return {properties["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in properties["Metrics"] if "MetricStat" in m}


def test_every_failure_mode_has_an_alarm(template: dict[str, Any]) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    watched = set().union(*(_alarm_metric_names(a) for a in alarms.values()))
    assert {"Errors", "Throttles", "Duration", "Status5xx", "ModelFailures", "ContentFiltered"} <= watched
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["TreatMissingData"] == "notBreaching", name
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties["AlarmDescription"], name
        if "Metrics" in properties:
            assert sum(1 for m in properties["Metrics"] if m.get("ReturnData", True)) == 1, name


def test_duration_alarm_follows_the_timeout_parameter(template: dict[str, Any]) -> None:
    metrics = template["Resources"]["DurationNearTimeoutAlarm"]["Properties"]["Metrics"]
    (expression,) = [m for m in metrics if "Expression" in m]
    (stat,) = [m for m in metrics if "MetricStat" in m]
    assert stat["MetricStat"]["Stat"] == "p95"
    # duration (ms) / (timeout (s) * 10) is the percentage of the timeout.
    assert expression["Expression"] == {"Fn::Sub": "duration / (${FunctionTimeoutSeconds} * 10)"}


def test_alarm_email_is_subscribed_only_when_given(template: dict[str, Any]) -> None:
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    text, variables = template["Resources"]["TryOnDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    known = set(variables) | set(template["Parameters"]) | {"AWS::Region"}
    for name in re.findall(r"\$\{([^}]+)\}", text):
        assert name.split(".")[0] in known | set(template["Resources"]), name
    return json.loads(re.sub(r"\$\{[^}]+\}", "10", text))


def test_the_dashboard_is_valid_json_and_explains_an_incident(template: dict[str, Any]) -> None:
    widgets = _dashboard(template)["widgets"]
    titles = " | ".join(w["properties"]["title"] for w in widgets)
    for topic in ("status", "mode", "latency", "Model", "Errors", "Cold starts", "Alarms"):
        assert topic in titles
    # Which series the rows read, and that the code emits them: tests/integration/models/test_alarms_fire.py.
    alarm_widget = next(w for w in widgets if w["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == len(resources_of_type(template, "AWS::CloudWatch::Alarm"))


def test_the_errors_by_kind_query_reads_the_fields_the_handler_logs(template: dict[str, Any]) -> None:
    widgets = _dashboard(template)["widgets"]
    query = next(w for w in widgets if w["properties"]["title"].startswith("Errors by kind"))["properties"]["query"]
    app = (TEMPLATE.parent / "tryon_api" / "http" / "app.py").read_text()
    for message in ("request failed", "request refused", "unexpected error"):
        assert message in query and f'"{message}"' in app
    for field in ("error_type", "status"):
        assert field in query and f'"{field}"' in app
