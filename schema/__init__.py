"""The GraphQL schema: Strawberry types, inputs, enums, permission directives and the `schema`."""
