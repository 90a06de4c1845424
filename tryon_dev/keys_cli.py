"""``python -m tryon_dev keys``: create, list, revoke and report API keys.

``--data-dir DIR`` manages the local store (the folder ``make run`` keeps its data in); ``--stack
NAME`` a deployed stack's table (found from its ``KeysTableName`` output), with the operator's
own AWS credentials. A new key's secret is printed once, as the last line's JSON ``key``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from tryon_api.keys.interface import KeyRecord, KeyStore, month_of

KEYS_TABLE_OUTPUT = "KeysTableName"


def stack_key_store(stack: str, region: str | None) -> KeyStore:
    import boto3  # the operator's credentials and region, as the AWS CLI would use them

    from tryon_api.keys.dynamodb_store import DynamoDbKeyStore

    session = boto3.session.Session(region_name=region)
    stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if KEYS_TABLE_OUTPUT not in outputs:
        raise SystemExit(f"stack {stack} has no {KEYS_TABLE_OUTPUT} output: deploy this version of template.yaml first")
    return DynamoDbKeyStore(session.client("dynamodb"), outputs[KEYS_TABLE_OUTPUT])


def open_store(args: argparse.Namespace) -> KeyStore:
    if args.stack:
        return stack_key_store(args.stack, args.region)
    from tryon_api.keys.dependencies import local_key_store

    return local_key_store(args.data_dir or os.environ.get("TRYON_JOBS_DATA_DIR") or ".tryon-data")


def describe(record: KeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "state": record.state,
        "per_minute": record.per_minute,
        "per_month": record.per_month,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created_at)),
    }


def _emit(value: Any) -> None:
    print(json.dumps(value, separators=(", ", ": ")), flush=True)


def cmd_create(args: argparse.Namespace, store: KeyStore) -> int:
    from tryon_api.keys.service import create_key

    try:
        new = create_key(store, args.name, args.per_minute, args.per_month)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("The key is shown this once: keep it in your server's secret store.", file=sys.stderr)
    _emit({**describe(new.record), "key": new.key})
    return 0


def cmd_list(args: argparse.Namespace, store: KeyStore) -> int:
    for record in store.list_keys():
        _emit(describe(record))
    return 0


def cmd_revoke(args: argparse.Namespace, store: KeyStore) -> int:
    if not store.revoke(args.id, time.time()):
        print(f"error: no key {args.id}", file=sys.stderr)
        return 1
    _emit({"id": args.id, "state": "revoked"})
    return 0


def cmd_usage(args: argparse.Namespace, store: KeyStore) -> int:
    month = args.month or month_of(time.time())
    records = store.list_keys()
    if args.id:
        records = [r for r in records if r.id == args.id]
        if not records:
            print(f"error: no key {args.id}", file=sys.stderr)
            return 1
    for record in records:
        usage = store.month_usage(record.id, month)
        _emit(
            {
                "id": record.id,
                "name": record.name,
                "state": record.state,
                "month": usage.month,
                "images": usage.images,
                "requests": usage.requests,
                "per_month": record.per_month,
                "per_minute": record.per_minute,
            }
        )
    return 0


def add_keys_parser(sub: Any) -> None:
    keys = sub.add_parser("keys", help="create, list, revoke and report API keys")
    where = keys.add_mutually_exclusive_group()
    where.add_argument("--data-dir", help="the local data folder (default: TRYON_JOBS_DATA_DIR or .tryon-data)")
    where.add_argument("--stack", help="a deployed stack's name (uses your AWS credentials)")
    keys.add_argument("--region", help="the stack's region (default: your AWS configuration's)")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key (its secret is printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--per-minute", type=int, help="generating requests per minute (default: unlimited)")
    create.add_argument("--per-month", type=int, help="images per calendar month, UTC (default: unlimited)")
    create.set_defaults(keys_func=cmd_create)
    actions.add_parser("list", help="every key, one JSON line each").set_defaults(keys_func=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a key (stops within a minute everywhere)")
    revoke.add_argument("id")
    revoke.set_defaults(keys_func=cmd_revoke)
    usage = actions.add_parser("usage", help="this month's images and requests, per key")
    usage.add_argument("id", nargs="?")
    usage.add_argument("--month", help="YYYY-MM (default: this month, UTC)")
    usage.set_defaults(keys_func=cmd_usage)
    keys.set_defaults(func=run_keys)


def run_keys(args: argparse.Namespace) -> int:
    return int(args.keys_func(args, open_store(args)))
