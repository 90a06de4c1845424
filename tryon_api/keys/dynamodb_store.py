"""Key records and counters in one DynamoDB table (on AWS), keyed by ``pk``:

- ``key#<id>``: the record (name, secret digest, limits, state);
- ``minute#<id>#<window start>``: requests in one UTC minute (expires after two);
- ``month#<id>#<YYYY-MM>``: images and requests in one UTC month (and ``revoked`` once the key is);
- ``token#<token id>``: images a browser token has made (expires with the token).

Every check-and-count is one conditional write (a transaction when a token's images count too),
so a limit holds across every container at once; a refused write changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tryon_api.keys.interface import (
    RATE_WINDOW_SECONDS,
    CounterStoreUnavailable,
    KeyRecord,
    MonthUsage,
    QuotaRefused,
    month_of,
    next_month_of,
)

# Monthly usage is kept about 13 months for reports; minute windows two minutes.
MONTH_RETENTION_SECONDS = 400 * 86400
TOKEN_RETENTION_SECONDS = 3600


def _num(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


def _str(value: str) -> dict[str, str]:
    return {"S": value}


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class DynamoDbKeyStore:
    def __init__(self, client: Any, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, operation)(TableName=self._table, **kwargs)
        except ClientError as exc:
            if _error_code(exc) in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise
            raise CounterStoreUnavailable(_error_code(exc) or type(exc).__name__) from None
        except BotoCoreError as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None

    def create(self, record: KeyRecord) -> None:
        item: dict[str, Any] = {
            "pk": _str(f"key#{record.id}"),
            "key_id": _str(record.id),
            "name": _str(record.name),
            "secret_sha256": _str(record.secret_sha256),
            "state": _str(record.state),
            "created_at": _num(record.created_at),
        }
        if record.per_minute is not None:
            item["per_minute"] = _num(record.per_minute)
        if record.per_month is not None:
            item["per_month"] = _num(record.per_month)
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    @staticmethod
    def _record(item: dict[str, Any]) -> KeyRecord:
        return KeyRecord(
            id=item["key_id"]["S"],
            name=item["name"]["S"],
            secret_sha256=item["secret_sha256"]["S"],
            per_minute=int(item["per_minute"]["N"]) if "per_minute" in item else None,
            per_month=int(item["per_month"]["N"]) if "per_month" in item else None,
            state="active" if item["state"]["S"] == "active" else "revoked",
            created_at=float(item["created_at"]["N"]),
        )

    def get(self, key_id: str) -> KeyRecord | None:
        answer = self._call("get_item", Key={"pk": _str(f"key#{key_id}")}, ConsistentRead=True)
        item = answer.get("Item")
        return self._record(item) if item else None

    def list_keys(self) -> list[KeyRecord]:
        records: list[KeyRecord] = []
        start: dict[str, Any] | None = None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            page = self._call(
                "scan",
                FilterExpression="begins_with(pk, :prefix)",
                ExpressionAttributeValues={":prefix": _str("key#")},
                ConsistentRead=True,
                **extra,
            )
            records.extend(self._record(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(records, key=lambda r: (r.created_at, r.id))

    def revoke(self, key_id: str, now: float) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._call(
                "update_item",
                Key={"pk": _str(f"key#{key_id}")},
                UpdateExpression="SET #state = :revoked",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":revoked": _str("revoked")},
            )
        except ClientError:
            return False
        # The month counters carry the mark too, so every reservation (a token's included) stops now,
        # not when each container's cached record expires. This month and the next: a token lives an hour.
        for month in (month_of(now), next_month_of(now)):
            self._call(
                "update_item",
                Key={"pk": _str(f"month#{key_id}#{month}")},
                UpdateExpression="SET revoked = :yes, expires_at = if_not_exists(expires_at, :expires)",
                ExpressionAttributeValues={
                    ":yes": {"BOOL": True},
                    ":expires": _num(int(now) + MONTH_RETENTION_SECONDS),
                },
            )
        return True

    def count_request(self, key_id: str, window_start: int, limit: int | None) -> int | None:
        from botocore.exceptions import ClientError

        condition = {}
        values: dict[str, Any] = {":one": _num(1), ":expires": _num(window_start + 2 * RATE_WINDOW_SECONDS)}
        if limit is not None:
            condition = {"ConditionExpression": "attribute_not_exists(requests) OR requests < :limit"}
            values[":limit"] = _num(limit)
        try:
            answer = self._call(
                "update_item",
                Key={"pk": _str(f"minute#{key_id}#{window_start}")},
                UpdateExpression="ADD requests :one SET expires_at = :expires",
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                **condition,
            )
        except ClientError:
            return None
        return int(answer["Attributes"]["requests"]["N"])

    def minute_count(self, key_id: str, window_start: int) -> int:
        answer = self._call("get_item", Key={"pk": _str(f"minute#{key_id}#{window_start}")}, ConsistentRead=True)
        return int(answer.get("Item", {}).get("requests", {}).get("N", 0))

    def _month_update(self, key_id: str, month: str, images: int, limit: int | None) -> dict[str, Any]:
        values: dict[str, Any] = {
            ":images": _num(images),
            ":one": _num(1),
            ":expires": _num(int(self._clock()) + MONTH_RETENTION_SECONDS),
        }
        condition = "attribute_not_exists(revoked)"
        if limit is not None:
            condition += " AND (attribute_not_exists(images) OR images <= :most)"
            values[":most"] = _num(limit - images)
        return {
            "TableName": self._table,
            "Key": {"pk": _str(f"month#{key_id}#{month}")},
            "UpdateExpression": (
                "ADD images :images, requests :one SET expires_at = if_not_exists(expires_at, :expires)"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def _refusal(self, key_id: str, month: str) -> QuotaRefused:
        answer = self._call("get_item", Key={"pk": _str(f"month#{key_id}#{month}")}, ConsistentRead=True)
        return QuotaRefused("revoked" if "revoked" in answer.get("Item", {}) else "quota")

    def reserve_images(
        self,
        key_id: str,
        month: str,
        images: int,
        limit: int | None,
        token: tuple[str, int, int] | None = None,
    ) -> int:
        from botocore.exceptions import ClientError

        if limit is not None and images > limit:
            raise QuotaRefused("quota")
        update = self._month_update(key_id, month, images, limit)
        if token is None:
            update.pop("TableName")
            try:
                answer = self._call("update_item", ReturnValues="UPDATED_NEW", **update)
            except ClientError:
                raise self._refusal(key_id, month) from None
            return int(answer["Attributes"]["images"]["N"])
        token_id, max_images, expires_at = token
        token_update = {
            "TableName": self._table,
            "Key": {"pk": _str(f"token#{token_id}")},
            "UpdateExpression": "ADD images :images SET expires_at = :expires",
            "ConditionExpression": "attribute_not_exists(images) OR images <= :most",
            "ExpressionAttributeValues": {
                ":images": _num(images),
                ":most": _num(max_images - images),
                ":expires": _num(expires_at + TOKEN_RETENTION_SECONDS),
            },
        }
        if images > max_images:
            raise QuotaRefused("token")
        try:
            self._transact([{"Update": update}, {"Update": token_update}])
        except ClientError as exc:
            reasons = [r.get("Code") for r in getattr(exc, "response", {}).get("CancellationReasons", [])]
            if len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed" and reasons[0] in ("None", None):
                raise QuotaRefused("token") from None
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise self._refusal(key_id, month) from None
            raise CounterStoreUnavailable("TransactionCanceledException") from None
        return self.month_usage(key_id, month).images

    def _transact(self, items: list[dict[str, Any]]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _error_code(exc) == "TransactionCanceledException":
                raise
            raise CounterStoreUnavailable(_error_code(exc) or type(exc).__name__) from None
        except BotoCoreError as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from None

    def release_images(self, key_id: str, month: str, images: int, token_id: str | None = None) -> None:
        self._call(
            "update_item",
            Key={"pk": _str(f"month#{key_id}#{month}")},
            UpdateExpression="ADD images :less",
            ConditionExpression="attribute_exists(images)",
            ExpressionAttributeValues={":less": _num(-images)},
        )
        if token_id is not None:
            self._call(
                "update_item",
                Key={"pk": _str(f"token#{token_id}")},
                UpdateExpression="ADD images :less",
                ConditionExpression="attribute_exists(images)",
                ExpressionAttributeValues={":less": _num(-images)},
            )

    def month_usage(self, key_id: str, month: str) -> MonthUsage:
        answer = self._call("get_item", Key={"pk": _str(f"month#{key_id}#{month}")}, ConsistentRead=True)
        item = answer.get("Item", {})
        return MonthUsage(month, int(item.get("images", {}).get("N", 0)), int(item.get("requests", {}).get("N", 0)))
