"""Bots: the engine that runs a strategy live or in dry run, one tick at a time, as a DB row."""
