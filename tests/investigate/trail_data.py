"""The seed's question as data: a DeleteTable among thousands of other events on the last Tuesday.

Times are relative to ``now`` (the command's ``--since 8d`` is relative to the wall clock), so the Tuesday is
always 1 to 7 days back. The background traffic is the benchmark's seeded generator (benchmarks.replay_bench).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.replay_bench import EVENT_MIX, generate_record

ACCOUNT = "111122223333"
REGION = "us-east-1"
CULPRIT_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/mallory"
CULPRIT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/admin"
CULPRIT_IP = "203.0.113.99"
TABLE = "orders"
BACKGROUND = 3000


def last_tuesday(now: datetime) -> datetime:
    """Midnight UTC of the most recent Tuesday strictly before today (1 to 7 days ago)."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    back = (today.weekday() - 1) % 7 or 7
    return today - timedelta(days=back)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def dynamodb_event(name: str, when: datetime, arn: str, ip: str, table: str = TABLE) -> dict[str, Any]:
    session = arn.rsplit("/", 1)[-1]
    role = arn.split("/")[1]
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLEADMIN:{session}",
            "arn": arn,
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEMALLORY01",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEADMIN",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                    "accountId": ACCOUNT,
                    "userName": role,
                },
                "attributes": {
                    "creationDate": stamp(when - timedelta(minutes=20)),
                    "mfaAuthenticated": "true",
                },
            },
        },
        "eventTime": stamp(when),
        "eventSource": "dynamodb.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
        "requestParameters": {"tableName": table},
        "responseElements": None,
        "requestID": f"{random.Random(name + stamp(when)).randrange(16**32):032x}",
        "eventID": f"{random.Random(stamp(when) + name).randrange(16**32):032x}",
        "readOnly": name.startswith("Describe"),
        "resources": [
            {
                "accountId": ACCOUNT,
                "type": "AWS::DynamoDB::Table",
                "ARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}",
            }
        ],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


@dataclass(frozen=True)
class Scenario:
    records: list[dict[str, Any]]
    culprit: dict[str, Any]  # the DeleteTable the question is about
    old_delete: dict[str, Any]  # another DeleteTable, 10 days back: outside --since 8d


def tuesday_scenario(now: datetime, background: int = BACKGROUND, seed: int = 13) -> Scenario:
    rng = random.Random(seed)
    mix = [(s, n, r, e) for weight, s, n, r, e in EVENT_MIX for _ in range(weight)]
    tuesday = last_tuesday(now)
    records: list[dict[str, Any]] = []
    for number in range(background):
        record = generate_record(rng, number, mix)
        record["eventTime"] = stamp(tuesday + timedelta(seconds=rng.randrange(86400)))
        record["recipientAccountId"] = ACCOUNT
        records.append(record)
    culprit = dynamodb_event(
        "DeleteTable", tuesday + timedelta(hours=14, minutes=7, seconds=31), CULPRIT_ARN, CULPRIT_IP
    )
    before = dynamodb_event(
        "DescribeTable", tuesday + timedelta(hours=14, minutes=5), CULPRIT_ARN, CULPRIT_IP
    )
    someone_else = dynamodb_event(
        "DescribeTable",
        tuesday + timedelta(hours=9),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/app-api/app-api-7",
        "198.51.100.7",
    )
    old_delete = dynamodb_event(
        "DeleteTable",
        now - timedelta(days=10),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/trent",
        "192.0.2.1",
        "staging",
    )
    records += [culprit, before, someone_else, old_delete]
    records.sort(key=lambda r: r["eventTime"])
    return Scenario(records, culprit, old_delete)


def trail_key(account: str, region: str, hour: datetime, number: int) -> str:
    return (
        f"AWSLogs/{account}/CloudTrail/{region}/{hour:%Y/%m/%d}/"
        f"{account}_CloudTrail_{region}_{hour:%Y%m%dT%H%M}Z_{number:04d}.json.gz"
    )


def trail_files(records: Iterable[Mapping[str, Any]]) -> dict[str, bytes]:
    """Delivery files as a trail writes them: one gzip {"Records": [...]} per region and hour, by date key."""
    batches: dict[str, list[Mapping[str, Any]]] = {}
    for number, record in enumerate(records):
        when = datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))
        hour = when.replace(minute=0, second=0)
        key = trail_key(ACCOUNT, str(record.get("awsRegion")), hour, 0)
        batches.setdefault(key, []).append(record)
        del number
    return {key: gzip.compress(json.dumps({"Records": batch}).encode(), 1) for key, batch in batches.items()}


def write_trail_files(root: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    for key, data in trail_files(records).items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
