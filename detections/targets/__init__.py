"""Compile targets: each turns the engine's parsed filter patterns into another language, or refuses."""
