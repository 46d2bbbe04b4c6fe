"""moto's server on loopback, taught our filter-pattern engine; helpers to run the forwarder "as deployed".

Why the patch: moto's FilterLogEvents understands only plain terms and returns *every* event for a JSON
pattern such as ``{ $.eventName = "ConsoleLogin" }``. A test (or the demo) would then show evidence that does
not match the detection. ThreadedMotoServer runs in this process, so we replace moto's event filter with one
that evaluates the pattern with ``detections.filter_pattern`` - the same engine the catalogue tests use.

Used by tests/integration (this helper's owner) and by the demo (DEMO helper). Typical use::

    with MotoHarness() as aws:                       # server on 127.0.0.1, free port, engine installed
        env = aws.base_environment()                 # AWS_ENDPOINT_URL + fake credentials + region
        aws.create_log_group("trail"); aws.put_cloudtrail_records("trail", records)
        aws.create_secret("security-baseline/pagerduty-routing-key", "a" * 32)
        queue_url = aws.create_queue("forwarder-dlq")
        deployed = find_deployed_forwarder(Path("cdk.out"))   # None until the alerting stack is synthesized
        fn_env = forwarder_environment(deployed, resolved={...})
        handler = load_forwarder(deployed.asset_dir if deployed else REPO_ROOT)
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar
from unittest import mock

import boto3
from moto.core.exceptions import JsonRESTError
from moto.server import ThreadedMotoServer

from demo.cdk_out import FunctionDefinition, find_function
from detections.filter_pattern import FilterPattern, compile_pattern
from testkit.lambda_context import ACCOUNT_ID, REGION, FakeLambdaContext

REPO_ROOT = Path(__file__).resolve().parent.parent
HANDLER = "lambdas.forwarder.handler.lambda_handler"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


# --- teaching moto the engine ----------------------------------------------------------------------------


class EngineEventMessageFilter:
    """Drop-in for moto.logs.utils.EventMessageFilter that evaluates real CloudWatch Logs filter semantics.

    Emulator efficiency only (same answers as ``compile_pattern(p).matches(message)``): moto builds one
    filter per log event per call, so instances are shared per pattern; and a JSON pattern is evaluated on
    the parsed record, each distinct message being parsed once (cached) rather than on every search. Without
    this, a search over the benchmark's 501 records spends ~4 ms in ``json.loads`` - time CloudWatch Logs
    does not spend in the forwarder's process.
    """

    _instances: ClassVar[dict[str, EngineEventMessageFilter]] = {}
    _pattern: FilterPattern

    def __new__(cls, pattern: str) -> EngineEventMessageFilter:
        instance = cls._instances.get(pattern or "")
        if instance is None:
            instance = super().__new__(cls)
            instance._pattern = compile_pattern(pattern or "")
            if len(cls._instances) < 1024:
                cls._instances[pattern or ""] = instance
        return instance

    def __init__(self, pattern: str) -> None:  # state is set once, in __new__
        pass

    def matches(self, message: str) -> bool:
        if self._pattern.kind == "json":
            # FilterPattern.matches_json(v) == matches(message) when v is the parsed message; a message that
            # is not JSON parses to _NOT_JSON, which no JSON pattern matches (as in matches()).
            return self._pattern.matches_json(_parsed_message(message))
        return self._pattern.matches(message)


_NOT_JSON = object()


@functools.lru_cache(maxsize=16384)  # bounded: the demo's and tests' log groups are far smaller
def _parsed_message(message: str) -> object:
    try:
        return json.loads(message)
    except (ValueError, RecursionError):
        return _NOT_JSON


_patch_lock = threading.Lock()
_patch_depth = 0


@contextmanager
def engine_filter_patterns() -> Iterator[None]:
    """Install the engine in moto's logs backend for the duration (re-entrant; restores moto's own filter)."""
    import moto.logs.models as logs_models

    global _patch_depth
    with _patch_lock:
        if _patch_depth == 0:
            # A duck-typed drop-in, not a subclass: patch.object swaps the class and restores moto's own.
            engine = mock.patch.object(logs_models, "EventMessageFilter", EngineEventMessageFilter)
            engine.start()
            _patch_state["engine_filter"] = engine
        _patch_depth += 1
    try:
        yield
    finally:
        with _patch_lock:
            _patch_depth -= 1
            if _patch_depth == 0:
                _patch_state.pop("engine_filter").stop()


_patch_state: dict[str, Any] = {}


_listing_lock = threading.Lock()
_listing_depth = 0


@contextmanager
def cached_moto_service_listing() -> Iterator[None]:
    """Emulator efficiency, same answers: moto's server lists its own package directory (one listdir and
    ~190 stat calls) twice per request to route it (moto.backends.list_of_moto_modules); the installed
    package does not change while the server runs, so list it once. Re-entrant; restores moto's function."""
    import moto.backends as moto_backends

    global _listing_depth
    with _listing_lock:
        if _listing_depth == 0:
            original = moto_backends.list_of_moto_modules
            listing = tuple(original())
            _patch_state["list_of_moto_modules"] = original
            moto_backends.list_of_moto_modules = lambda: iter(listing)
        _listing_depth += 1
    try:
        yield
    finally:
        with _listing_lock:
            _listing_depth -= 1
            if _listing_depth == 0:
                moto_backends.list_of_moto_modules = _patch_state.pop("list_of_moto_modules")


# --- fault injection -------------------------------------------------------------------------------------


@dataclass
class _Fault:
    code: str
    message: str
    status: int
    remaining: int


class FaultInjector:
    """Make a moto API action fail ``times`` times with an AWS error, then behave normally again."""

    def __init__(self) -> None:
        self._faults: dict[tuple[type, str], list[_Fault]] = {}
        # action key -> (calls allowed per second, clock, times of the calls in the last second)
        self._rates: dict[tuple[type, str], tuple[int, Callable[[], float], deque[float]]] = {}
        self._originals: dict[tuple[type, str], Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.hits: dict[str, int] = {}

    def fail(
        self,
        response_class: type,
        action: str,
        *,
        code: str,
        status: int = 400,
        times: int = 1,
        message: str = "injected by the test harness",
    ) -> None:
        key = (response_class, action)
        with self._lock:
            self._faults.setdefault(key, []).append(_Fault(code, message, status, times))
            self._wrap(key, action)

    def _wrap(self, key: tuple[type, str], action: str) -> None:
        if key in self._originals:
            return
        response_class = key[0]
        original = getattr(response_class, action)
        self._originals[key] = original
        injector = self

        def wrapper(self_: Any, *args: Any, **kwargs: Any) -> Any:
            injector._maybe_throttle(key, action)
            injector._maybe_raise(key, action)
            return original(self_, *args, **kwargs)

        setattr(response_class, action, wrapper)

    def throttle_filter_log_events(
        self, *, per_second: int = 5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Answer ThrottlingException past ``per_second`` FilterLogEvents calls in any one second (the
        CloudWatch Logs quota: 5 transactions per second per account and region)."""
        from moto.logs.responses import LogsResponse

        key = (LogsResponse, "filter_log_events")
        with self._lock:
            self._rates[key] = (per_second, clock, deque())
            self._wrap(key, "filter_log_events")

    def _maybe_throttle(self, key: tuple[type, str], action: str) -> None:
        with self._lock:
            rate = self._rates.get(key)
            if rate is None:
                return
            per_second, clock, calls = rate
            now = clock()
            while calls and calls[0] <= now - 1.0:
                calls.popleft()
            if len(calls) < per_second:
                calls.append(now)
                return
            self.hits[f"{action} (rate)"] = self.hits.get(f"{action} (rate)", 0) + 1
        error = JsonRESTError("ThrottlingException", "Rate exceeded")
        error.code = 400
        raise error

    def fail_filter_log_events(
        self, *, code: str = "ThrottlingException", status: int = 400, times: int = 1
    ) -> None:
        from moto.logs.responses import LogsResponse

        self.fail(
            LogsResponse,
            "filter_log_events",
            code=code,
            status=status,
            times=times,
            message="Rate exceeded" if code == "ThrottlingException" else "injected",
        )

    def fail_get_secret_value(
        self, *, code: str = "InternalServiceError", status: int = 500, times: int = 1
    ) -> None:
        from moto.secretsmanager.responses import SecretsManagerResponse

        self.fail(SecretsManagerResponse, "get_secret_value", code=code, status=status, times=times)

    def _maybe_raise(self, key: tuple[type, str], action: str) -> None:
        with self._lock:
            faults = self._faults.get(key, [])
            while faults and faults[0].remaining <= 0:
                faults.pop(0)
            if not faults:
                return
            fault = faults[0]
            fault.remaining -= 1
            self.hits[action] = self.hits.get(action, 0) + 1
        error = JsonRESTError(fault.code, fault.message)
        error.code = fault.status
        raise error

    def clear(self) -> None:
        with self._lock:
            for (cls, action), original in self._originals.items():
                setattr(cls, action, original)
            self._faults.clear()
            self._rates.clear()
            self._originals.clear()
            self.hits.clear()


# --- the server and resource helpers ---------------------------------------------------------------------


class MotoHarness:
    def __init__(self, region: str = REGION) -> None:
        self.region = region
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._patch = engine_filter_patterns()
        self._listing = cached_moto_service_listing()
        self.faults = FaultInjector()
        self.endpoint_url = ""

    def start(self) -> MotoHarness:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per AWS call is noise
        self._patch.__enter__()
        self._listing.__enter__()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self.faults.clear()
        self._server.stop()
        self._listing.__exit__(None, None, None)
        self._patch.__exit__(None, None, None)

    def __enter__(self) -> MotoHarness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every resource (moto's /moto-api/reset) and every injected fault."""
        self.faults.clear()
        self.moto_api("reset", {})

    def moto_api(self, path: str, body: dict[str, Any]) -> None:
        """POST to moto's own control API (``/moto-api/<path>``): state transitions, queued results."""
        import urllib.request

        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).read()

    def queue_athena_results(self, rows: list[list[str | None]], columns: int) -> None:
        """The rows the next Athena query returns (moto answers every query with queued results, in order),
        as Athena sends them: a header row of ``columns`` names first, a missing value as an empty datum."""
        header = {"Data": [{"VarCharValue": f"c{n}"} for n in range(columns)]}
        data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
        self.moto_api(
            "static/athena/query-results", {"results": [{"rows": [header, *data], "column_info": []}]}
        )

    def base_environment(self) -> dict[str, str]:
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_log_group(self, name: str) -> None:
        self.client("logs").create_log_group(logGroupName=name)

    def put_cloudtrail_records(
        self, log_group: str, records: Iterable[Mapping[str, Any]], stream: str | None = None
    ) -> int:
        """Write records as CloudTrail does: one JSON record per log event, timestamped with eventTime."""
        logs = self.client("logs")
        stream = stream or f"{ACCOUNT_ID}_CloudTrail_{self.region}_{uuid.uuid4().hex[:8]}"
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
        stamped = sorted(((_event_time_ms(r), json.dumps(r)) for r in records), key=lambda pair: pair[0])
        events = [{"timestamp": timestamp, "message": message} for timestamp, message in stamped]
        for start in range(0, len(events), 1000):
            logs.put_log_events(
                logGroupName=log_group, logStreamName=stream, logEvents=events[start : start + 1000]
            )
        return len(events)

    def create_secret(self, name: str, value: str) -> str:
        return self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]

    def create_queue(self, name: str) -> str:
        return self.client("sqs").create_queue(QueueName=name)["QueueUrl"]

    def create_episode_table(self, name: str) -> str:
        """The forwarder's episode table, keyed and expiring as the AlertForwarder construct creates it."""
        from lambdas.forwarder.episode_store import PARTITION_KEY, TTL_ATTRIBUTE

        dynamodb = self.client("dynamodb")
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
        return name

    def drain_queue(self, queue_url: str, wait_seconds: float = 0.0) -> list[dict[str, Any]]:
        """Every message now in the queue, parsed from JSON (deleted after reading)."""
        sqs = self.client("sqs")
        bodies: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_seconds
        while True:
            response = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            messages = response.get("Messages", [])
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if not messages and time.monotonic() >= deadline:
                return bodies


def _event_time_ms(record: Mapping[str, Any]) -> int:
    from datetime import datetime

    text = str(record.get("eventTime", "")).replace("Z", "+00:00")
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return int(time.time() * 1000)


# --- "as deployed": the synthesized asset and its environment --------------------------------------------


def find_deployed_forwarder(cdk_out: Path) -> FunctionDefinition | None:
    """The forwarder in the synthesized cloud assembly (found by its handler string); None if not synthesized.

    Read by the demo's reader (demo.cdk_out), so the tests, the benchmark and the demo take the function's
    asset, timeout and environment from cdk.out the same way. Its ``template_environment`` keeps the
    intrinsics that :func:`forwarder_environment` replaces with moto resources.
    """
    return find_function(cdk_out, HANDLER, account_id=ACCOUNT_ID, region=REGION)


def stale_asset_files(asset_dir: Path, source_root: Path = REPO_ROOT) -> list[str]:
    """Files whose asset copy differs from the source tree (empty list: the asset is what the tests read)."""
    stale = []
    for package in ("lambdas/forwarder", "detections"):
        for source in sorted((source_root / package).glob("*.py")):
            copy = asset_dir / package / source.name
            if not copy.is_file() or copy.read_bytes() != source.read_bytes():
                stale.append(str(Path(package) / source.name))
    return stale


def forwarder_environment(deployed: FunctionDefinition | None, resolved: Mapping[str, str]) -> dict[str, str]:
    """The function's environment: the template's literal values, with intrinsics (Ref/GetAtt/Join of the
    log group, queue, ...) replaced by ``resolved[NAME]`` - the moto resources standing in for them.
    Without a template, ``resolved`` is the whole environment (source-tree mode)."""
    if deployed is None:
        return dict(resolved)
    env: dict[str, str] = {}
    for name, value in deployed.template_environment.items():
        if isinstance(value, str):
            env[name] = value
        elif name in resolved:
            env[name] = resolved[name]
        else:
            raise KeyError(f"{name} is {json.dumps(value)[:120]} in the template; pass resolved[{name!r}]")
    return env


def load_forwarder(code_root: Path) -> ModuleType:
    """Import the handler module fresh (a cold start) from ``code_root`` - the cdk.out asset or the repo.

    The caller sets os.environ first. Our packages are imported from ``code_root`` only, then the previous
    ``lambdas``/``detections`` modules are put back so the rest of the test session is unaffected.
    """
    ours = ("lambdas", "detections")
    _forget_powertools_logger(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))
    saved = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] in ours}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(code_root))
    try:
        module = importlib.import_module("lambdas.forwarder.handler")
        handler = getattr(getattr(module, "logger", None), "logger_handler", None)
        if isinstance(handler, logging.StreamHandler):
            # Lambda's stdout never changes; a test's does (pytest swaps capture streams between phases).
            handler.setStream(_CurrentStdout())
        origin = Path(module.__file__ or "").resolve()
        if not origin.is_relative_to(code_root.resolve()):
            raise ImportError(f"handler imported from {origin}, not from {code_root}")
        return module
    finally:
        sys.path.remove(str(code_root))
        for name in [n for n in sys.modules if n.split(".")[0] in ours]:
            del sys.modules[name]
        sys.modules.update(saved)


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _forget_powertools_logger(service: str) -> None:
    # Python keeps loggers for the life of the process, and Powertools configures a logger's handler only
    # once. A real cold start has neither, and the new handler must write to the current sys.stdout.
    logging.Logger.manager.loggerDict.pop(service, None)


# --- Lambda's invocation model ---------------------------------------------------------------------------


@dataclass
class AsyncInvocation:
    attempts: int
    result: Any
    errors: list[str]
    on_failure_record: dict[str, Any] | None


def invoke_async(
    handler: Callable[[Any, Any], Any],
    event: Any,
    *,
    timeout_seconds: float = 60.0,
    maximum_retry_attempts: int = 2,
    on_failure: Callable[[dict[str, Any]], None] | None = None,
) -> AsyncInvocation:
    """Model Lambda's asynchronous invocation (SNS -> Lambda): the first attempt plus up to two retries on an
    error, then the on-failure destination receives AWS's invocation record. (Lambda waits ~1 and ~2 minutes
    between attempts; simulated time here.)"""
    errors: list[str] = []
    for attempt in range(1, maximum_retry_attempts + 2):
        context = FakeLambdaContext(timeout_seconds=timeout_seconds)
        try:
            return AsyncInvocation(attempt, handler(event, context), errors, None)
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
            last_error, last_request = error, context.aws_request_id
    record = {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": last_request,
            "functionArn": f"{context.invoked_function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": maximum_retry_attempts + 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(last_error), "errorType": type(last_error).__name__},
    }
    if on_failure is not None:
        on_failure(record)
    return AsyncInvocation(maximum_retry_attempts + 1, None, errors, record)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set os.environ entries for the duration, restoring previous values."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
