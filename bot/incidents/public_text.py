"""What may be said in public: drafts for the status page, and the check that refuses internal details."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from bot.core.formats import EMAIL
from bot.core.redaction import redact
from bot.domain import Category, Ticket

# Identifiers shaped like ours or like common request IDs: ws_4f2a9c, req-91ab…, UUIDs.
# A digit is required, so "workspace-level" or "request-level" stay ordinary English.
_INTERNAL_ID = re.compile(r"(?i)\b(?:ws|wks|workspace|req|request)[-_](?=[A-Za-z]*\d)[A-Za-z0-9]{4,}\b|"
                          r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")

# Slack's own markup (<@U123>, <#C123>, <!channel>, <!subteam^S1>) and the mentions people type (@here, @dana).
_SLACK_MENTION = re.compile(r"<[@#!][^<>\s]*>|(?<![\w.@])@[A-Za-z][\w.-]*[A-Za-z0-9]")
# Host names that only resolve inside: db-1.internal, vpn.corp, printer.local, api.default.svc.cluster.local.
_INTERNAL_HOST = re.compile(r"(?i)(?<![\w.@-])(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                            r"(?:internal|corp|local|localdomain|lan|intranet|intra|private|svc|consul|home\.arpa)"
                            r"|localhost)(?![\w-]|\.[a-z0-9])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")
# RFC 1918, loopback, link-local, carrier-grade NAT, "this network", unique local (fc00::/7).
_PRIVATE_NETS = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "0.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128"))
# Server paths (/var/log/app.log, ~/.ssh/id_rsa) and Windows ones (C:\logs\app.log, \\fileserver\share); an
# API path such as /api/v2/invoices or a link's path is not one.
_FILE_PATH = re.compile(
    r"(?<![\w/.:~-])(?:~|/(?:var|etc|home|usr|opt|tmp|srv|root|proc|sys|dev|mnt|run|lib|lib64|bin|sbin|boot|"
    r"Users|private|Library|Volumes|nix|snap))(?:/[\w.@%+-]+)+/?"
    r"|(?<![\w])[A-Za-z]:\\[^\s\"'<>|]*|(?<![\w\\])\\\\[\w.-]+\\[^\s\"'<>|]+")
_CHANNEL_NAME = re.compile(r"(?<![\w&#/])#[A-Za-z][\w-]*")
_TICKET_NUMBER = re.compile(r"(?i)(?<![\w&#])#\d+\b|\bticket\s*(?:#|no\.?|number)?\s*\d+\b")

_AREA = {Category.AUTH: "sign-in", Category.BILLING: "billing", Category.INTEGRATION: "integrations",
         Category.PERFORMANCE: "performance", Category.UI: "the web app"}


def public_title(ticket: Ticket) -> str:
    """The status page incident's title: names the affected product area, never the customer or ticket."""
    area = _AREA.get(ticket.category) if ticket.category else None
    return f"Service disruption affecting {area}" if area else "Service disruption"


def investigating_message(ticket: Ticket, *, cadence_minutes: int) -> str:
    """The first public status update (Investigating), promising the next update within the cadence."""
    return ("We are investigating reports that some customers cannot use parts of the service"
            f"{' (' + _AREA[ticket.category] + ')' if ticket.category else ''}. Our engineers are engaged, and we "
            f"will post an update within {cadence_minutes} minutes.")


def _private_ip(message: str) -> str | None:
    for candidate in (*_IPV4.findall(message), *_IPV6.findall(message)):
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if any(address in net for net in _PRIVATE_NETS):
            return str(candidate)
    return None


def _first(pattern: re.Pattern[str]) -> Callable[[str], str | None]:
    def find(message: str) -> str | None:
        match = pattern.search(message)
        return match.group(0) if match else None
    return find


# What is named in the refusal, and how it is found; the first found is the one named.
_INTERNAL_DETAILS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("the Slack mention", _first(_SLACK_MENTION)),
    ("the internal ID", _first(_INTERNAL_ID)),
    ("a private IP address", _private_ip),
    ("the internal host name", _first(_INTERNAL_HOST)),
    ("the file path", _first(_FILE_PATH)),
    ("the Slack channel name", _first(_CHANNEL_NAME)),
    ("the ticket number", _first(_TICKET_NUMBER)),
)


def leak_problem(message: str, *, ticket: Ticket | None = None) -> str | None:
    """Why a public message must not be published as written, or None when it is fine."""
    if ticket is not None:
        for label, secret in (("the workspace ID", ticket.workspace_id),
                              ("the request ID", ticket.environment.request_id),
                              ("the requester's email", ticket.requester_email)):
            if secret and secret.lower() in message.lower():
                return f"Remove {label} ({secret[:40]}): status updates are public"
    if email := EMAIL.search(message):
        return f"Remove the email address ({email.group(0)[:40]}): status updates are public"
    if found := redact(message).kinds:
        return f"Remove {found[0]}: status updates are public"  # named, never quoted: it is a secret
    for label, find in _INTERNAL_DETAILS:
        if detail := find(message):
            return f"Remove {label} ({detail[:40]}): status updates are public"
    return None
