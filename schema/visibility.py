"""SQL forms of the visibility rules of resolvers/ (who may see an object reached by id), for the
types' `sql_visible` (schema/compiled/mapped.py). Each mirrors the Python rule it names; the
generated differential tests (tests/execution) compare both for every kind of viewer."""

from __future__ import annotations

from schema.compiled.compiler import Scope


def participant_or_staff(scope: Scope, interviewer: str, candidate: str) -> str:
    """`can_view_interview` (resolvers/interviews/access.py) of the interview with these columns."""
    compiler = scope.compiler
    if compiler.role is None:
        return "false"
    if compiler.is_staff:
        return "true"
    viewer = scope.params.viewer()
    return f"({interviewer} = {viewer} OR {candidate} = {viewer})"


def in_visible_interview(scope: Scope) -> str:
    """Rows of an interview the viewer may see (`visible_messages`, `visible_feedback`)."""
    compiler = scope.compiler
    if compiler.role is None:
        return "false"
    if compiler.is_staff:
        return "true"
    rule = participant_or_staff(scope, "i.interviewer_id", "i.candidate_id")
    return f"EXISTS (SELECT 1 FROM interviews i WHERE i.id = {scope.column('interview_id')} AND {rule})"  # noqa: S608  (aliases and parameters)


def owner(scope: Scope, *, admins: bool = False) -> str:
    """Rows of the viewer (`own_notifications`), and of anyone for admins (`visible_ledger_entries`)."""
    compiler = scope.compiler
    if compiler.role is None:
        return "false"
    if admins and compiler.is_admin:
        return "true"
    return f"{scope.column('user_id')} = {scope.params.viewer()}"


def reporter_accused_or_staff(scope: Scope) -> str:
    """`visible_no_show_reports` (resolvers/interviews/lifecycle.py)."""
    compiler = scope.compiler
    if compiler.role is None:
        return "false"
    if compiler.is_staff:
        return "true"
    viewer = scope.params.viewer()
    return f"({scope.column('reporter_id')} = {viewer} OR {scope.column('accused_id')} = {viewer})"


def staff(scope: Scope) -> str:
    """`visible_blocks` (resolvers/moderation.py): moderators and admins."""
    return "true" if scope.compiler.is_staff else "false"


def owner_or_staff(scope: Scope) -> str:
    """`visible_deliveries` (resolvers/deliveries/webhooks.py): the member's own; staff all."""
    return "true" if scope.compiler.is_staff else owner(scope)


def session_owner(scope: Scope) -> str:
    """`ApiKey.resolve_nodes`: the viewer's own, and only to a session (keys are managed with one)."""
    return "false" if scope.compiler.api_key else owner(scope)
