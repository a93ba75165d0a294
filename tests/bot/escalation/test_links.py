"""bot/ticket_card/links.py and bot/core/url_template.py: diagnostics links filled safely from the ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.core.config import Links, load_config
from bot.core.config.parse import _LINK_PLACEHOLDERS
from bot.core.url_template import fill, placeholder_names, template_problem
from bot.ticket_card.links import WINDOW, DiagnosticLink, diagnostic_links

CONTRACT = Path(__file__).resolve().parents[3] / ".." / "shared" / "contract" / "supportbot.toml"
AROUND = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
EVERYTHING = ("https://logs.example.com/q?ws={workspace_id}&req={request_id}&from={start}&to={end}"
              "&from_ms={start_ms}&to_ms={end_ms}")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def test_the_window_is_fifteen_minutes_either_side_in_iso_and_ms() -> None:
    [link] = diagnostic_links(Links(logs=EVERYTHING), workspace_id="ws_1", request_id="req_9", around=AROUND)
    assert link.name == "Logs"
    assert timedelta(minutes=15) == WINDOW
    assert query(link.url) == {
        "ws": "ws_1", "req": "req_9",
        "from": "2026-11-23T18:45:00Z", "to": "2026-11-23T19:15:00Z",
        "from_ms": str(int(datetime(2026, 11, 23, 18, 45, tzinfo=UTC).timestamp()) * 1000),
        "to_ms": str(int(datetime(2026, 11, 23, 19, 15, tzinfo=UTC).timestamp()) * 1000),
    }
    assert "2026-11-23T18%3A45%3A00Z" in link.url  # encoded like every other value


def test_other_time_zones_and_fractions_become_utc_seconds_and_exact_ms() -> None:
    new_york = timezone(timedelta(hours=-5))
    around = datetime(2026, 11, 23, 14, 0, 0, 123_456, tzinfo=new_york)
    [link] = diagnostic_links(Links(logs=EVERYTHING), workspace_id="w", request_id=None, around=around)
    values = query(link.url)
    assert (values["from"], values["to"]) == ("2026-11-23T18:45:00Z", "2026-11-23T19:15:00Z")
    base = int(datetime(2026, 11, 23, 18, 45, tzinfo=UTC).timestamp()) * 1000
    assert (values["from_ms"], values["to_ms"]) == (str(base + 123), str(base + 30 * 60_000 + 123))


def test_a_naive_moment_is_read_as_utc() -> None:
    [link] = diagnostic_links(Links(logs=EVERYTHING), workspace_id="w", request_id=None,
                              around=AROUND.replace(tzinfo=None))
    assert query(link.url)["from"] == "2026-11-23T18:45:00Z"


def test_values_are_url_encoded() -> None:
    [link] = diagnostic_links(Links(sentry=EVERYTHING), workspace_id="ws 1&x=<y>", request_id="a/b?c#d",
                              around=AROUND)
    assert "ws%201%26x%3D%3Cy%3E" in link.url
    assert "a%2Fb%3Fc%23d" in link.url
    assert query(link.url)["ws"] == "ws 1&x=<y>"
    assert query(link.url)["req"] == "a/b?c#d"
    assert urlsplit(link.url).hostname == "logs.example.com"
    assert urlsplit(link.url).fragment == ""


def test_a_missing_request_id_is_empty() -> None:
    [link] = diagnostic_links(Links(logs=EVERYTHING), workspace_id="w", request_id=None, around=AROUND)
    assert query(link.url)["req"] == ""
    assert "req=&" in link.url


def test_both_templates_of_the_contract_sentry_first() -> None:
    links = load_config(CONTRACT).links
    sentry, logs = diagnostic_links(links, workspace_id="ws_42", request_id=None, around=AROUND)
    assert sentry == DiagnosticLink(
        name="Sentry",
        url="https://sentry.example.com/organizations/acme/issues/?query=workspace_id%3Aws_42"
            "&start=2026-11-23T18%3A45%3A00Z&end=2026-11-23T19%3A15%3A00Z")
    assert logs.name == "Logs"
    assert logs.url == ("https://app.datadoghq.com/logs?query=%40workspace_id%3Aws_42"
                        "&from_ts=1795459500000&to_ts=1795461300000")


def test_no_templates_no_links() -> None:
    assert diagnostic_links(Links(), workspace_id="w", request_id="r", around=AROUND) == []
    [only] = diagnostic_links(Links(logs="https://l.example.com/{workspace_id}"), workspace_id="w",
                              request_id=None, around=AROUND)
    assert only == DiagnosticLink(name="Logs", url="https://l.example.com/w")


def test_every_placeholder_the_configuration_allows_is_filled() -> None:
    template = "https://x.example.com/?" + "&".join(f"{n}={{{n}}}" for n in sorted(_LINK_PLACEHOLDERS))
    assert template_problem(template, _LINK_PLACEHOLDERS) is None
    [link] = diagnostic_links(Links(logs=template), workspace_id="w", request_id="r", around=AROUND)
    assert "{" not in link.url


# bot/core/url_template.py ----------------------------------------------------------------------------

def test_fill() -> None:
    assert fill("https://x.example.com/{a}/{b}?c={a}", {"a": "1 2", "b": "é/"}) == (
        "https://x.example.com/1%202/%C3%A9%2F?c=1%202")
    assert fill("https://x.example.com/{ a }/{}", {}) == "https://x.example.com/{ a }/{}"  # not placeholders
    with pytest.raises(KeyError):
        fill("https://x.example.com/{missing}", {"a": "1"})
    assert placeholder_names("https://x/{b}/{a}/{b}") == ["b", "a"]


@pytest.mark.parametrize(("template", "problem"), [
    (None, "expected an http(s) URL template, got None"),
    (42, "expected an http(s) URL template, got 42"),
    ("datadog", "expected an http(s) URL template"),
    ("ftp://logs.example.com/{workspace_id}", "expected an http(s) URL template"),
    ("https://", "expected an http(s) URL template"),
    ("https:///path/{workspace_id}", "expected an http(s) URL template"),
    ("https://x.example.com/?q={customer_id}", "unknown placeholder {customer_id}"),
    ("{workspace_id}", "placeholder {workspace_id} is in the scheme or host"),
    ("{workspace_id}/logs", "placeholder {workspace_id} is in the scheme or host"),
    ("https://{workspace_id}.sentry.io/issues", "placeholder {workspace_id} is in the scheme or host"),
    ("https://sentry.io{workspace_id}/issues", "placeholder {workspace_id} is in the scheme or host"),
    ("https://{workspace_id}@sentry.io/", "placeholder {workspace_id} is in the scheme or host"),
    ("https://sentry.io:{start_ms}/", "placeholder {start_ms} is in the scheme or host"),
    ("http{request_id}://sentry.io/", "placeholder {request_id} is in the scheme or host"),
])
def test_template_problem(template: object, problem: str) -> None:
    found = template_problem(template, _LINK_PLACEHOLDERS)
    assert found is not None and problem in found
    assert "\n" not in found


@pytest.mark.parametrize("template", [
    "https://sentry.example.com/issues/?query=workspace_id%3A{workspace_id}",
    "http://localhost:9000/logs#from={start}&to={end}",
    "HTTPS://Logs.Example.com/{workspace_id}/{request_id}",
    "https://logs.example.com?ws={workspace_id}",
    "https://logs.example.com/static",
])
def test_templates_that_are_fine(template: str) -> None:
    assert template_problem(template, _LINK_PLACEHOLDERS) is None
