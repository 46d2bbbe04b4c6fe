"""Compile targets: each turns the engine's parsed filter patterns into another language (EventBridge
patterns, Athena SQL, ...), or refuses with the reason."""
