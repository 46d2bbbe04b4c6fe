"""Read what the demo stands up from the synthesized cloud assembly (``cdk.out``), not from configuration.

The deployed truth is the CloudFormation template: metric filter patterns and transformations, alarm
settings and actions, which topic the forwarder subscribes to, its handler, environment and code asset.
Reading it back here means the demo exercises exactly what ``cdk deploy`` would create.

CloudFormation intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::ImportValue``, ``Fn::GetStackOutput``,
``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, pseudo parameters) are resolved to the physical names and ARNs
the resources would get in one account and region; names that CloudFormation would generate get a stable
generated name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo.alarm_evaluator import AlarmDefinition
from detections.naming import detection_id_from_rule

TRAIL_STACK_ID = "SecurityBaselineTrail"
ALERTING_STACK_ID = "SecurityBaselineAlerting"


class CloudAssemblyError(ValueError):
    """``cdk.out`` is missing or lacks something the demo needs; the message says what and how to fix."""


@dataclass(frozen=True)
class MetricFilterDefinition:
    logical_id: str
    pattern: str
    log_group_name: str
    metric_name: str
    namespace: str
    metric_value: str
    default_value: float | None
    unit: str | None

    def sample_value(self) -> float:
        try:
            return float(self.metric_value)
        except ValueError as error:
            raise CloudAssemblyError(
                f"metric filter {self.logical_id}: MetricValue {self.metric_value!r} is taken from the log "
                "event; the demo only simulates constant metric values (our catalogue emits 1)"
            ) from error


@dataclass(frozen=True)
class FunctionDefinition:
    logical_id: str
    function_name: str
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]  # resolved to the physical names and ARNs in the assembly's account/region
    asset_dir: Path
    # The same variables as the template writes them (literal strings or intrinsics such as Ref), for a caller
    # that stands its own resources in for the intrinsics (testkit.moto_harness.forwarder_environment).
    template_environment: Mapping[str, Any]


@dataclass(frozen=True)
class FastPathRuleDefinition:
    """An EventBridge rule of the alerting stack that targets the forwarder (the fast path)."""

    logical_id: str
    name: str
    detection_id: str | None  # from the rule's name (detections.naming.fast_path_rule_name)
    event_pattern: dict[str, Any]
    state: str


@dataclass(frozen=True)
class Deployment:
    """Everything the local stand-up needs, resolved to physical values."""

    account_id: str
    region: str
    metric_filters: tuple[MetricFilterDefinition, ...]
    alarms: tuple[AlarmDefinition, ...]
    forwarder: FunctionDefinition
    forwarder_topics: tuple[str, ...]  # topic ARNs the forwarder is subscribed to
    log_group_names: tuple[str, ...]
    # Alarms on AWS service metrics (Lambda errors, queue depth, trail silence...): listed, not simulated.
    unsimulated_alarms: tuple[AlarmDefinition, ...] = ()
    # EventBridge rules targeting the forwarder (empty when the fast path is off).
    fast_path_rules: tuple[FastPathRuleDefinition, ...] = ()


@dataclass
class _Stack:
    artifact_id: str
    stack_name: str
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})


class CloudAssembly:
    """The stacks of one ``cdk.out`` and a resolver of their intrinsics."""

    def __init__(self, cdk_out: Path, *, account_id: str, region: str) -> None:
        self.root = cdk_out
        self.account_id = account_id
        self.region = region
        manifest_path = cdk_out / "manifest.json"
        if not manifest_path.is_file():
            raise CloudAssemblyError(f"{manifest_path} not found: run `cdk synth` first (make synth)")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        self.stacks: dict[str, _Stack] = {}
        for artifact_id, artifact in manifest.get("artifacts", {}).items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            properties = artifact.get("properties", {})
            template_file = cdk_out / properties["templateFile"]
            self.stacks[artifact_id] = _Stack(
                artifact_id=artifact_id,
                stack_name=properties.get("stackName", artifact.get("displayName", artifact_id)),
                template=json.loads(template_file.read_text(encoding="utf-8")),
            )
        self._exports: dict[str, tuple[_Stack, Any]] = {}
        for stack in self.stacks.values():
            for output in stack.template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if export is not None:
                    self._exports[str(self.resolve(stack, export))] = (stack, output["Value"])

    def stack(self, artifact_id: str) -> _Stack:
        try:
            return self.stacks[artifact_id]
        except KeyError:
            raise CloudAssemblyError(
                f"stack {artifact_id!r} is not in {self.root} (found: {', '.join(self.stacks) or 'none'}); "
                "synthesize the app again (make synth)"
            ) from None

    # --- intrinsic resolution -------------------------------------------------------------------------
    def _generated_name(self, stack: _Stack, logical_id: str, limit: int = 64) -> str:
        suffix = hashlib.sha256(f"{stack.stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
        return f"{stack.stack_name}-{logical_id}"[: limit - 13] + f"-{suffix}"

    def physical_name(self, stack: _Stack, logical_id: str) -> str:
        resource = stack.resources[logical_id]
        properties = resource.get("Properties", {})
        name_property = {
            "AWS::SNS::Topic": "TopicName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::SecretsManager::Secret": "Name",
            "AWS::CloudWatch::Alarm": "AlarmName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::IAM::Role": "RoleName",
            "AWS::CloudTrail::Trail": "TrailName",
        }.get(resource["Type"])
        if name_property and name_property in properties:
            return str(self.resolve(stack, properties[name_property]))
        name = self._generated_name(stack, logical_id)
        if resource["Type"] == "AWS::S3::Bucket":
            name = name.lower()
        if resource["Type"] == "AWS::SQS::Queue" and properties.get("FifoQueue"):
            name = name[:75] + ".fifo"
        return name

    def ref(self, stack: _Stack, logical_id: str) -> str:
        here = f"{self.region}:{self.account_id}"
        pseudo = {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{here}:stack/{stack.stack_name}/demo",
            "AWS::NoValue": "",
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        if logical_id in stack.template.get("Parameters", {}):
            parameter = stack.template["Parameters"][logical_id]
            if "Default" in parameter:
                return str(parameter["Default"])
            raise CloudAssemblyError(f"{stack.artifact_id}: parameter {logical_id} has no default")
        if logical_id not in stack.resources:
            raise CloudAssemblyError(f"{stack.artifact_id}: Ref to unknown resource {logical_id}")
        resource_type = stack.resources[logical_id]["Type"]
        name = self.physical_name(stack, logical_id)
        if resource_type in ("AWS::SNS::Topic", "AWS::SecretsManager::Secret"):
            return self.get_att(stack, logical_id, "Arn")
        if resource_type == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
        return name

    def get_att(self, stack: _Stack, logical_id: str, attribute: str) -> str:
        resource_type = stack.resources[logical_id]["Type"]
        name = self.physical_name(stack, logical_id)
        here = f"{self.region}:{self.account_id}"
        arns = {
            "AWS::SNS::Topic": f"arn:aws:sns:{self.region}:{self.account_id}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{self.region}:{self.account_id}:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{name}:*",
            "AWS::Lambda::Function": f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{here}:secret:{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{self.region}:{self.account_id}:key/{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{self.account_id}:role/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{name}",
        }
        if attribute == "Arn" and resource_type in arns:
            return arns[resource_type]
        if attribute == "QueueUrl":
            return self.ref(stack, logical_id)
        if attribute in ("QueueName", "TopicName", "Name"):
            return name
        return f"{name}.{attribute}"

    def resolve(self, stack: _Stack, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(stack, item) for key, item in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(stack, argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(stack, logical_id, attribute)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self.resolve(stack, part)) for part in self.resolve(stack, parts))
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(stack, items)[int(self.resolve(stack, index))]
        if function == "Fn::Split":
            separator, text = argument
            return str(self.resolve(stack, text)).split(separator)
        if function == "Fn::ImportValue":
            export = str(self.resolve(stack, argument))
            if export not in self._exports:
                raise CloudAssemblyError(
                    f"{stack.artifact_id}: Fn::ImportValue {export!r} is exported by no stack"
                )
            exporting_stack, exported = self._exports[export]
            return self.resolve(exporting_stack, exported)
        if function == "Fn::GetStackOutput":
            # Weak cross-stack references (the @aws-cdk/core:defaultCrossStackReferences flag): the value
            # is the named output of the producing stack, resolved in that stack.
            producer_name = str(self.resolve(stack, argument["StackName"]))
            output_name = str(self.resolve(stack, argument["OutputName"]))
            producer = next((s for s in self.stacks.values() if s.stack_name == producer_name), None)
            outputs = producer.template.get("Outputs", {}) if producer else {}
            if producer is None or output_name not in outputs:
                raise CloudAssemblyError(
                    f"{stack.artifact_id}: Fn::GetStackOutput {producer_name}.{output_name} is in no template"
                )
            return self.resolve(producer, outputs[output_name]["Value"])
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            resolved = {key: str(self.resolve(stack, item)) for key, item in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in resolved:
                    return resolved[name]
                if "." in name:
                    logical_id, attribute = name.split(".", 1)
                    return self.get_att(stack, logical_id, attribute)
                return self.ref(stack, name)

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        return {function: self.resolve(stack, argument)}

    # --- what the demo needs --------------------------------------------------------------------------
    def resources_of_type(self, resource_type: str) -> list[tuple[_Stack, str, dict[str, Any]]]:
        return [
            (stack, logical_id, resource)
            for stack in self.stacks.values()
            for logical_id, resource in stack.resources.items()
            if resource.get("Type") == resource_type
        ]

    def metric_filters(self) -> tuple[MetricFilterDefinition, ...]:
        found = []
        for stack, logical_id, resource in self.resources_of_type("AWS::Logs::MetricFilter"):
            properties = resource["Properties"]
            transformations = properties["MetricTransformations"]
            if len(transformations) != 1:
                raise CloudAssemblyError(f"metric filter {logical_id}: expected one MetricTransformation")
            transformation = transformations[0]
            default = transformation.get("DefaultValue")
            found.append(
                MetricFilterDefinition(
                    logical_id=logical_id,
                    pattern=str(self.resolve(stack, properties["FilterPattern"])),
                    log_group_name=str(self.resolve(stack, properties["LogGroupName"])),
                    metric_name=str(self.resolve(stack, transformation["MetricName"])),
                    namespace=str(self.resolve(stack, transformation["MetricNamespace"])),
                    metric_value=str(self.resolve(stack, transformation["MetricValue"])),
                    default_value=None if default is None else float(self.resolve(stack, default)),
                    unit=transformation.get("Unit"),
                )
            )
        return tuple(found)

    def alarms(self) -> tuple[AlarmDefinition, ...]:
        found = []
        for stack, logical_id, resource in self.resources_of_type("AWS::CloudWatch::Alarm"):
            p = self.resolve(stack, resource["Properties"])
            if "MetricName" not in p:
                continue  # metric-math alarms (pipeline health) are outside what the demo simulates
            found.append(
                AlarmDefinition(
                    name=p.get("AlarmName") or self.physical_name(stack, logical_id),
                    metric_name=p["MetricName"],
                    namespace=p["Namespace"],
                    statistic=p.get("Statistic", ""),
                    period_seconds=int(p["Period"]),
                    evaluation_periods=int(p["EvaluationPeriods"]),
                    datapoints_to_alarm=int(p["DatapointsToAlarm"]) if "DatapointsToAlarm" in p else None,
                    threshold=float(p["Threshold"]),
                    comparison_operator=p["ComparisonOperator"],
                    treat_missing_data=p.get("TreatMissingData", "missing"),
                    description=p.get("AlarmDescription"),
                    dimensions=tuple((d["Name"], str(d["Value"])) for d in p.get("Dimensions", [])),
                    unit=p.get("Unit"),
                    alarm_actions=tuple(p.get("AlarmActions", [])),
                    ok_actions=tuple(p.get("OKActions", [])),
                    insufficient_data_actions=tuple(p.get("InsufficientDataActions", [])),
                    actions_enabled=bool(p.get("ActionsEnabled", True)),
                )
            )
        return tuple(found)

    def _asset_dir(self, stack: _Stack, logical_id: str, resource: dict[str, Any]) -> Path:
        """The asset directory: ``aws:asset:path`` metadata (cdk CLI), else the S3 key hash (asset.<hash>)."""
        asset_path = resource.get("Metadata", {}).get("aws:asset:path")
        if asset_path is None:
            s3_key = resource.get("Properties", {}).get("Code", {}).get("S3Key")
            if not isinstance(s3_key, str) or not s3_key.endswith(".zip"):
                raise CloudAssemblyError(
                    f"{stack.artifact_id}/{logical_id}: neither aws:asset:path metadata nor an asset S3Key; "
                    "is the function's code an asset?"
                )
            asset_path = f"asset.{s3_key.removesuffix('.zip')}"
        return (self.root / asset_path).resolve()

    def function(self, stack: _Stack, logical_id: str) -> FunctionDefinition:
        resource = stack.resources[logical_id]
        properties = resource["Properties"]
        asset_dir = self._asset_dir(stack, logical_id, resource)
        if not asset_dir.is_dir():
            raise CloudAssemblyError(
                f"forwarder asset {asset_dir} is not a directory (zip assets are not read)"
            )
        variables = properties.get("Environment", {}).get("Variables", {})
        return FunctionDefinition(
            logical_id=logical_id,
            function_name=self.physical_name(stack, logical_id),
            handler=properties["Handler"],
            runtime=properties.get("Runtime", ""),
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            environment={key: str(self.resolve(stack, value)) for key, value in variables.items()},
            asset_dir=asset_dir,
            template_environment=variables,
        )

    def _function_with_handler(self, handler: str) -> tuple[_Stack, str] | None:
        """(stack, logical id) of the function with Handler ``handler``; None if none, an error if several."""
        candidates = [
            (stack, logical_id)
            for stack, logical_id, resource in self.resources_of_type("AWS::Lambda::Function")
            if resource.get("Properties", {}).get("Handler") == handler
        ]
        if len(candidates) > 1:
            raise self._not_exactly_one_function(handler, len(candidates))
        return candidates[0] if candidates else None

    def _not_exactly_one_function(self, handler: str, found: int) -> CloudAssemblyError:
        return CloudAssemblyError(
            f"expected exactly one Lambda function with handler {handler!r} in {self.root}, found {found}"
        )

    def function_with_handler(self, handler: str) -> FunctionDefinition | None:
        """The function whose Handler is ``handler``; None if the assembly has none (an error if several)."""
        found = self._function_with_handler(handler)
        return self.function(*found) if found else None

    def function_arn(self, handler: str) -> str:
        found = self._function_with_handler(handler)
        if found is None:
            raise self._not_exactly_one_function(handler, 0)
        return self.get_att(found[0], found[1], "Arn")

    def forwarder(self, handler: str) -> tuple[FunctionDefinition, tuple[str, ...]]:
        """The function whose Handler is ``handler`` and the ARNs of the topics it is subscribed to."""
        found = self._function_with_handler(handler)
        if found is None:
            raise self._not_exactly_one_function(handler, 0)
        stack, logical_id = found
        function = self.function(stack, logical_id)
        function_arn = self.get_att(stack, logical_id, "Arn")
        topics = []
        for sub_stack, _, resource in self.resources_of_type("AWS::SNS::Subscription"):
            properties = self.resolve(sub_stack, resource["Properties"])
            if properties.get("Protocol") == "lambda" and properties.get("Endpoint") == function_arn:
                topics.append(str(properties["TopicArn"]))
        if not topics:
            raise CloudAssemblyError(f"the forwarder {function.function_name} is subscribed to no SNS topic")
        return function, tuple(topics)

    def fast_path_rules(self, function_arn: str, name_prefix: str) -> tuple[FastPathRuleDefinition, ...]:
        """The alerting stack's ``AWS::Events::Rule`` resources with the forwarder among their targets
        (``name_prefix``: the deployment's name prefix, as the forwarder's ALARM_NAME_PREFIX carries it)."""
        found = []
        for stack, logical_id, resource in self.resources_of_type("AWS::Events::Rule"):
            if stack.artifact_id != ALERTING_STACK_ID:
                continue  # other regions' rules forward to the home bus; the home rules decide
            properties = self.resolve(stack, resource["Properties"])
            if not any(target.get("Arn") == function_arn for target in properties.get("Targets", [])):
                continue
            pattern = properties.get("EventPattern")
            if not isinstance(pattern, dict):
                raise CloudAssemblyError(f"{stack.artifact_id}/{logical_id}: EventPattern is no JSON object")
            name = str(properties.get("Name") or self._generated_name(stack, logical_id))
            found.append(
                FastPathRuleDefinition(
                    logical_id=logical_id,
                    name=name,
                    detection_id=detection_id_from_rule(name, name_prefix),
                    event_pattern=pattern,
                    state=str(properties.get("State", "ENABLED")),
                )
            )
        return tuple(found)

    def log_group_names(self) -> tuple[str, ...]:
        return tuple(
            self.physical_name(stack, logical_id)
            for stack, logical_id, _ in self.resources_of_type("AWS::Logs::LogGroup")
        )


def find_function(cdk_out: Path, handler: str, *, account_id: str, region: str) -> FunctionDefinition | None:
    """The function whose Handler is ``handler`` in the cloud assembly at ``cdk_out``; None when nothing is
    synthesized there or the assembly has no such function (e.g. only the trail stack was synthesized)."""
    if not (cdk_out / "manifest.json").is_file():
        return None
    return CloudAssembly(cdk_out, account_id=account_id, region=region).function_with_handler(handler)


def load_deployment(cdk_out: Path, *, account_id: str, region: str, forwarder_handler: str) -> Deployment:
    assembly = CloudAssembly(cdk_out, account_id=account_id, region=region)
    function, topics = assembly.forwarder(forwarder_handler)
    filters = assembly.metric_filters()
    if not filters:
        raise CloudAssemblyError(
            f"no AWS::Logs::MetricFilter in {cdk_out}: is the alerting stack synthesized?"
        )
    filter_metrics = {(f.namespace, f.metric_name) for f in filters}
    alarms = assembly.alarms()
    return Deployment(
        account_id=account_id,
        region=region,
        metric_filters=filters,
        alarms=tuple(a for a in alarms if (a.namespace, a.metric_name) in filter_metrics),
        unsimulated_alarms=tuple(a for a in alarms if (a.namespace, a.metric_name) not in filter_metrics),
        forwarder=function,
        forwarder_topics=topics,
        fast_path_rules=assembly.fast_path_rules(
            assembly.function_arn(forwarder_handler), function.environment.get("ALARM_NAME_PREFIX", "")
        ),
        log_group_names=assembly.log_group_names(),
    )
