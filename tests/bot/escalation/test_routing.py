"""bot/escalation/routing.py: component first, then the last matching path glob, CODEOWNERS-style."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.config import BotConfig, Team, load_config
from bot.escalation.routing import Route, RouteRule, components, match, path_of, route, routing_key_env

CONTRACT = Path(__file__).resolve().parents[3] / ".." / "shared" / "contract" / "supportbot.toml"


@pytest.fixture(scope="module")
def contract() -> BotConfig:
    return load_config(CONTRACT)


def team(name: str, *, components: tuple[str, ...] = (), paths: tuple[str, ...] = (),
         key_env: str | None = None) -> Team:
    return Team(name=name, channel="C0X1", oncall_usergroup="S0X1", manager="U0X1", components=components,
                paths=paths, pagerduty_routing_key_env=key_env)


def names(found: Route) -> tuple[str | None, str | None, str | None]:
    return (found.team.name if found.team else None,
            found.winner.pattern if found.winner else None,
            found.overruled.pattern if found.overruled else None)


# Against the contract ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("component", "team_name"), [
    ("billing", "payments"), ("Billing", "payments"), (" WEBHOOKS ", "payments"), ("auth", "platform"),
    ("sso", "platform"), ("api", "platform"),
])
def test_the_component_names_the_team(contract: BotConfig, component: str, team_name: str) -> None:
    found = route(contract.teams, component=component, url=None)
    assert found.team is not None and found.team.name == team_name
    assert found.winner is not None and found.winner.by == "component"
    assert found.winner.pattern == component.strip().lower()  # the spelling the configuration uses
    assert not found.conflict


@pytest.mark.parametrize(("url", "team_name", "pattern"), [
    ("/api/billing/invoices", "payments", "/api/billing/**"),  # after "/api/**" in the file: the last match wins
    ("/api/webhooks/stripe", "payments", "/api/webhooks/**"),
    ("/api/billing", "payments", "/api/billing/**"),  # "**" is zero segments too
    ("/api/users", "platform", "/api/**"),
    ("/api", "platform", "/api/**"),
    ("/api/billingx", "platform", "/api/**"),  # a segment, not a prefix
    ("/login", "platform", "/login/**"),
    ("/sso/saml/callback", "platform", "/sso/**"),
    ("https://app.example.com/api/billing/invoices?x=1#f", "payments", "/api/billing/**"),
    ("https://app.example.com/api/users?next=/api/billing/x", "platform", "/api/**"),  # the query is no path
    ("POST /api/webhooks/stripe", "payments", "/api/webhooks/**"),
    ("api/billing/invoices", "payments", "/api/billing/**"),
    ("app.example.com/api/billing/invoices", "payments", "/api/billing/**"),
    ("/api/billing/invoices/", "payments", "/api/billing/**"),
])
def test_the_last_matching_path_names_the_team(contract: BotConfig, url: str, team_name: str,
                                               pattern: str) -> None:
    found = route(contract.teams, component=None, url=url)
    assert names(found) == (team_name, pattern, None)
    assert found.winner is not None and found.winner.by == "path"


def test_the_component_wins_over_the_path_and_the_loser_is_kept(contract: BotConfig) -> None:
    found = route(contract.teams, component="auth", url="/api/billing/x")
    assert names(found) == ("platform", "auth", "/api/billing/**")
    assert found.conflict
    assert found.overruled == RouteRule(team=contract.teams[1], by="path", pattern="/api/billing/**")


def test_agreeing_component_and_path_is_no_conflict(contract: BotConfig) -> None:
    found = route(contract.teams, component="billing", url="https://app.example.com/api/billing/invoices")
    assert names(found) == ("payments", "billing", None)
    assert not found.conflict


@pytest.mark.parametrize(("component", "url"), [
    (None, None), ("", ""), ("   ", "   "), ("search", None), (None, "/dashboard"), ("search", "/reports/x"),
    (None, "https://app.example.com/"), (None, "https://app.example.com/x?path=/api/billing"),
])
def test_nobody_owns_it(contract: BotConfig, component: str | None, url: str | None) -> None:
    found = route(contract.teams, component=component, url=url)
    assert found == Route(team=None, winner=None, overruled=None)
    assert not found.conflict


def test_an_unknown_component_falls_through_to_the_path(contract: BotConfig) -> None:
    assert names(route(contract.teams, component="search", url="/api/billing/x")) == (
        "payments", "/api/billing/**", None)


def test_components_in_file_order_for_the_select(contract: BotConfig) -> None:
    assert [(name, t.name) for name, t in components(contract.teams)] == [
        ("auth", "platform"), ("sso", "platform"), ("api", "platform"),
        ("billing", "payments"), ("payments", "payments"), ("webhooks", "payments")]


def test_routing_key_env(contract: BotConfig) -> None:
    platform, payments = contract.teams
    assert routing_key_env(platform) == "PAGERDUTY_ROUTING_KEY"
    assert routing_key_env(payments) == "PAGERDUTY_ROUTING_KEY_PAYMENTS"


# Hand-built teams ------------------------------------------------------------------------------------------

def test_a_component_two_teams_list_stays_with_the_first() -> None:
    first = team("first", components=("Shared", "a"))
    second = team("second", components=("shared", "b"))
    assert [(name, t.name) for name, t in components((first, second))] == [
        ("Shared", "first"), ("a", "first"), ("b", "second")]
    assert names(route((first, second), component="SHARED", url=None)) == ("first", "Shared", None)


def test_the_last_match_wins_across_and_within_teams() -> None:
    broad = team("broad", paths=("/**", "/docs/*"))
    narrow = team("narrow", paths=("/docs/**",))
    after = team("after", paths=("*.pdf",))
    teams = (broad, narrow, after)
    assert names(route(teams, component=None, url="/docs/intro")) == ("narrow", "/docs/**", None)
    assert names(route(teams, component=None, url="/docs/a/guide.pdf")) == ("after", "*.pdf", None)
    assert names(route(teams, component=None, url="/")) == ("broad", "/**", None)
    # Within one team too: "/docs/*" comes after "/**".
    assert names(route((broad,), component=None, url="/docs/x")) == ("broad", "/docs/*", None)


def test_a_component_agreeing_with_a_losing_path_rule_is_still_a_conflict_with_the_winner() -> None:
    # The path's answer is its last match; an earlier rule naming the component's team does not count.
    a = team("a", components=("core",), paths=("/x/**",))
    b = team("b", paths=("/x/y/**",))
    found = route((a, b), component="core", url="/x/y/z")
    assert names(found) == ("a", "core", "/x/y/**")
    assert found.overruled is not None and found.overruled.team is b


def test_no_teams() -> None:
    assert route((), component="billing", url="/api/billing") == Route(team=None, winner=None, overruled=None)
    assert components(()) == []


def test_a_team_without_its_own_routing_key_uses_the_default() -> None:
    assert routing_key_env(team("x")) == "PAGERDUTY_ROUTING_KEY"
    assert routing_key_env(team("x", key_env="PD_X")) == "PD_X"


# path_of -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "path"), [
    ("https://app.example.com/api/billing/invoices?x=1#f", "/api/billing/invoices"),
    ("http://localhost:3000/api/x", "/api/x"),
    ("HTTPS://APP.EXAMPLE.COM/Api/X", "/Api/X"),
    ("https://app.example.com", "/"),
    ("https://app.example.com?x=1", "/"),
    ("//cdn.example.com/assets/app.js", "/assets/app.js"),
    ("/api/x", "/api/x"),
    ("api/x", "/api/x"),
    ("GET /api/x", "/api/x"),
    ("post  https://app.example.com/api/x", "/api/x"),
    ("GET /api/x HTTP/1.1", "/api/x"),
    ("  /api/x/  ", "/api/x"),
    ("/api//x///", "/api/x"),
    ("app.example.com/api/x", "/api/x"),
    ("localhost:8080/api/x", "/api/x"),
    ("v1.2/items", "/v1.2/items"),  # not a host: the last label is no word
    ("/api/caf%C3%A9", "/api/caf%C3%A9"),
    ("", "/"),
    ("   ", "/"),
    ("GET", "/GET"),
    ("https://[oops/api/x", "/api/x"),
])
def test_path_of(url: str, path: str) -> None:
    assert path_of(url) == path


# match -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("/api/**", "/api", True),  # "**" is zero segments too
    ("/api/**", "/api/", True),  # the trailing slash is ignored
    ("/api/**", "/api/x", True),
    ("/api/**", "/api/x/y/z", True),
    ("/api/**", "/apix", False),
    ("/api/**", "/v1/api/x", False),  # anchored at the root
    ("/**/invoices", "/invoices", True),
    ("/**/invoices", "/a/b/invoices", True),
    ("/**/invoices", "/a/b/invoices/7", True),  # as a directory: what is below it too
    ("/**/invoices", "/a/b/invoices-7", False),
    ("/api/**/items", "/api/items", True),
    ("/api/**/items", "/api/v1/v2/items", True),
    ("/api/*", "/api/x", True),
    ("/api/*", "/api/x/y", False),  # "*" does not cross "/"
    ("/api/*", "/api", False),
    ("/api/*/items", "/api/v1/items", True),
    ("/api/*/items", "/api/v1/v2/items", False),
    ("/api/v?/x", "/api/v1/x", True),
    ("/api/v?/x", "/api/v10/x", False),
    ("/api/v?/x", "/api/v/x", False),
    ("/api/v*", "/api/v", True),
    ("/api/a**b", "/api/a/b", False),  # stars inside a segment are one star
    ("/api/a**b", "/api/axxb", True),
    ("billing/**", "/api/billing/x", True),  # no leading "/": any depth
    ("billing/**", "/billing", True),
    ("billing/**", "/api/billingx", False),
    ("*.pdf", "/a/b/c.pdf", True),
    ("*.pdf", "/c.pdf", True),
    ("*.pdf", "/c.pdfx", False),
    ("/api/billing", "/api/billing", True),  # a literal last segment owns what is below, like a directory
    ("/api/billing", "/api/billing/invoices", True),
    ("/api/billing", "/api/billing-old", False),
    ("/api/", "/api/x", True),
    ("/", "/anything/at/all", True),
    ("**", "/", True),
    ("/**", "/", True),
    ("*", "/x", True),
    ("/api/(x)+[y]", "/api/(x)+[y]", True),  # regex characters are literal
    ("/api/(x)+[y]", "/api/xx", False),
    ("/API/**", "/api/x", False),  # URL paths are case-sensitive
])
def test_match(pattern: str, path: str, expected: bool) -> None:
    assert match(pattern, path) is expected


# Never raises ------------------------------------------------------------------------------------------

_ODD_TEAMS = (
    team("a", components=("x", "Ünïcode"), paths=("/**", "*", "**/*.?s", "/a/**/b/*", "[", "(", "/")),
    team("b", components=("X",), paths=("a**b", "?", "/{x}/**")),
)


@given(component=st.one_of(st.none(), st.text()), url=st.one_of(st.none(), st.text()))
def test_route_never_raises(component: str | None, url: str | None) -> None:
    found = route(_ODD_TEAMS, component=component, url=url)
    assert (found.team is None) == (found.winner is None)
    assert found.overruled is None or (found.winner is not None and found.winner.by == "component")


@given(pattern=st.text(), path=st.text())
def test_match_and_path_of_never_raise(pattern: str, path: str) -> None:
    assert isinstance(match(pattern, path), bool)
    assert path_of(path).startswith("/")
