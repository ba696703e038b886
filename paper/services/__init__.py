"""Writes and workflows of the paper exchange (services named <entity>_<verb>)."""
