"""Reads compiled to SQL: every node's response JSON built by PostgreSQL from one declaration per field
(see docs/architecture.md, "Compiled reads")."""
