"""Every callback, block and action ID in one place, so handlers and builders cannot drift apart."""

from __future__ import annotations

import enum


class Command(enum.StrEnum):
    """The slash commands `manifest.yml` declares (none may be one of Slack's built-in commands)."""

    TICKET = "/ticket"
    INCIDENT_STATUS = "/incident-status"
    CUSTOMER = "/customer"
    RUNBOOK = "/runbook"
    SUPPORT_REPORT = "/support-report"


class Shortcut(enum.StrEnum):
    """Callback IDs of the shortcuts `manifest.yml` declares."""

    FILE_TICKET = "file_ticket_from_message"


class Callback(enum.StrEnum):
    """Callback IDs of the bot's modals, so a submission reaches the handler that opened it."""

    TICKET_SUBMIT = "ticket_submit"
    SEVERITY_SUBMIT = "severity_submit"
    STATUS_SUBMIT = "status_submit"
    ESCALATION_SUBMIT = "escalation_submit"
    RESOLVE_SUBMIT = "resolve_submit"
    CSM_CALL_SUBMIT = "csm_call_submit"
    SUMMARY_SUBMIT = "incident_summary_submit"
    RUNBOOK_ENTRY_SUBMIT = "runbook_entry_submit"
    FIX_DEPLOYED_SUBMIT = "fix_deployed_submit"
    NOT_ALLOWED = "not_allowed"


class TicketField(enum.StrEnum):
    """Block IDs of the intake modal; the action ID inside each block is the same string."""

    WORKSPACE_ID = "workspace_id"
    REQUESTER_EMAIL = "requester_email"
    SUMMARY = "summary"
    WHAT_HAPPENED = "what_happened"
    EXPECTED = "expected"
    IMPACT = "impact"
    PLAN_TIER = "plan_tier"
    BROWSER = "browser"
    OS = "os"
    URL = "url"
    OCCURRED_AT = "occurred_at"
    CUSTOMER_TIMEZONE = "customer_timezone"
    REQUEST_ID = "request_id"
    ATTACHMENT_LINK = "attachment_link"
    HELPDESK_LINK = "helpdesk_link"
    CATEGORY = "category"


class SeverityField(enum.StrEnum):
    """Block IDs of the change-severity modal; each block's action ID is the same string."""

    IMPACT = "severity_impact"
    REASON = "severity_reason"


class StatusField(enum.StrEnum):
    """Block IDs of the status update modal; each block's action ID is the same string."""

    STATUS = "status_state"
    MESSAGE = "status_message"
    REASON = "status_backwards_reason"


class EscalationField(enum.StrEnum):
    """Block IDs of the escalation modal; each block's action ID is the same string."""

    WORKSPACE_ID = "esc_workspace_id"
    PLAN_TIER = "esc_plan_tier"
    OCCURRED_AT = "esc_occurred_at"
    CUSTOMER_TIMEZONE = "esc_customer_timezone"
    EXPECTED = "esc_expected"
    ACTUAL = "esc_actual"
    REQUEST_ID = "esc_request_id"
    SENTRY_URL = "esc_sentry_url"
    REPRO_STEPS = "esc_repro_steps"
    REPRO_RESULT = "esc_repro_result"
    COMPONENT = "esc_component"
    TEAM = "esc_team"
    JIRA = "esc_jira"
    CUSTOMER_IMPACT = "esc_customer_impact"


class ClosureField(enum.StrEnum):
    """Block IDs of the resolve modal and the checklist's modals; each block's action ID is the same string."""

    ROOT_CAUSE = "close_root_cause"
    CONFIRMED = "close_confirmed"
    NOVEL_PATH = "close_novel_path"
    JIRA_KEY = "close_jira_key"
    SENTRY_ID = "close_sentry_id"
    NOTE = "close_note"
    CSM = "close_csm"
    CALL_AT = "close_call_at"
    SUMMARY = "close_summary"
    RUNBOOK_TITLE = "close_runbook_title"
    RUNBOOK_KEYWORDS = "close_runbook_keywords"
    RUNBOOK_STEPS = "close_runbook_steps"
    RELEASE_TAG = "fix_release_tag"
    IN_PRODUCTION = "fix_in_production"
    VISIBLE_AT = "fix_visible_at"


class Action(enum.StrEnum):
    """Action IDs of the buttons on ticket cards and in incident channels."""

    FIRST_RESPONSE = "ticket_first_response"
    CHANGE_SEVERITY = "ticket_change_severity"
    TAKE_COMMAND = "incident_take_command"
    POST_STATUS = "incident_post_status"
    RETRY_STEP = "incident_retry_step"
    GIVE_UP_STEP = "incident_give_up_step"
    ESCALATE = "ticket_escalate"
    ACKNOWLEDGE = "escalation_acknowledge"
    HAND_BACK = "escalation_hand_back"
    FILE_FROM_MESSAGE = "ticket_file_from_message"
    CUSTOMER_SHOW = "ticket_customer"
    CUSTOMER_RETRY = "customer_try_again"
    CUSTOMER_ACTION = "customer_action"
    RESOLVE = "ticket_resolve"
    CLOSURE_ITEM = "closure_item"
    FIX_DEPLOYED = "ticket_fix_deployed"
