"""Run a synthesized Lambda asset the way the Lambda Python runtime does, in a child process.

One child process is one execution environment: the asset directory is the task root (first on
``sys.path``, nothing from this repository's checkout), the environment is the template's variables plus
what Lambda itself sets, the handler module is imported once (cold start) and then invoked for every event
(warm), each time with a context whose ``get_remaining_time_in_millis`` counts down from the function's
timeout. Whatever the function prints (Powertools' structured logs, EMF metrics) goes to a log file, as it
would go to CloudWatch Logs; the invocation result comes back on a separate pipe.

Simulated time: between two invocations the environment's ``time.monotonic`` jumps ahead by the simulated
time that passed (``frozen_seconds``), as a frozen Lambda environment's clock does while it waits for the
next event. Without it, alarms a simulated minute apart would arrive milliseconds apart and the
forwarder's FilterLogEvents pacing (a token bucket on ``time.monotonic``) would make the demo wait in real
time for traffic that, in the simulated account, is spread over minutes. Within an invocation the clock
runs normally. Wall-clock time (``time.time``, ``datetime.now``) is not touched.

Differences from AWS, on purpose: Powertools is imported from this virtualenv (in AWS it comes from the
public Powertools layer, same version); X-Ray is switched off with ``POWERTOOLS_TRACE_DISABLED`` because
there is no X-Ray daemon; the timeout is reported by the context but not enforced by killing the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from demo.cdk_out import FunctionDefinition

# Executed by ``python -I -c``: -I keeps the caller's cwd, PYTHONPATH and user site out of sys.path, so the
# function can import only what its asset (and the runtime's site-packages, standing in for the layer) holds.
_BOOTSTRAP = r"""
import importlib, json, os, sys, time, traceback
task_root = os.environ["LAMBDA_TASK_ROOT"]
sys.path.insert(0, task_root)
os.chdir(task_root)
# Simulated time passes between invocations while the environment is frozen: its monotonic clock jumps
# ahead by that much (as a frozen Lambda environment's does), so rate limiters and caches inside the
# function see the gaps of the simulated timeline rather than the compressed real one.
_real_monotonic = time.monotonic
_frozen_for = [0.0]
time.monotonic = lambda: _real_monotonic() + _frozen_for[0]
protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # anything the function prints goes to the log, not into the protocol
sys.stdout = os.fdopen(1, "w", buffering=1)

class LambdaContext:
    def __init__(self, request_id, deadline):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = os.environ["DEMO_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request_id
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

module_name, function_name = os.environ["_HANDLER"].rsplit(".", 1)
try:
    module = importlib.import_module(module_name)
    for name in ("lambdas", "detections", module_name):
        origin = getattr(sys.modules.get(name), "__file__", None) or ""
        if name in sys.modules and not os.path.realpath(origin).startswith(os.path.realpath(task_root)):
            raise ImportError(f"{name} was imported from {origin}, outside the task root {task_root}")
    handler = getattr(module, function_name)
    init_error = None
except Exception as error:
    traceback.print_exc()
    handler, init_error = None, {"errorType": type(error).__name__, "errorMessage": str(error)}
timeout = float(os.environ["DEMO_FUNCTION_TIMEOUT"])
for line in sys.stdin:
    request = json.loads(line)
    if init_error is not None:
        protocol_out.write(json.dumps({"ok": False, "error": init_error, "init": True}) + "\n")
        continue
    _frozen_for[0] += max(0.0, float(request.get("frozen_seconds", 0.0)))
    context = LambdaContext(request["request_id"], time.monotonic() + timeout)
    print(f"START RequestId: {request['request_id']} Version: $LATEST", flush=True)
    started = time.monotonic()
    try:
        result = handler(request["event"], context)
        reply = {"ok": True, "result": result}
    except Exception as error:
        traceback.print_exc()
        reply = {"ok": False, "error": {"errorType": type(error).__name__, "errorMessage": str(error)}}
    elapsed = (time.monotonic() - started) * 1000
    print(f"END RequestId: {request['request_id']}", flush=True)
    print(f"REPORT RequestId: {request['request_id']}\tDuration: {elapsed:.2f} ms", flush=True)
    reply["duration_ms"] = elapsed
    protocol_out.write(json.dumps(reply, default=str) + "\n")
"""


class InvocationError(RuntimeError):
    """The function process died: Lambda would start a new execution environment and retry."""


@dataclass(frozen=True)
class Invocation:
    request_id: str
    ok: bool
    result: Any
    error: dict[str, str] | None
    duration_ms: float


class LambdaProcess:
    """One warm execution environment for ``function``; use as a context manager."""

    def __init__(
        self,
        function: FunctionDefinition,
        *,
        account_id: str,
        region: str,
        environment_overrides: dict[str, str],
        log_path: Path,
    ) -> None:
        self.function = function
        self.function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function.function_name}"
        self.log_path = log_path
        self.environment = {
            # What the Lambda service sets in every Python execution environment.
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(function.asset_dir),
            "_HANDLER": function.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime or 'python3.12'}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]demo0000000000000000000000000000",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            # The execution role's temporary credentials; moto accepts any.
            "AWS_ACCESS_KEY_ID": "ASIAQRSTUVWXYZDEMO01",
            "AWS_SECRET_ACCESS_KEY": "demo-secret-access-key-not-a-real-one-000",
            "AWS_SESSION_TOKEN": "demo-session-token",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "DEMO_FUNCTION_ARN": self.function_arn,
            "DEMO_FUNCTION_TIMEOUT": str(function.timeout_seconds),
            **function.environment,
            **environment_overrides,
        }
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def __enter__(self) -> LambdaProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w", encoding="utf-8")
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOTSTRAP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=self.environment,
            text=True,
            cwd=self.function.asset_dir,
        )
        return self

    def invoke(self, event: dict[str, Any], *, frozen_seconds: float = 0.0) -> Invocation:
        """Invoke once; ``frozen_seconds`` of simulated time passed since the previous invocation."""
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("LambdaProcess used outside its context manager")
        request_id = str(uuid.uuid4())
        request = {"request_id": request_id, "event": event, "frozen_seconds": frozen_seconds}
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise InvocationError(f"the function process exited (code {process.poll()}); see {self.log_path}")
        reply = json.loads(line)
        return Invocation(
            request_id=request_id,
            ok=bool(reply["ok"]),
            result=reply.get("result"),
            error=reply.get("error"),
            duration_ms=float(reply.get("duration_ms", 0.0)),
        )

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()
