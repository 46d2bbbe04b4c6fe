"""Replay throughput through the whole catalogue, as a ratio to parsing alone, plus flat-memory evidence.

``python -m benchmarks.replay_bench [--records N]``

1. Generates N (default 200,000) realistic CloudTrail records, seeded, as a trail delivers them: gzip files of
   1,000 records each holding ``{"Records": [...]}``, in a temporary folder (deleted afterwards).
2. Measures, in this one run and alternating, (a) parse-only: ``detections.replay.iter_records`` over the
   folder, counting records, and (b) replay: the same reading code plus ``CatalogueMatcher.match`` on every
   record (every pattern of every detection, through one PatternIndex). Best of ``--rounds`` for each.
3. Prints both throughputs and the ratio replay/parse (target >= 0.5).
4. Peak memory (ru_maxrss of a fresh child process replaying the first 50,000 records vs all 200,000): with
   streaming both peaks are about the same.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from detections.replay import CatalogueMatcher, ReplayRecord, iter_records

RECORDS_PER_FILE = 1000
TARGET_RATIO = 0.5
SEED = 20240502

ACCOUNT = "111122223333"
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1")
ROLES = ("deploy", "app-api", "app-worker", "admin", "data-pipeline")
USERS = ("alice", "bob", "ci-bot")
IPS = ("203.0.113.10", "198.51.100.7", "192.0.2.44", "10.0.12.9")
AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
    "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.3 "
    "exec-env/AWS_Lambda",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64",
    "cloudformation.amazonaws.com",
)

# (weight, eventSource prefix, eventName, readOnly, errorCode or None). Mostly the reads a real account is
# made of; about 5% are changes or failures that some detection matches, as on a quiet day with deployments.
EVENT_MIX: tuple[tuple[int, str, str, bool, str | None], ...] = (
    (140, "sts", "AssumeRole", True, None),
    (120, "kms", "Decrypt", True, None),
    (90, "kms", "GenerateDataKey", True, None),
    (80, "ec2", "DescribeInstances", True, None),
    (60, "s3", "GetBucketAcl", True, None),
    (60, "logs", "CreateLogStream", False, None),
    (50, "ssm", "GetParameter", True, None),
    (50, "secretsmanager", "GetSecretValue", True, None),
    (40, "sts", "GetCallerIdentity", True, None),
    (40, "iam", "ListRoles", True, None),
    (35, "rds", "DescribeDBInstances", True, None),
    (30, "lambda", "GetFunction20150331v2", True, None),
    (30, "ec2", "CreateTags", False, None),
    (25, "cloudtrail", "LookupEvents", True, None),
    (20, "lambda", "UpdateFunctionCode20150331v2", False, None),
    (20, "ec2", "RunInstances", False, None),
    (15, "s3", "GetBucketPolicy", True, "NoSuchBucketPolicy"),
    (20, "ec2", "DescribeSecurityGroups", True, "Client.UnauthorizedOperation"),
    (15, "s3", "ListBucket", True, "AccessDenied"),
    (6, "ec2", "AuthorizeSecurityGroupIngress", False, None),
    (5, "iam", "AttachRolePolicy", False, None),
    (4, "ec2", "CreateRoute", False, None),
    (3, "s3", "PutBucketPolicy", False, None),
    (3, "iam", "UpdateAssumeRolePolicy", False, None),
    (2, "kms", "PutKeyPolicy", False, None),
    (2, "signin", "ConsoleLogin", False, None),
    (1, "cloudtrail", "StopLogging", False, None),
)


def _identity(rng: random.Random) -> dict[str, object]:
    if rng.random() < 0.8:
        role = rng.choice(ROLES)
        session = f"{role}-{rng.randrange(10**9)}"
        return {
            "type": "AssumedRole",
            "principalId": f"AROA{rng.randrange(10**12):012d}:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT,
            "accessKeyId": f"ASIA{rng.randrange(10**12):016d}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLE",
                    "accountId": ACCOUNT,
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-05-02T09:00:00Z", "mfaAuthenticated": "false"},
            },
        }
    user = rng.choice(USERS)
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
        "accountId": ACCOUNT,
        "accessKeyId": f"AKIA{rng.randrange(10**12):016d}",
        "userName": user,
    }


def generate_record(
    rng: random.Random, number: int, mix: list[tuple[str, str, bool, str | None]]
) -> dict[str, object]:
    service, name, read_only, error = rng.choice(mix)
    seconds = number % 86400
    event: dict[str, object] = {
        "eventVersion": "1.09",
        "userIdentity": _identity(rng),
        "eventTime": f"2024-05-02T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z",
        "eventSource": f"{service}.amazonaws.com",
        "eventName": name,
        "awsRegion": rng.choice(REGIONS),
        "sourceIPAddress": rng.choice(IPS),
        "userAgent": rng.choice(AGENTS),
    }
    if error:
        event["errorCode"] = error
        event["errorMessage"] = "You are not authorized to perform this operation."
    event["requestParameters"] = {
        "resourceId": f"r-{rng.randrange(16**12):012x}",
        "maxResults": rng.choice((50, 100, 1000)),
        "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": rng.choice(ROLES)}]}}]},
    }
    event["responseElements"] = None if read_only else {"requestId": f"{rng.randrange(16**32):032x}"}
    if name == "ConsoleLogin":
        event["responseElements"] = {"ConsoleLogin": "Success"}
        event["additionalEventData"] = {"MFAUsed": "Yes", "MobileVersion": "No"}
    event.update(
        {
            "requestID": f"{rng.randrange(16**32):032x}",
            "eventID": f"{rng.randrange(16**32):032x}",
            "readOnly": read_only,
            "resources": [
                {
                    "accountId": ACCOUNT,
                    "type": "AWS::KMS::Key",
                    "ARN": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{rng.randrange(16**32):032x}",
                }
            ],
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{service}.eu-west-1.amazonaws.com",
            },
        }
    )
    return event


def generate_trail_files(folder: Path, records: int, seed: int = SEED) -> list[Path]:
    """Write ``records`` records as gzip delivery files of RECORDS_PER_FILE each; return them in order."""
    rng = random.Random(seed)
    mix = [(s, n, r, e) for weight, s, n, r, e in EVENT_MIX for _ in range(weight)]
    files = []
    for start in range(0, records, RECORDS_PER_FILE):
        batch = [generate_record(rng, n, mix) for n in range(start, min(start + RECORDS_PER_FILE, records))]
        path = (
            folder / f"{ACCOUNT}_CloudTrail_eu-west-1_20240502T{start // RECORDS_PER_FILE:06d}Z_bench.json.gz"
        )
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as handle:
            json.dump({"Records": batch}, handle, separators=(",", ":"))
        files.append(path)
    return files


def time_parse_only(files: list[Path]) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for item in iter_records(files) if isinstance(item, ReplayRecord))
    return time.perf_counter() - started, count


def time_replay(files: list[Path], matcher: CatalogueMatcher) -> tuple[float, int, int]:
    match = matcher.match
    started = time.perf_counter()
    count = matched = 0
    for item in iter_records(files):
        if isinstance(item, ReplayRecord):
            count += 1
            if match(item.record):
                matched += 1
    return time.perf_counter() - started, count, matched


def peak_rss_mib_of_child(files: list[Path]) -> float:
    """Replay ``files`` in a fresh interpreter and return its peak resident memory in MiB."""
    code = (
        "import resource, sys\n"
        "from benchmarks.replay_bench import time_replay\n"
        "from detections.replay import CatalogueMatcher\n"
        "from pathlib import Path\n"
        "files = [Path(line) for line in sys.stdin.read().split()]\n"
        "time_replay(files, CatalogueMatcher())\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code],
        input="\n".join(map(str, files)),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip()) / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.replay_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--records", type=int, default=200_000, help="records to generate (default 200,000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating timing rounds; best is kept")
    parser.add_argument("--small", type=int, default=50_000, help="record count for the memory comparison")
    args = parser.parse_args(argv)

    matcher = CatalogueMatcher()
    patterns = len(matcher.detection_ids)
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        started = time.perf_counter()
        files = generate_trail_files(Path(tmp), args.records)
        size_mib = sum(f.stat().st_size for f in files) / 2**20
        print(
            f"generated {args.records:,} records in {len(files)} gzip files ({size_mib:.1f} MiB) "
            f"in {time.perf_counter() - started:.1f}s"
        )

        parse_times, replay_times = [], []
        matched = 0
        for _ in range(args.rounds):
            elapsed, count = time_parse_only(files)
            assert count == args.records, (count, args.records)
            parse_times.append(elapsed)
            elapsed, count, matched = time_replay(files, matcher)
            assert count == args.records
            replay_times.append(elapsed)
        parse_rate = args.records / min(parse_times)
        replay_rate = args.records / min(replay_times)
        ratio = replay_rate / parse_rate
        print(f"parse only: {parse_rate:,.0f} records/s   (same reader, json.JSONDecoder.raw_decode)")
        print(
            f"replay    : {replay_rate:,.0f} records/s   (+ {patterns} detections, one PatternIndex; "
            f"{matched:,} records matched = {1000 * matched / args.records:.1f} per 1,000)"
        )
        print(f"ratio replay/parse: {ratio:.2f}   (target >= {TARGET_RATIO})")

        small_files = files[: max(1, args.small // RECORDS_PER_FILE)]
        small_peak = peak_rss_mib_of_child(small_files)
        large_peak = peak_rss_mib_of_child(files)
        print(
            f"peak RSS replaying {len(small_files) * RECORDS_PER_FILE:,} records: {small_peak:.1f} MiB; "
            f"{args.records:,} records: {large_peak:.1f} MiB (ratio {large_peak / small_peak:.2f}, flat ~1.0)"
        )
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process, which also generated the data: {own_peak:.0f} MiB)")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
