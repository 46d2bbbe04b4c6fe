"""Compilers from the engine's parsed patterns to other matchers (SQL for Athena, ...)."""
