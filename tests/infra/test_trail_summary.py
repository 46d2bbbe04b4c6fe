"""demo/synth_summary.py reads the synthesized cloud assembly back into a summary a reviewer can read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from demo.synth_summary import SummaryError, main, summarize

if TYPE_CHECKING:  # the fixtures themselves come from conftest.py
    from tests.infra.conftest import SynthesizedApp


def test_summary_lists_both_stacks_the_trail_settings_and_the_alarms(synthesized_app: SynthesizedApp) -> None:
    text = summarize(synthesized_app.outdir)
    assert "Stack SecurityBaselineTrail: 10 resources" in text
    assert "Stack SecurityBaselineAlerting:" in text
    assert "multi-region: yes, global service events: yes, log file validation: yes" in text
    assert "management events: All, excluded sources: none" in text
    assert "Insights: off" in text
    assert "lifecycle: GLACIER after 90 days; expire after 2555 days" in text
    assert "Log group /aws/cloudtrail/security-baseline: retention 365 days" in text
    alarm_count = len(synthesized_app.alerting_stack.alarms) + len(
        synthesized_app.alerting_stack.health_alarms
    )
    assert f"{alarm_count} alarms" in text
    first = sorted(synthesized_app.alerting_stack.alarms)[0]
    assert f"security-baseline-{first}: Sum of {first} over 60 s x 20 GreaterThanOrEqualToThreshold 1" in text


def test_summary_without_a_cloud_assembly_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SummaryError, match="run `cdk synth`"):
        summarize(tmp_path)
    assert main([str(tmp_path)]) == 1
    assert "run `cdk synth`" in capsys.readouterr().err
