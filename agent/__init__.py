"""What the agent thinks and writes: briefs, extraction, nudges."""
