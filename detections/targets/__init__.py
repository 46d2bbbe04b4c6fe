"""Compile targets: each turns the engine's parsed filter patterns into another matcher's language, or refuses."""
