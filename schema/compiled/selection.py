"""A small, strict reader of a field's selection set, for the compiler (compiler.py).

It merges fields by response key through fragments and inline fragments and honours @skip/@include,
as graphql-core's field collection does. Anything it does not understand exactly (another
directive, a type condition other than the type itself or `Node`, an argument value that is not a
literal or a variable) raises `Unsupported`, and the caller falls back to ordinary execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    SelectionNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)


class Unsupported(Exception):
    """The selection uses something the compiled path does not reproduce exactly."""


@dataclass
class Selected:
    """One response key: the field it selects, its first node (arguments) and merged sub-selections."""

    name: str
    node: FieldNode
    key: str
    selections: list[SelectionNode] = field(default_factory=list)


@dataclass(frozen=True)
class Reader:
    """Reads selection sets of one operation (its fragments and coerced variables)."""

    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    # Names of the variables read so far: a compiled plan is reused only for the same values of these.
    used: set[str] = field(default_factory=set)

    def fields(self, selections: Iterable[SelectionNode], type_name: str) -> dict[str, Selected]:
        collected: dict[str, Selected] = {}
        self._collect(selections, type_name, collected, set())
        return collected

    def argument(self, node: FieldNode, name: str) -> Any:
        """The argument's value (None when absent); literals and variables only."""
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self._value(argument.value)
        return None

    def _collect(
        self,
        selections: Iterable[SelectionNode],
        type_name: str,
        collected: dict[str, Selected],
        visited: set[str],
    ) -> None:
        for selection in selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                entry = collected.get(key)
                if entry is None:
                    entry = collected[key] = Selected(selection.name.value, selection, key)
                if selection.selection_set is not None:
                    entry.selections.extend(selection.selection_set.selections)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                self._check_condition(condition.name.value if condition else None, type_name)
                self._collect(selection.selection_set.selections, type_name, collected, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None:
                    raise Unsupported(name)
                self._check_condition(fragment.type_condition.name.value, type_name)
                self._collect(fragment.selection_set.selections, type_name, collected, visited)
            else:
                raise Unsupported(type(selection).__name__)

    @staticmethod
    def _check_condition(condition: str | None, type_name: str) -> None:
        if condition is not None and condition not in (type_name, "Node"):
            raise Unsupported(condition)

    def _included(self, selection: SelectionNode) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            arguments = directive.arguments or ()
            if name not in ("skip", "include") or len(arguments) != 1:
                raise Unsupported(name)
            value = self._value(arguments[0].value)
            if not isinstance(value, bool):
                raise Unsupported(name)
            if value is (name == "skip"):
                return False
        return True

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            self.used.add(node.name.value)
            return self.variables.get(node.name.value)
        if isinstance(node, NullValueNode):
            return None
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, (StringValueNode, BooleanValueNode)):
            return node.value
        raise Unsupported(type(node).__name__)
