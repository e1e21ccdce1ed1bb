"""Accounts: credentials, sessions, authentication, profiles and external sign-in."""
