"""Every record where a catalogue detection and the source's own verdict differ, with the reason.

Keys are corpus record ids ("<file stem>:<line number>"). The corpus test fails when a disagreement appears
that is not listed here, and when a listed one no longer happens (so this file cannot go stale).
"""

from __future__ import annotations

_CIS_COUNTS_ATTEMPTS = (
    "CIS/Security Hub text counts failed attempts too (no errorCode clause) and may not be altered; the "
    "Panther rule requires a successful call"
)

EXPECTED_DISAGREEMENTS: dict[str, str] = {
    # --- Panther: CIS texts count failures, Panther only successes -------------------------------------
    "panther_rule_tests:26": _CIS_COUNTS_ATTEMPTS + " (CreateTrail with an error)",
    "panther_rule_tests:50": _CIS_COUNTS_ATTEMPTS + " (StopLogging with an error)",
    "panther_rule_tests:62": _CIS_COUNTS_ATTEMPTS + " (PutDeliveryChannel with an error)",
    "panther_rule_tests:65": _CIS_COUNTS_ATTEMPTS + " (DeleteDeliveryChannel with an error)",
    "panther_rule_tests:96": _CIS_COUNTS_ATTEMPTS + " (AttachInternetGateway with an error)",
    "panther_rule_tests:118": _CIS_COUNTS_ATTEMPTS + " (CreateNetworkAclEntry with an error)",
    "panther_rule_tests:121": _CIS_COUNTS_ATTEMPTS + " (CreateRoute with an error)",
    "panther_rule_tests:124": _CIS_COUNTS_ATTEMPTS + " (AuthorizeSecurityGroupIngress with an error)",
    "panther_rule_tests:140": _CIS_COUNTS_ATTEMPTS + " (CreateVpc with an error)",
    "panther_rule_tests:183": _CIS_COUNTS_ATTEMPTS + " (DeleteGroupPolicy with an error)",
    "panther_rule_tests:209": _CIS_COUNTS_ATTEMPTS + " (DisableKey with an error)",
    "panther_rule_tests:327": _CIS_COUNTS_ATTEMPTS + " (PutBucketAcl AccessDenied)",
    # --- Panther: the CIS text is broader than the Panther rule ----------------------------------------
    "panther_rule_tests:49": "CIS 4.5 lists StartLogging; Panther's rule is about stopping only",
    "panther_rule_tests:61": "CloudWatch.9 covers DeleteDeliveryChannel; Panther's rule is about "
    "creation only",
    "panther_rule_tests:63": "CloudWatch.9 covers PutDeliveryChannel; Panther's rule is about "
    "disabling/deleting only",
    "panther_rule_tests:157": "CIS 4.4 pages on any AttachRolePolicy; Panther's rule only on admin policies",
    "panther_rule_tests:159": "CIS 4.4 pages on any AttachUserPolicy; Panther's rule only on admin policies",
    "panther_rule_tests:317": "CloudWatch.1 counts every root call without invokedBy; Panther exempts "
    "CreateServiceLinkedRole",
    "panther_rule_tests:320": "CloudWatch.1 counts failed root activity; Panther's rule needs success",
    "panther_rule_tests:322": "CloudWatch.1 counts read-only root calls; Panther exempts them",
    "panther_rule_tests:422": "CloudWatch.2 counts every AccessDenied; Panther exempts calls from "
    "AWS-internal "
    "source hosts (an FQDN sourceIPAddress)",
    "panther_rule_tests:72": "MFAUsed is No on a SAML-federated IAM-user sign-in; the CIS text cannot see "
    "SamlProviderArn and may not be altered (suppress in the forwarder)",
    "panther_rule_tests:76": "Panther exempts a brand-new user by a mocked lookup; a filter pattern has "
    "no lookup",
    "panther_rule_tests:84": "sanitised failed root login without errorMessage; CloudWatch.6 needs "
    'errorMessage = "Failed authentication", which real failed logins carry (see PROVENANCE.md)',
    # --- Panther: our beyond-CIS detections decide differently, on purpose -----------------------------
    "panther_rule_tests:1": "sanitised test keeps layers only in responseElements; we key on "
    "requestParameters.layers (what real records carry when layers are set, see Stratus "
    "lambda-layer-extension), "
    "because responseElements lists existing layers on every configuration update",
    "panther_rule_tests:3": "as panther_rule_tests:1 (layers only in responseElements of a sanitised event)",
    "panther_rule_tests:4": "as panther_rule_tests:1 (layers only in responseElements of a sanitised event)",
    "panther_rule_tests:12": "Panther flags every AddPermission; we page only on principal '*' (public), the "
    "Stratus backdoor; the sanitised event has no principal",
    "panther_rule_tests:13": "as panther_rule_tests:12",
    "panther_rule_tests:9": "Panther ignores a launch permission for a non-numeric userId; we page on any "
    "account grant (the Stratus share-ami technique shares with one account)",
    "panther_rule_tests:28": "Panther ignores selectors that keep management events; the baseline trail's "
    "selectors only change through its stack, so every PutEventSelectors is worth a look",
    "panther_rule_tests:30": "a user resetting their own password via UpdateLoginProfile; a filter pattern "
    "cannot compare the caller with requestParameters.userName",
    "panther_rule_tests:430": "as panther_rule_tests:30 (own password change)",
    "panther_rule_tests:432": "Panther exempts a reset that forces a new password at next sign-in; setting "
    "another user's password is still the privilege-escalation step we page on",
    "panther_rule_tests:184": "a user creating a key for themselves with userName set; a filter pattern "
    "cannot "
    "compare the caller with requestParameters.userName",
    "panther_rule_tests:316": "root creating a key for an IAM user: Panther's rule is about root's own keys; "
    "ours also pages on keys minted for a named user",
    "panther_rule_tests:411": "Panther's rule needs a command sent to many instances (a cached count); "
    "we page "
    "(info) on any shell command, the Stratus ssm-send-command / steal-instance-credentials step",
    # --- StreamAlert ---------------------------------------------------------------------------------
    "streamalert_rule_tests:6": "DeleteSubnet is not in CIS 4.14's list and is routine for network "
    "stacks; no "
    "catalogue detection covers it",
    "streamalert_rule_tests:10": "DeleteDBCluster (impact) has no catalogue detection yet; a candidate, "
    "together "
    "with deletion-protection removal",
    "streamalert_rule_tests:28": "CloudWatch.11 counts every NACL entry; StreamAlert only "
    "allow-from-anywhere ones",
    "streamalert_rule_tests:51": "CloudWatch.10 counts every security group rule; StreamAlert only "
    "0.0.0.0/0 ones",
    "streamalert_rule_tests:55": "sharing a cluster snapshot with one other account is exfiltration (Stratus "
    "rds-share-snapshot); StreamAlert only alerts when it is public",
}
