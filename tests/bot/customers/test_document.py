"""bot/customers/document.py: the document's shape, its templates (python-liquid, autoescape off), missing
paths and unsafe links named, and what the configured paths find; and how blocks/customer.py shows the result
to Slack (valid Block Kit, customer data escaped, never markup)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from blocks import customer as words
from bot.customer_data import ActionSection, LinkSection, ListSection, Verification
from bot.customers.document import check_shape, plan_tier_of, render_card, value_at, verify
from bot.domain import PlanTier
from bot.integrations.customer_connection import CustomerDataUnavailable
from bot.sandbox.customer_endpoint import example_document
from tests.blocks.test_builders import assert_valid_blocks

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
CONTACTS = "customer.authorized_contacts"
COMPLIANCE = "customer.compliance"


def document(**changes: Any) -> dict[str, Any]:
    found = example_document("ws_4f2a9c", **changes)
    return copy.deepcopy(found)


def card_text(doc: dict[str, Any]) -> str:
    blocks = words.customer_card(render_card(doc), workspace_id="ws_4f2a9c", fetched_at=NOW)
    assert_valid_blocks(blocks)
    return str(blocks)


# Sections ------------------------------------------------------------------------------------------------

def test_each_section_type_is_rendered() -> None:
    card = render_card(document())
    link, listing, action = card.sections
    assert link == LinkSection("Link to customer details", "Application data",
                               "https://example.com/customer/customer_ws_4f2a9c", True)
    assert listing == ListSection("Account", (("Name", "Example Co"), ("Plan", "Business"), ("Seats", "40")))
    assert action == ActionSection("Regenerate report", "regenerate_report", "Rebuilds last month's usage report",
                                   "This rebuilds last month's report.")
    assert card.name == "Example Co" and card.missing_paths == () and card.unsafe_links == ()


def test_a_nested_path_is_rendered() -> None:
    doc = document()
    doc["sections"] = [{"type": "list", "title": "Org", "items": [
        {"description": "Seats", "value": "{{ data.customer.organization.seats }} seats"},
        {"description": "Org", "value": "{{ data.customer.organization.name | upcase }}"}]}]
    [listing] = render_card(doc).sections
    assert isinstance(listing, ListSection)
    assert listing.items == (("Seats", "40 seats"), ("Org", "EXAMPLE CO"))


def test_a_missing_path_renders_empty_and_is_named_once() -> None:
    doc = document()
    doc["sections"] = [{"type": "list", "title": "More", "items": [
        {"description": "Region", "value": "{{ data.customer.region.name }}"},
        {"description": "Region again", "value": "[{{ data.customer.region.name }}]"},
        {"description": "Owner", "value": "{{ data.owner }}"}]}]
    card = render_card(doc)
    [listing] = card.sections
    assert isinstance(listing, ListSection)
    assert listing.items == (("Region", ""), ("Region again", "[]"), ("Owner", ""))
    assert card.missing_paths == ("data.customer.region", "data.owner")
    text = card_text(doc)
    assert "Missing in the data: `data.customer.region`, `data.owner`" in text
    assert "*Region*\\n—" in text  # an empty value is shown as a dash, not dropped


def test_missing_paths_are_not_shared_between_renders() -> None:
    doc = document()
    doc["sections"][1]["items"].append({"description": "Region", "value": "{{ data.customer.region }}"})
    assert render_card(doc).missing_paths == ("data.customer.region",)
    assert render_card(document()).missing_paths == ()


def test_an_apostrophe_stays_an_apostrophe() -> None:
    card = render_card(document(name="Tom's \"Best\" Bakery & Co"))
    [listing] = [s for s in card.sections if isinstance(s, ListSection)]
    assert listing.items[0] == ("Name", "Tom's \"Best\" Bakery & Co")  # no &#39;, &quot; or &amp; from liquid
    text = card_text(document(name="Tom's Bakery"))
    assert "Tom's Bakery" in text and "&#39;" not in text


def test_mentions_and_links_in_customer_data_reach_slack_escaped() -> None:
    doc = document(name="<!channel> <@U123> <https://x|y>")
    doc["sections"][1]["title"] = "Account of {{ data.customer.name }}"
    doc["sections"][2]["description"] = "for {{ data.customer.name }}"
    blocks = words.customer_card(render_card(doc), workspace_id="ws_4f2a9c", fetched_at=NOW,
                                 verification=Verification("not_authorized", ("<!here>",)))
    assert_valid_blocks(blocks)
    # The header is plain_text, which Slack never parses for mentions or links; everything mrkdwn is escaped.
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
    text = str(blocks[1:])
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://x|y>" not in text
    assert "<!here>" not in text
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt;" in text
    mrkdwn = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert any(t.startswith("*Account of &lt;!channel&gt;") for t in mrkdwn)


def test_a_javascript_href_is_shown_as_text_and_named() -> None:
    doc = document()
    doc["sections"].append({"type": "link", "title": "Sneaky", "description": "Open", "href": "javascript:alert(1)"})
    doc["sections"].append({"type": "link", "title": "Files", "href": "file:///etc/passwd"})
    card = render_card(doc)
    assert card.unsafe_links == ("Sneaky", "Files")
    assert [s.safe for s in card.sections if isinstance(s, LinkSection)] == [True, False, False]
    text = card_text(doc)
    assert "<javascript:" not in text and "javascript:alert(1)" in text and "<file:" not in text
    assert "Not a web link, shown as text: Sneaky, Files" in text
    assert "<https://example.com/customer/customer_ws_4f2a9c|Application data>" in text


def test_a_link_template_resolving_to_a_web_link_is_a_link() -> None:
    doc = document()
    doc["customer"]["portal"] = "https://portal.example/a?b=1&c=2"
    doc["sections"] = [{"type": "link", "title": "Portal", "href": "{{ data.customer.portal }}"}]
    text = card_text(doc)
    assert "<https://portal.example/a?b=1&amp;c=2|https://portal.example/a?b=1&amp;c=2>" in text


def test_the_footer_survives_a_long_card() -> None:
    # Slack keeps 50 blocks; the footer is the card's last block, and it must still name what was shown as text.
    doc = document()
    doc["sections"] = [{"type": "link", "title": f"Link {n}", "href": "https://example.com"} for n in range(60)]
    doc["sections"].append({"type": "link", "title": "Sneaky", "href": "javascript:alert(1)"})
    blocks = words.customer_card(render_card(doc), workspace_id="ws_4f2a9c", fetched_at=NOW)
    assert_valid_blocks(blocks)
    assert blocks[-1]["type"] == "context"
    assert "Not a web link, shown as text: Sneaky" in str(blocks[-1])


def test_a_broken_template_is_shown_as_written() -> None:
    doc = document()
    doc["sections"][1]["items"] = [{"description": "Bad", "value": "{{ data.customer.name | no_such_filter }}"},
                                   {"description": "Unclosed", "value": "{% if x %}open"}]
    [_, listing, _] = render_card(doc).sections
    assert isinstance(listing, ListSection)
    assert listing.items == (("Bad", "{{ data.customer.name | no_such_filter }}"),
                             ("Unclosed", "{% if x %}open"))


def test_customer_data_is_never_rendered_as_a_template() -> None:
    [_, listing, _] = render_card(document(name="{{ data.customer.id }}")).sections
    assert isinstance(listing, ListSection)
    assert listing.items[0] == ("Name", "{{ data.customer.id }}")


def test_the_unavailable_card_is_valid_and_escapes_the_reason() -> None:
    blocks = words.unavailable_card("the customer endpoint answered <!channel>", workspace_id="ws_<x>")
    assert_valid_blocks(blocks)
    text = str(blocks)
    assert "Customer data unavailable" in text and "&lt;!channel&gt;" in text and "Try again" in text


# Shape ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "reason"), [
    (lambda d: d.pop("customer"), "has no \"customer\" object"),
    (lambda d: d.update(customer="Example Co"), "has no \"customer\" object"),
    (lambda d: d.update(sections={"type": "link"}), "\"sections\" is not a list"),
    (lambda d: d["sections"].append({"type": "carousel", "title": "x"}), "section 4 has an unknown type ('carousel')"),
    (lambda d: d["sections"].append("link"), "section 4 has an unknown type ('None')"),
    (lambda d: d["sections"][0].pop("href"), "link section 1 has no \"href\""),
    (lambda d: d["sections"][1].update(items=["Name"]), "list section 2 has items that are not objects"),
    (lambda d: d["sections"][2].pop("action"), "action section 3 has no \"action\""),
])
def test_a_document_not_matching_the_shape_is_unavailable(change: Any, reason: str) -> None:
    doc = document()
    change(doc)
    with pytest.raises(CustomerDataUnavailable) as raised:
        render_card(doc)
    assert reason in raised.value.reason
    with pytest.raises(CustomerDataUnavailable):
        check_shape(doc)


def test_a_document_without_sections_is_an_empty_card() -> None:
    doc = document()
    del doc["sections"]
    card = render_card(doc)
    assert card.sections == () and card.name == "Example Co"
    assert "Customer · Example Co" in card_text(doc)


# Paths: plan tier, contacts, compliance ------------------------------------------------------------------

def test_value_at_follows_dotted_paths() -> None:
    doc = document()
    assert value_at(doc, "customer.organization.seats") == 40
    assert value_at(doc, "customer.organization.missing") is None
    assert value_at(doc, "customer.name.first") is None  # a string has no keys
    assert value_at(doc, "nothing.here") is None


@pytest.mark.parametrize(("plan", "tier"), [
    ("Business", PlanTier.BUSINESS), (" enterprise ", PlanTier.ENTERPRISE), ("FREE", PlanTier.FREE),
    ("Platinum", None), ("", None),
])
def test_plan_tier_of_names_only_tiers_we_know(plan: str, tier: PlanTier | None) -> None:
    assert plan_tier_of(document(plan=plan), "customer.plan_type") is tier


def test_plan_tier_of_a_missing_or_odd_value_is_none() -> None:
    doc = document()
    assert plan_tier_of(doc, "customer.no_plan") is None
    doc["customer"]["plan_type"] = 3
    assert plan_tier_of(doc, "customer.plan_type") is None


def test_verify_is_case_insensitive() -> None:
    doc = document(contacts=("Dana@Customer.Example", "ops@customer.example"))
    found = verify(doc, email=" dana@CUSTOMER.example ", contacts_path=CONTACTS, compliance_path=COMPLIANCE)
    assert found.state == "verified" and found.verified and not found.sensitive
    stranger = verify(doc, email="eve@evil.example", contacts_path=CONTACTS, compliance_path=COMPLIANCE)
    assert stranger.state == "not_authorized" and not stranger.verified


def test_a_single_contact_string_counts_as_a_list_of_one() -> None:
    doc = document()
    doc["customer"]["authorized_contacts"] = "dana@customer.example"
    assert verify(doc, email="dana@customer.example", contacts_path=CONTACTS,
                  compliance_path=COMPLIANCE).verified


def test_no_contact_list_means_not_authorized() -> None:
    doc = document()
    del doc["customer"]["authorized_contacts"]
    assert verify(doc, email="dana@customer.example", contacts_path=CONTACTS,
                  compliance_path=COMPLIANCE).state == "not_authorized"


@pytest.mark.parametrize(("compliance", "email", "sensitive"), [
    (("HIPAA",), "eve@evil.example", True),
    (("SOC 2",), "eve@evil.example", True),
    (("soc2",), "eve@evil.example", True),
    (("GDPR",), "eve@evil.example", False),
    ((), "eve@evil.example", False),
    (("HIPAA", "SOC 2"), "dana@customer.example", False),  # verified: nothing to withhold
])
def test_hipaa_or_soc2_is_sensitive_until_verified(compliance: tuple[str, ...], email: str, sensitive: bool) -> None:
    found = verify(document(compliance=compliance), email=email, contacts_path=CONTACTS,
                   compliance_path=COMPLIANCE)
    assert found.compliance == compliance and found.sensitive is sensitive


def test_an_unknown_requester_under_hipaa_is_sensitive() -> None:
    assert Verification("unknown", ("HIPAA",)).sensitive


def test_the_verification_line_warns_under_hipaa() -> None:
    line = words.verification_line(Verification("not_authorized", ("HIPAA",)))
    assert "NOT an authorized contact" in line and "under HIPAA" in line
    assert "under" not in words.verification_line(Verification("verified", ("HIPAA",)))
