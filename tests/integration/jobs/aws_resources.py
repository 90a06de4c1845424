"""The jobs table, bucket and queues in moto, created from template.yaml's own properties, so the
adapters are tested against the key schema, TTL attribute and redrive policy that AWS deploys."""

from __future__ import annotations

import json
from typing import Any

from tests.cfn_template import create_table_from_template, load_template, resolve

TEMPLATE = load_template()


def properties(resource: str) -> dict[str, Any]:
    props: dict[str, Any] = TEMPLATE["Resources"][resource]["Properties"]
    return props


def queue_attributes(resource: str) -> dict[str, str]:
    props = properties(resource)
    attributes = {"MessageRetentionPeriod": str(props["MessageRetentionPeriod"])}
    if "VisibilityTimeout" in props:
        attributes["VisibilityTimeout"] = str(resolve(props["VisibilityTimeout"], TEMPLATE))
    return attributes


def redrive_policy(dlq_arn: str) -> dict[str, Any]:
    policy = dict(properties("JobsQueue")["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    return {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(policy["maxReceiveCount"])}


def create_jobs_resources(dynamodb: Any, s3: Any, sqs: Any, *, visibility_timeout: int | None = None) -> dict[str, str]:
    """Create them; ``visibility_timeout`` overrides the queue's (0 lets a test redrive at once)."""
    name = create_table_from_template(dynamodb, "JobsTable", TEMPLATE)
    bucket = "tryon-dev-jobs-bucket"
    s3.create_bucket(Bucket=bucket)
    dlq_url = sqs.create_queue(
        QueueName=str(resolve(properties("JobsDeadLetterQueue")["QueueName"], TEMPLATE)),
        Attributes=queue_attributes("JobsDeadLetterQueue"),
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = queue_attributes("JobsQueue")
    if visibility_timeout is not None:
        attributes["VisibilityTimeout"] = str(visibility_timeout)
    attributes["RedrivePolicy"] = json.dumps(redrive_policy(dlq_arn))
    queue_name = str(resolve(properties("JobsQueue")["QueueName"], TEMPLATE))
    queue_url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    return {"table": name, "bucket": bucket, "queue_url": queue_url, "dlq_url": dlq_url}
