"""Function-URL (payload 2.0) events built from plain HTTP requests, as Lambda would send them."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")


def function_url_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The event a Lambda function URL sends for this request (payload format 2.0)."""
    # The request target as sent: a function URL passes the path through untouched ("//x" stays
    # "//x"), where urlsplit would read "//x" as a host named x and an empty path.
    if raw_path.startswith("/"):
        path, _, query = raw_path.partition("#")[0].partition("?")
    else:  # absolute form (a proxy's request line): its path and query
        parts = urlsplit(raw_path)
        path, query = parts.path, parts.query
    # Lower-case names; a header given more than once (in any case) is joined with commas.
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    content_type = lowered.get("content-type", "")
    is_text = any(content_type.startswith(t) for t in TEXT_TYPES)
    try:
        text_body = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text_body = None
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path or "/",
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        pairs = (p.partition("=") for p in query.split("&"))
        event["queryStringParameters"] = {name: value for name, _, value in pairs}
    if body:
        if text_body is not None:
            event["body"] = text_body
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of the event Lambda's SQS event source sends, from a ReceiveMessage message
    (received with ``AttributeNames=["All"]``): Lambda's field names, SQS's values."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            name: str(attributes[name])
            for name in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
            if name in attributes
        },
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping sends for one batch of received messages."""
    return {"Records": [sqs_record(message, queue_arn) for message in messages]}
