"""Moto-backed DynamoDB, S3 and SQS, reached through real boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"


@dataclass
class JobsAws:
    dynamodb: Any
    s3: Any
    sqs: Any
    table: str
    bucket: str
    queue_url: str
    dlq_url: str


@contextmanager
def moto_jobs_aws(visibility_timeout: int | None = None) -> Iterator[JobsAws]:
    from tests.integration.jobs.aws_resources import create_jobs_resources

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        names = create_jobs_resources(dynamodb, s3, sqs, visibility_timeout=visibility_timeout)
        yield JobsAws(dynamodb, s3, sqs, **names)


@pytest.fixture
def jobs_aws() -> Iterator[JobsAws]:
    """The template's table, bucket and queues in moto."""
    with moto_jobs_aws() as aws:
        yield aws


@pytest.fixture
def jobs_aws_instant_retry() -> Iterator[JobsAws]:
    """The same, with a visibility timeout of 0: a failed message is received again at once."""
    with moto_jobs_aws(visibility_timeout=0) as aws:
        yield aws
