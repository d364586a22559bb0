"""The driver's reads (grievance.driver) against SQLAlchemy's, on PostgreSQL."""

from tests.test_driver import (  # noqa: F401  (collected here with PostgreSQL's app)
    test_a_list_bound_as_it_runs_is_refused,
    test_the_queue_reads_the_same_rows_through_the_driver,
)
