"""Which statements count as reads for grievance.pg_statements: a wrong
"read" would turn a rollback into a commit."""

import pytest

from grievance.pg_statements import _only_reads, _takes_no_lock


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


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT id FROM cases WHERE id = 1 FOR UPDATE",
        "SELECT id FROM cases FOR UPDATE SKIP LOCKED",
        "select id from cases for no key update",
        "SELECT id FROM cases FOR SHARE",
        "SELECT id FROM cases FOR KEY SHARE",
    ],
)
def test_reads_that_lock_rows_need_a_transaction(statement: str) -> None:
    assert not _takes_no_lock(statement)


def test_a_plain_read_needs_none() -> None:
    assert _takes_no_lock("SELECT id, status FROM cases WHERE reference = %(r)s")
