"""qualcode: qualitative interview studies from transcripts to theme tables."""

__version__ = "0.1.0"
