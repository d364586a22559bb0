"""Which statements count as reads for grievance.pg_statements: a wrong
"read" would turn a rollback into a commit."""

import pytest

from grievance.pg_statements import _only_reads


@pytest.mark.parametrize(
    "statement",
    ["SELECT 1", "  select id FROM cases WHERE id = %(id)s", ";", " ; "],
)
def test_reads(statement: str) -> None:
    assert _only_reads(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO cases (id) VALUES (1)",
        "UPDATE cases SET status = 'new'",
        "DELETE FROM cases",
        "WITH gone AS (DELETE FROM cases RETURNING id) SELECT count(*) FROM gone",
        "SELECT 1 AS x INTO TEMP copy_of",
        "select * into copy_of from cases",
        "SELECT pg_notify('jobs', 'x')",
        "SELECT set_config('app.actor', '1', false)",
        "SAVEPOINT sa_savepoint_1",
        "SET LOCAL lock_timeout = '1s'",
        "CREATE TABLE t (x int)",
        b"SELECT 1",
        "",
    ],
)
def test_everything_else_is_a_write(statement: object) -> None:
    assert not _only_reads(statement)
