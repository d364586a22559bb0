"""The model, crypto and audit tests again, on PostgreSQL."""

from tests.test_cli import (  # noqa: F401
    test_deleted_audit_event_is_detected,
    test_seed_demo_is_idempotent,
    test_verify_audit_detects_tampering,
)
from tests.test_models import *  # noqa: F403
from tests.test_outbox import *  # noqa: F403
from tests.test_staff_auth import (  # noqa: F401
    test_cookie_replayed_after_logout_gets_the_login_page,
    test_five_wrong_passwords_lock_the_account,
    test_used_code_is_refused_the_second_time,
)
