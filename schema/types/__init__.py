"""GraphQL object types, kept separate from the ORM models in db/models."""
