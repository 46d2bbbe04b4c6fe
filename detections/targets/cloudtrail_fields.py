"""What a CloudTrail record's fields hold, for targets whose matchers treat arrays and objects differently.

A filter pattern never matches a selector that reaches an array or an object, and treats a path through an
array as absent. EventBridge (and SQL over arrays) matches an array leaf if *any* element matches, and sees
no value at a path that holds an object. The two agree on a field only if it never holds an array or an
object and none of its parents is an array. This table records the fields for which that is documented.

A field's entry says: the value, when the field is present, is a JSON ``type`` (never an array or an object),
every parent on the path is an object (or the field is absent), and ``nullable`` says whether CloudTrail may
write an explicit ``null`` there. Sources: the CloudTrail record contents reference
(https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html),
the console sign-in event reference
(https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html)
and, for ``requestParameters.*``, the API reference of the one call each detection selects it on (named
beside the entry). A request parameter's type holds for that API; a pattern that reads it without pinning
``eventName`` relies on other services not reusing the name with another shape, which the differential
test over the shared corpus checks as far as the corpus reaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["string", "boolean", "number"]


@dataclass(frozen=True)
class FieldSpec:
    type: FieldType
    nullable: bool = False


_STRING = FieldSpec("string")
_BOOLEAN = FieldSpec("boolean")

#: Dotted path inside the CloudTrail record -> what it holds.
CLOUDTRAIL_FIELDS: dict[str, FieldSpec] = {
    # Record contents reference: top-level and userIdentity scalars.
    "eventVersion": _STRING,
    "eventTime": _STRING,
    "eventSource": _STRING,
    "eventName": _STRING,
    "awsRegion": _STRING,
    "sourceIPAddress": _STRING,
    "userAgent": _STRING,
    "errorCode": _STRING,
    "errorMessage": _STRING,
    "requestID": _STRING,
    "eventID": _STRING,
    "eventType": _STRING,
    "eventCategory": _STRING,
    "apiVersion": _STRING,
    "recipientAccountId": _STRING,
    "sharedEventID": _STRING,
    "vpcEndpointId": _STRING,
    "readOnly": _BOOLEAN,
    "managementEvent": _BOOLEAN,
    "userIdentity.type": _STRING,
    "userIdentity.principalId": _STRING,
    "userIdentity.arn": _STRING,
    "userIdentity.accountId": _STRING,
    "userIdentity.accessKeyId": _STRING,
    "userIdentity.userName": _STRING,
    "userIdentity.invokedBy": _STRING,
    # Console sign-in event reference: "Yes"/"No" and "Success"/"Failure".
    "additionalEventData.MFAUsed": _STRING,
    "responseElements.ConsoleLogin": _STRING,
    # GuardDuty UpdateDetector: Enable (Boolean); CreateFilter: Action (NOOP | ARCHIVE).
    "requestParameters.enable": _BOOLEAN,
    "requestParameters.action": _STRING,
    # Security Hub UpdateStandardsControl: ControlStatus (ENABLED | DISABLED).
    "requestParameters.ControlStatus": _STRING,
    # S3 PutPublicAccessBlock / S3 Control PutPublicAccessBlock: PublicAccessBlockConfiguration booleans.
    "requestParameters.PublicAccessBlockConfiguration.BlockPublicAcls": _BOOLEAN,
    "requestParameters.PublicAccessBlockConfiguration.IgnorePublicAcls": _BOOLEAN,
    "requestParameters.PublicAccessBlockConfiguration.BlockPublicPolicy": _BOOLEAN,
    "requestParameters.PublicAccessBlockConfiguration.RestrictPublicBuckets": _BOOLEAN,
    # IAM CreateAccessKey: UserName (String, optional: absent when a user creates its own key).
    "requestParameters.userName": _STRING,
    # RDS ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute: AttributeName (String).
    "requestParameters.attributeName": _STRING,
    # Lambda CreateFunctionUrlConfig / UpdateFunctionUrlConfig: AuthType (NONE | AWS_IAM).
    "requestParameters.authType": _STRING,
    # SSM SendCommand: DocumentName (String).
    "requestParameters.documentName": _STRING,
    # S3 PutBucketLogging: BucketLoggingStatus (object) -> LoggingEnabled (LoggingEnabled, an object, absent
    # when logging is turned off) -> TargetBucket (String). CloudTrail writes the XML body as nested objects
    # (the shared corpus' PutBucketLogging records agree).
    "requestParameters.BucketLoggingStatus.LoggingEnabled.TargetBucket": _STRING,
    # S3 PutBucketVersioning: VersioningConfiguration (object) -> Status (Enabled | Suspended).
    "requestParameters.VersioningConfiguration.Status": _STRING,
    # RDS ModifyDBInstance / ModifyDBCluster: MasterUserPassword (String; CloudTrail masks the value, e.g.
    # "****", the corpus' records show a string); the ModifyDBInstance response's DBInstance ->
    # PendingModifiedValues (object) -> MasterUserPassword (String).
    "requestParameters.masterUserPassword": _STRING,
    "responseElements.pendingModifiedValues.masterUserPassword": _STRING,
    # RDS ModifyDBInstance / RestoreDBInstanceFromDBSnapshot / RestoreDBInstanceToPointInTime:
    # PubliclyAccessible (Boolean); their response's DBInstance.PubliclyAccessible (Boolean).
    "requestParameters.publiclyAccessible": _BOOLEAN,
    "responseElements.publiclyAccessible": _BOOLEAN,
    # Security Hub BatchUpdateFindings: Workflow (WorkflowUpdate, an object) -> Status (NEW | NOTIFIED |
    # RESOLVED | SUPPRESSED); UpdateFindings: RecordState (ACTIVE | ARCHIVED).
    "requestParameters.Workflow.Status": _STRING,
    "requestParameters.RecordState": _STRING,
    # Lambda AddPermission: Principal (String).
    "requestParameters.principal": _STRING,
}


def field_spec(path: tuple[str, ...]) -> FieldSpec | None:
    """The documented shape of the field at ``path`` (record-relative keys), or None if not documented."""
    return CLOUDTRAIL_FIELDS.get(".".join(path))
