"""Domain operations, one transaction each; GraphQL fields in schema/ call into these."""
