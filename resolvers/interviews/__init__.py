"""Interviews: booking, access rules, the lifecycle and feedback."""
