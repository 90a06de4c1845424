"""The jobs interfaces on AWS: DynamoDB for records, S3 for selfies and results, SQS for work.

One table, partition key ``pk`` only: a job is ``job#<id>``; each owner's in-flight counter is
``owner#<owner>`` (attribute ``in_flight``). Taking and releasing a slot happens in the same
transaction (TransactWriteItems) as the job's own change, so the counter never drifts from the
records: a create over the limit writes nothing, and a finish or delete that finds the job already
finished or gone releases nothing. ``expires_at`` is the table's TTL attribute; DynamoDB removes
expired items only eventually (typically within days), so a read treats an expired item as gone.

The boto3 clients are injected: built once per container by the entry points' wiring, from
``tryon_api.aws_clients`` (bounded timeouts and attempts, cut to the request's deadline).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tryon_api.jobs.interface import IN_FLIGHT, Job, JobError, JobImage, JobLimitReached, QueueMessage
from tryon_api.jobs.messages import MAX_JOB_ID_LENGTH, MalformedQueueMessage, decode_message, encode_message

__all__ = [
    "MAX_JOB_ID_LENGTH",
    "MalformedQueueMessage",
    "decode_message",
    "encode_message",
]  # the worker's entry point reads them here

JOB_PREFIX = "job#"
OWNER_PREFIX = "owner#"
# DeleteObjects takes at most 1,000 keys per request (S3 API reference).
S3_DELETE_BATCH = 1000
# SendMessage's DelaySeconds: 0 to 900 (SQS API reference).
SQS_MAX_DELAY_SECONDS = 900
# A delete that keeps losing races against a finishing worker gives up after this many reads.
DELETE_ATTEMPTS = 5


# ------------------------------------------------------------------------------ DynamoDB items


def _n(value: float | int) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def job_item(job: Job) -> dict[str, Any]:
    """The DynamoDB item of ``job`` (attribute values in the low-level client's wire form)."""
    item: dict[str, Any] = {
        "pk": _s(JOB_PREFIX + job.id),
        "owner": _s(job.owner),
        "status": _s(job.status),
        "created_at": _n(job.created_at),
        "updated_at": _n(job.updated_at),
        "expires_at": _n(int(job.expires_at)),
        "mode": _s(job.mode),
        "clothing_description": _s(job.clothing_description),
        "num_samples": _n(job.num_samples),
        "seed": _n(job.seed),
        "attempts": _n(job.attempts),
        "images": {"L": [_image_value(image) for image in job.images]},
        "input_keys": {"L": [_s(key) for key in job.input_keys]},
        "garment_category": _s(job.garment_category),
        "output_format": _s(job.output_format),
    }
    if job.clothing_image_url is not None:
        item["clothing_image_url"] = _s(job.clothing_image_url)
    if job.webhook_url is not None:
        item["webhook_url"] = _s(job.webhook_url)
    if job.error is not None:
        item["error"] = _error_value(job.error)
    return item


def _image_value(image: JobImage) -> dict[str, Any]:
    return {"M": {"seed": _n(image.seed), "mime_type": _s(image.mime_type), "blob_key": _s(image.blob_key)}}


def _error_value(error: JobError) -> dict[str, Any]:
    return {"M": {"message": _s(error.message), "status": _n(error.status)}}


def _number(value: dict[str, str]) -> float:
    return float(value["N"])


def job_from_item(item: dict[str, Any]) -> Job:
    error = item.get("error")
    return Job(
        id=item["pk"]["S"].removeprefix(JOB_PREFIX),
        owner=item["owner"]["S"],
        status=item["status"]["S"],
        created_at=_number(item["created_at"]),
        updated_at=_number(item["updated_at"]),
        expires_at=int(_number(item["expires_at"])),
        mode=item["mode"]["S"],
        clothing_description=item["clothing_description"]["S"],
        num_samples=int(_number(item["num_samples"])),
        seed=int(_number(item["seed"])),
        clothing_image_url=item["clothing_image_url"]["S"] if "clothing_image_url" in item else None,
        webhook_url=item["webhook_url"]["S"] if "webhook_url" in item else None,
        images=tuple(
            JobImage(
                seed=int(_number(value["M"]["seed"])),
                mime_type=value["M"]["mime_type"]["S"],
                blob_key=value["M"]["blob_key"]["S"],
            )
            for value in item.get("images", {}).get("L", [])
        ),
        error=(
            JobError(message=error["M"]["message"]["S"], status=int(_number(error["M"]["status"])))
            if error is not None
            else None
        ),
        attempts=int(_number(item.get("attempts", {"N": "0"}))),
        input_keys=tuple(value["S"] for value in item.get("input_keys", {}).get("L", [])),
        garment_category=item.get("garment_category", {}).get("S", "auto"),
        output_format=item.get("output_format", {}).get("S", "jpeg"),
    )


def _cancellation_codes(error: Exception) -> list[str]:
    """The per-item reasons of a cancelled transaction, in the order of its items."""
    response = getattr(error, "response", {}) or {}
    return [reason.get("Code", "None") for reason in response.get("CancellationReasons", [])]


class DynamoDBJobStore:
    """``JobStore`` on one DynamoDB table (on demand, key ``pk``, TTL on ``expires_at``)."""

    def __init__(self, client: Any, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    # -------------------------------------------------------------- counter updates (items)

    def _take_slot(self, owner: str, max_in_flight: int, expires_at: int) -> dict[str, Any]:
        # The counter expires with the owner's newest job: by then every job it counts is gone too.
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(OWNER_PREFIX + owner)},
                "UpdateExpression": "SET in_flight = if_not_exists(in_flight, :zero) + :one, expires_at = :expires",
                "ConditionExpression": "attribute_not_exists(in_flight) OR in_flight < :max",
                "ExpressionAttributeValues": {
                    ":zero": _n(0),
                    ":one": _n(1),
                    ":max": _n(max_in_flight),
                    ":expires": _n(expires_at),
                },
            }
        }

    def _release_slot(self, owner: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(OWNER_PREFIX + owner)},
                "UpdateExpression": "SET in_flight = in_flight - :one",
                "ConditionExpression": "in_flight > :zero",
                "ExpressionAttributeValues": {":zero": _n(0), ":one": _n(1)},
            }
        }

    def in_flight(self, owner: str) -> int:
        """The owner's counter (0 when it has none): for operators and tests."""
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(OWNER_PREFIX + owner)}, ConsistentRead=True
        ).get("Item")
        return int(_number(item["in_flight"])) if item and "in_flight" in item else 0

    # ---------------------------------------------------------------------------- JobStore

    def create(self, job: Job, *, max_in_flight: int) -> None:
        try:
            self._client.transact_write_items(
                TransactItems=[
                    self._take_slot(job.owner, max_in_flight, int(job.expires_at)),
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": job_item(job),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as error:
            codes = _cancellation_codes(error)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise JobLimitReached(f"{max_in_flight} jobs in flight") from None
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise ValueError("a job with this id exists") from None
            raise

    def get(self, job_id: str) -> Job | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(JOB_PREFIX + job_id)}, ConsistentRead=True
        ).get("Item")
        if item is None or _number(item["expires_at"]) <= self._clock():
            return None  # TTL deletes lag: an expired item is gone to callers
        return job_from_item(item)

    def claim(self, job_id: str, now: float) -> Job | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(JOB_PREFIX + job_id)},
                UpdateExpression="SET #status = :running, updated_at = :now, attempts = attempts + :one",
                ConditionExpression="attribute_exists(pk) AND #status IN (:queued, :running) AND expires_at > :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":running": _s("running"),
                    ":queued": _s("queued"),
                    ":now": _n(now),
                    ":one": _n(1),
                },
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return job_from_item(answer["Attributes"])

    def finish(self, job: Job) -> None:
        values: dict[str, Any] = {
            ":status": _s(job.status),
            ":images": {"L": [_image_value(image) for image in job.images]},
            ":updated": _n(job.updated_at),
            ":expires": _n(int(job.expires_at)),
            ":queued": _s("queued"),
            ":running": _s("running"),
        }
        update = "SET #status = :status, images = :images, updated_at = :updated, expires_at = :expires"
        if job.error is not None:
            update += ", #error = :error"
            values[":error"] = _error_value(job.error)
        else:
            update += " REMOVE #error"
        record = {
            "TableName": self._table,
            "Key": {"pk": _s(JOB_PREFIX + job.id)},
            "UpdateExpression": update,
            "ConditionExpression": "attribute_exists(pk) AND #status IN (:queued, :running)",
            "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
            "ExpressionAttributeValues": values,
        }
        try:
            self._client.transact_write_items(TransactItems=[{"Update": record}, self._release_slot(job.owner)])
        except self._client.exceptions.TransactionCanceledException as error:
            codes = _cancellation_codes(error)
            if codes[:1] == ["ConditionalCheckFailed"]:
                return  # finished already or deleted: its slot was released then
            if codes[1:2] != ["ConditionalCheckFailed"]:
                raise
            # The counter is gone (expired with the owner's jobs): record the result all the same.
            try:
                self._client.update_item(**record)
            except self._client.exceptions.ConditionalCheckFailedException:
                return

    def delete(self, job_id: str) -> None:
        key = {"pk": _s(JOB_PREFIX + job_id)}
        for _ in range(DELETE_ATTEMPTS):
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            if item is None:
                return
            status = item["status"]["S"]
            if status not in IN_FLIGHT:
                self._client.delete_item(TableName=self._table, Key=key)
                return
            removal = {
                "Delete": {
                    "TableName": self._table,
                    "Key": key,
                    "ConditionExpression": "#status = :seen",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":seen": _s(status)},
                }
            }
            try:
                self._client.transact_write_items(TransactItems=[removal, self._release_slot(item["owner"]["S"])])
                return
            except self._client.exceptions.TransactionCanceledException as error:
                codes = _cancellation_codes(error)
                if codes[:1] == ["ConditionalCheckFailed"]:
                    continue  # a worker moved it meanwhile: read it again
                if codes[1:2] != ["ConditionalCheckFailed"]:
                    raise
                self._client.delete_item(TableName=self._table, Key=key)  # no counter left to release
                return
        raise RuntimeError(f"job {job_id} kept changing while being deleted")


# ------------------------------------------------------------------------------------- S3


class S3BlobStore:
    """``BlobStore`` on one S3 bucket (keys ``inputs/<id>/...`` and ``results/<id>/<n>.jpg``)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        """The object's bytes; ``KeyError`` when there is none."""
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            raise KeyError(key) from None
        data: bytes = answer["Body"].read()
        return data

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), S3_DELETE_BATCH):
            batch = keys[start : start + S3_DELETE_BATCH]
            answer = self._client.delete_objects(
                Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
            # Quiet mode lists only failures; a missing key is a success in S3's own terms.
            failed = [error for error in answer.get("Errors", []) if error.get("Code") != "NoSuchKey"]
            if failed:
                raise RuntimeError(f"S3 kept {len(failed)} of {len(batch)} objects ({failed[0].get('Code')})")


# ------------------------------------------------------------------------------------ SQS


class SqsJobQueue:
    """``JobQueue`` on one SQS standard queue: the worker function's event source."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, message: QueueMessage, delay_seconds: int = 0) -> None:
        if not 0 <= delay_seconds <= SQS_MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be 0-{SQS_MAX_DELAY_SECONDS}, not {delay_seconds}")
        self._client.send_message(
            QueueUrl=self._queue_url, MessageBody=encode_message(message), DelaySeconds=delay_seconds
        )


# ------------------------------------------------------------------------------- wiring


@dataclass(frozen=True)
class AwsJobAdapters:
    store: DynamoDBJobStore
    blobs: S3BlobStore
    queue: SqsJobQueue


def build_aws_job_adapters(
    client: Callable[[str], Any], table_name: str, bucket_name: str, queue_url: str
) -> AwsJobAdapters:
    """The three adapters over clients made by ``client`` (``aws_clients.create_quick_client``).

    The endpoints come from the standard variables (``AWS_ENDPOINT_URL_DYNAMODB``...) when set."""
    if not (table_name and bucket_name and queue_url):
        raise ValueError("jobs on AWS need TRYON_JOBS_TABLE_NAME, TRYON_JOBS_BUCKET_NAME and TRYON_JOBS_QUEUE_URL")
    return AwsJobAdapters(
        store=DynamoDBJobStore(client("dynamodb"), table_name),
        blobs=S3BlobStore(client("s3"), bucket_name),
        queue=SqsJobQueue(client("sqs"), queue_url),
    )
