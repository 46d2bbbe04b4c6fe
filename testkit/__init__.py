"""Test doubles and builders shared by the tests, the demo and the benchmarks.

* ``lambda_context``: a Lambda context with a real clock of the time left (no AWS, no moto);
* ``alarms``: real-shaped CloudWatch alarm notifications (SNS and alarm action) and a CloudTrail record;
* ``cloudtrail``: builders for whole CloudTrail records of many kinds, for table-driven tests;
* ``moto_harness``: moto's server on loopback, taught our filter-pattern engine, and helpers to run the
  forwarder as deployed (imports moto: only integration tests, the demo and the benchmark use it);
* ``pagerduty_receiver``: a local PagerDuty Events API v2 endpoint validating every event against a schema;
* ``synth``: ``cdk synth`` with the pinned CLI.
"""
