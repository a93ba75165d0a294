"""The scenario tests' stand-ins (PagerDuty, Statuspage, Jira, the customer endpoint) and their `bot`, for the
in-process fault tests; the process tests define their own."""

from tests.scenarios.conftest import (  # noqa: F401  (fixtures, found by pytest by name)
    bot,
    customer_endpoint,
    jira,
    pagerduty,
    statuspage,
    vendor_env,
)
