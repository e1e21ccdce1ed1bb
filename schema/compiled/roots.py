"""Root fields that compile, by GraphQL name, for the operation-level path (operations.py).

Each is an `answer(request, **arguments)` function beside its field: the field's arguments (Python
names, as the resolver gets them) to the compiled answer, or None when it does not compile. The
field's resolver calls the same function first and takes its resolver path on None, so there is one
definition of how arguments become the compiled form's values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from schema.compiled.execution import Precompleted

Answer = Callable[..., Awaitable[Precompleted | None]]
AnswerT = TypeVar("AnswerT", bound=Answer)
ROOT_READS: dict[str, Answer] = {}


def root_read(field_name: str) -> Callable[[AnswerT], AnswerT]:
    """Register `answer` as the compiled form of the root query field `field_name`."""

    def register(answer: AnswerT) -> AnswerT:
        ROOT_READS[field_name] = answer
        return answer

    return register
