"""What live customer data looks like once rendered: the card's sections, the footer's notes, and whether the
requester is verified. Plain values for blocks/ to show; they live only in memory, for one request, and no
module under storage/ may import them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LinkSection:
    """A titled link with its description."""

    title: str
    description: str
    href: str
    safe: bool  # an http(s) link; anything else is shown as text


@dataclass(frozen=True)
class ListSection:
    """A titled list of description/value pairs."""

    title: str
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ActionSection:
    """A one-click support action the endpoint offers: a button with Slack's confirmation dialog."""

    title: str
    action: str
    description: str
    confirm: str


Section = LinkSection | ListSection | ActionSection


@dataclass(frozen=True)
class CustomerCard:
    """The rendered sections and what the footer must name (missing paths, links shown as text)."""

    sections: tuple[Section, ...]
    missing_paths: tuple[str, ...] = ()
    unsafe_links: tuple[str, ...] = ()
    name: str | None = None


@dataclass(frozen=True)
class Verification:
    """Whether the requester is an authorized contact ("verified", "not_authorized", "unknown") and which
    compliance regimes the customer is under."""

    state: str
    compliance: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verified(self) -> bool:
        """Only a confirmed contact counts; unknown is treated as not verified."""
        return self.state == "verified"

    @property
    def sensitive(self) -> bool:
        """HIPAA or SOC 2 applies and the requester is not verified: share no account details."""
        regimes = {c.replace(" ", "").casefold() for c in self.compliance}
        return not self.verified and bool(regimes & {"hipaa", "soc2"})


UNKNOWN = Verification("unknown")


