"""template.yaml's jobs resources keep their promises: the table, bucket and queues the adapters
expect, a worker built like the API function with concurrency that makes bursts wait, AWS's SQS
guidance (visibility timeout, partial batch responses, maximum concurrency), and least privilege
for each function. Which calls the adapters make and which series the alarms read are checked by
running the code (tests/integration/jobs/)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cfn_template import TEMPLATE, load_template, resolve
from tryon_api.jobs import aws_stores
from tryon_api.jobs.interface import Job
from tryon_api.settings import Settings

# SQS: a visibility timeout of at most 12 hours; message retention 60 s to 14 days (API reference).
SQS_MAX_VISIBILITY_SECONDS = 43_200
SQS_MAX_RETENTION_SECONDS = 1_209_600
LAMBDA_MAX_TIMEOUT_SECONDS = 900
JOBS_ENV = {
    "TRYON_JOBS_TABLE_NAME": {"Ref": "JobsTable"},
    "TRYON_JOBS_BUCKET_NAME": {"Ref": "JobsBucket"},
    "TRYON_JOBS_QUEUE_URL": {"Ref": "JobsQueue"},
    "TRYON_WEBHOOK_SECRET_ID": {"Ref": "WebhookSecret"},
}
MODEL_POLICIES = {"invoke-bedrock-models", "invoke-sagemaker-endpoint", "invoke-sagemaker-endpoint-async"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def props(template: dict[str, Any], resource: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][resource]["Properties"]
    return found


def policies(template: dict[str, Any], role: str) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Policy name -> (condition or None, policy document) of a role's inline policies."""
    found = {}
    for entry in props(template, role)["Policies"]:
        condition = None
        if "Fn::If" in entry:
            condition, entry, otherwise = entry["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}
        found[entry["PolicyName"]] = (condition, entry["PolicyDocument"])
    return found


def grants(template: dict[str, Any], role: str) -> dict[str, set[str]]:
    """Action -> the resources (resolved, with any condition noted) an Allow gives it, jobs policies only."""
    found: dict[str, set[str]] = {}
    for name, (_, document) in policies(template, role).items():
        if name in MODEL_POLICIES:
            continue
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            suffix = " if " + json.dumps(statement["Condition"], sort_keys=True) if "Condition" in statement else ""
            for action in actions:
                found.setdefault(action, set()).update(str(resolve(r, template)) + suffix for r in resources)
    return found


# ----------------------------------------------------------------------------- storage


def test_the_table_is_on_demand_keyed_as_the_store_writes_and_expires_on_the_jobs_field(
    template: dict[str, Any],
) -> None:
    table = props(template, "JobsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "expires_at" in Job.__dataclass_fields__
    item = aws_stores.job_item(
        Job("j", "o", "queued", 1.0, 1.0, 2, "studio", "shirt", 1, 0)  # the store's item carries both
    )
    assert set(item) >= {"pk", "expires_at"} and "N" in item["expires_at"]


def test_the_bucket_is_encrypted_private_owner_enforced_and_tls_only(template: dict[str, Any]) -> None:
    bucket = props(template, "JobsBucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    policy = props(template, "JobsBucketPolicy")
    assert policy["Bucket"] == {"Ref": "JobsBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [{"Fn::GetAtt": ["JobsBucket", "Arn"]}, {"Fn::Sub": "${JobsBucket.Arn}/*"}]


def test_lifecycle_rules_back_up_the_stores_own_deletes_and_outlive_the_result_ttl(template: dict[str, Any]) -> None:
    rules = {rule["Prefix"]: rule for rule in props(template, "JobsBucket")["LifecycleConfiguration"]["Rules"]}
    assert set(rules) == {"inputs/", "results/"}
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    assert rules["inputs/"]["ExpirationInDays"] == 1  # selfies are deleted when a job ends; this is the backstop
    # A result must stay readable as long as its record: the record expires after jobs_result_ttl_hours.
    assert rules["results/"]["ExpirationInDays"] * 24 > Settings().jobs_result_ttl_hours
    keys = {"selfie": "inputs/abc/selfie", "result": "results/abc/0.jpg"}
    assert all(any(key.startswith(prefix) for prefix in rules) for key in keys.values())


def test_the_queue_follows_aws_guidance_for_lambda_event_sources(template: dict[str, Any]) -> None:
    queue = props(template, "JobsQueue")
    timings = template["Mappings"]["WorkerQueueTimings"]
    parameter = template["Parameters"]["WorkerTimeoutSeconds"]
    assert {str(value) for value in parameter["AllowedValues"]} == set(timings)
    assert str(parameter["Default"]) in timings
    for timeout, row in timings.items():
        # At least six times the function timeout (Lambda Developer Guide, SQS event sources).
        assert row["VisibilityTimeout"] >= 6 * int(timeout), timeout
        assert row["VisibilityTimeout"] <= SQS_MAX_VISIBILITY_SECONDS
        assert int(timeout) <= LAMBDA_MAX_TIMEOUT_SECONDS
    assert queue["VisibilityTimeout"] == {
        "Fn::FindInMap": ["WorkerQueueTimings", {"Ref": "WorkerTimeoutSeconds"}, "VisibilityTimeout"]
    }
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5  # AWS: at least 5 with a Lambda event source
    dlq = props(template, "JobsDeadLetterQueue")
    assert dlq["MessageRetentionPeriod"] == SQS_MAX_RETENTION_SECONDS  # 14 days
    # A dead letter keeps its first enqueue time: the DLQ must keep messages longer than the queue.
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] and dlq["SqsManagedSseEnabled"]


# ------------------------------------------------------------------------------ worker


def test_the_worker_runs_jobs_at_the_models_throughput_and_reports_partial_failures(
    template: dict[str, Any],
) -> None:
    worker = props(template, "JobWorkerFunction")
    assert worker["ReservedConcurrentExecutions"] == {"Ref": "WorkerConcurrency"}
    assert worker["Timeout"] == {"Ref": "WorkerTimeoutSeconds"}
    (event,) = worker["Events"].values()
    assert event["Type"] == "SQS"
    source = event["Properties"]
    assert source["Queue"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BatchSize"] == 1
    # Maximum concurrency no higher than the reserved concurrency (AWS's advice), and SQS's minimum of 2.
    assert source["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerConcurrency"}}
    concurrency = template["Parameters"]["WorkerConcurrency"]
    assert concurrency["MinValue"] >= 2 and concurrency["MinValue"] <= concurrency["Default"] <= 1000


def test_both_functions_get_the_jobs_variables_and_the_worker_the_same_backend(template: dict[str, Any]) -> None:
    api = props(template, "TryOnFunction")["Environment"]["Variables"]
    worker = props(template, "JobWorkerFunction")["Environment"]["Variables"]
    for variables in (api, worker):
        assert {name: variables[name] for name in JOBS_ENV} == JOBS_ENV
    # The worker checks no credential: the keys' table and the tokens' secret are the API's.
    api_only = {"TRYON_API_KEY_SECRET_ID", "TRYON_API_KEYS", "TRYON_KEYS_TABLE_NAME", "TRYON_TOKEN_SECRET_ID"}
    assert {k: v for k, v in api.items() if k not in api_only} == worker
    environment = {name: resolve(value, template) for name, value in worker.items()}
    environment |= {
        name: resolve(value, template)
        for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items()
    }
    settings = Settings.from_env(environment)
    assert (settings.jobs_table_name, settings.jobs_bucket_name, settings.jobs_queue_url) == (
        "<JobsTable>",
        "<JobsBucket>",
        "<JobsQueue>",
    )
    assert settings.webhook_secret_id == "<WebhookSecret>" and settings.api_key_secret_id == ""


def test_the_webhook_secret_is_generated_and_stored_as_the_raw_key(template: dict[str, Any]) -> None:
    generate = props(template, "WebhookSecret")["GenerateSecretString"]
    assert "SecretStringTemplate" not in generate and "GenerateStringKey" not in generate
    assert generate["PasswordLength"] >= 32


# ---------------------------------------------------------------------- least privilege


def test_the_worker_has_the_api_functions_model_permissions_exactly(template: dict[str, Any]) -> None:
    api = {n: p for n, p in policies(template, "TryOnFunctionRole").items() if n in MODEL_POLICIES}
    worker = {n: p for n, p in policies(template, "JobWorkerFunctionRole").items() if n in MODEL_POLICIES}
    assert set(api) == MODEL_POLICIES
    assert worker == api, "copy TryOnFunctionRole's model policies to JobWorkerFunctionRole"


def test_the_api_function_may_submit_poll_and_delete_jobs_and_nothing_more(template: dict[str, Any]) -> None:
    # The keys table's grants are derived from the keys' own calls (tests/integration/keys/test_keys_aws.py).
    jobs = {
        a: r - {"<KeysTable.Arn>"}
        for a, r in grants(template, "TryOnFunctionRole").items()
        if a.split(":")[0] in ("dynamodb", "s3", "sqs")
    }
    table, bucket, queue = "<JobsTable.Arn>", "<JobsBucket.Arn>", "<JobsQueue.Arn>"
    listing = bucket + ' if {"StringLike": {"s3:prefix": ["inputs/*", "results/*"]}}'
    assert jobs == {
        "dynamodb:PutItem": {table},
        "dynamodb:GetItem": {table},
        "dynamodb:UpdateItem": {table},
        "dynamodb:DeleteItem": {table},
        "s3:PutObject": {f"{bucket}/inputs/*"},
        "s3:GetObject": {f"{bucket}/results/*"},
        "s3:DeleteObject": {f"{bucket}/inputs/*", f"{bucket}/results/*"},
        "s3:ListBucket": {listing},
        "sqs:SendMessage": {queue},
    }


def test_the_worker_may_run_jobs_and_read_the_webhook_secret_and_nothing_more(template: dict[str, Any]) -> None:
    table, bucket, queue = "<JobsTable.Arn>", "<JobsBucket.Arn>", "<JobsQueue.Arn>"
    listing = bucket + ' if {"StringLike": {"s3:prefix": ["inputs/*", "results/*"]}}'
    assert grants(template, "JobWorkerFunctionRole") == {
        "logs:CreateLogStream": {"<JobWorkerLogGroup.Arn>"},
        "logs:PutLogEvents": {"<JobWorkerLogGroup.Arn>"},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
        "dynamodb:GetItem": {table},
        "dynamodb:UpdateItem": {table},
        # Results: written, and read only as the presigned GETs of the webhook's result URLs.
        "s3:GetObject": {f"{bucket}/inputs/*", f"{bucket}/results/*"},
        "s3:PutObject": {f"{bucket}/results/*"},
        "s3:DeleteObject": {f"{bucket}/inputs/*", f"{bucket}/results/*"},
        "s3:ListBucket": {listing},
        # The event source mapping polls with the function's role; SendMessage: webhook retries.
        "sqs:ReceiveMessage": {queue},
        "sqs:DeleteMessage": {queue},
        "sqs:GetQueueAttributes": {queue},
        "sqs:SendMessage": {queue},
        "secretsmanager:GetSecretValue": {"<WebhookSecret>"},
        # Every job sample is moderated as the synchronous answer is (test_template_moderation.py).
        "bedrock:ApplyGuardrail": {"<ModerationGuardrail.GuardrailArn>"},
        "rekognition:DetectModerationLabels": {"*"},
        "rekognition:DetectFaces": {"*"},  # each sample's person check (the minors rule's ages)
    }
    assert props(template, "JobWorkerFunction")["Role"] == {"Fn::GetAtt": ["JobWorkerFunctionRole", "Arn"]}
    assert "Policies" not in props(template, "JobWorkerFunction")  # no SAM-managed policies


# ----------------------------------------------------------------------- alarms, outputs


def test_the_jobs_alarms_watch_the_queue_the_dead_letters_and_the_failures(template: dict[str, Any]) -> None:
    oldest = props(template, "JobsOldestMessageAlarm")
    assert (oldest["Namespace"], oldest["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert oldest["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsQueue", "QueueName"]}}]
    dead = props(template, "JobsDeadLettersAlarm")
    assert (dead["Namespace"], dead["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dead["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}}]
    assert (dead["Threshold"], dead["ComparisonOperator"]) == (0, "GreaterThanThreshold")  # one dead letter
    # The oldest-message alarm must not fire for a delayed webhook retry (at most SQS's 900 s delay).
    assert oldest["Threshold"] >= aws_stores.SQS_MAX_DELAY_SECONDS
    watched = {
        m["MetricStat"]["Metric"]["MetricName"]
        for m in props(template, "JobFailuresAlarm")["Metrics"]
        if "MetricStat" in m
    }
    assert watched == {"JobsSucceeded", "JobsFailed"}
    assert props(template, "WebhookFailuresAlarm")["MetricName"] == "WebhookFailures"


def test_outputs_name_the_jobs_resources_never_a_secret_value(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["JobsQueueUrl"]["Value"] == {"Ref": "JobsQueue"}
    assert outputs["JobsDeadLetterQueueUrl"]["Value"] == {"Ref": "JobsDeadLetterQueue"}
    assert outputs["WebhookSecretArn"]["Value"] == {"Ref": "WebhookSecret"}
    assert "resolve:secretsmanager" not in json.dumps(outputs)


def test_every_alarm_has_a_runbook_entry_in_the_deploying_guide(template: dict[str, Any]) -> None:
    guide = (TEMPLATE.parent / "docs" / "deploying.md").read_text()
    runbook = guide.split("\n## Alarms: what each means, what to do\n", 1)[1].split("\n## ", 1)[0]
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            suffix = str(resolve(resource["Properties"]["AlarmName"], template)).removeprefix("tryon-dev-")
            assert f"| `{suffix}` |" in runbook, name
