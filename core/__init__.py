"""The bottom layer: settings, domain value types, errors, clock, token signing."""
