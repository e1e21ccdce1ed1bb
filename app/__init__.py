"""Mock Interview API: application package (settings, app factory, auth, events, CLI)."""
