"""The compliance report: which Security Hub controls the synthesized baseline answers, and how.

Generated from a cloud assembly (``cdk.out``) by ``python -m compliance`` / ``make compliance-report``;
never written by hand. See :mod:`compliance.report`.
"""
