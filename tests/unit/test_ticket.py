from __future__ import annotations

import pytest

from triage.domain.ticket import TRANSITIONS, Customer, Ticket
from triage.kernel.errors import IllegalTransition
from triage.kernel.ids import is_ticket_number, ticket_number
from triage.kernel.vocabulary import Channel, Priority, TicketStatus, Tier, parse_enum


def test_a_ticket_walks_the_whole_lifecycle_and_can_be_reopened() -> None:
    ticket = Ticket("T1")
    for status in ("assigned", "in_progress", "pending_customer", "in_progress", "resolved", "in_progress"):
        ticket.move_to(TicketStatus(status))
    ticket.move_to(TicketStatus.RESOLVED)
    assert ticket.move_to(TicketStatus.CLOSED) == TicketStatus.RESOLVED
    assert ticket.status is TicketStatus.CLOSED and not ticket.is_open


def test_an_illegal_transition_names_the_allowed_ones() -> None:
    ticket = Ticket("T1", number="TKT-2026-000001", status=TicketStatus.PENDING_CUSTOMER)
    with pytest.raises(IllegalTransition) as caught:
        ticket.move_to(TicketStatus.CLOSED)
    assert caught.value.allowed == ("in_progress", "resolved")
    assert "TKT-2026-000001 is pending_customer; it cannot become closed" in str(caught.value)
    assert ticket.status is TicketStatus.PENDING_CUSTOMER


def test_closed_is_final() -> None:
    assert TRANSITIONS[TicketStatus.CLOSED] == ()
    with pytest.raises(IllegalTransition, match="nowhere"):
        Ticket("T1", status="closed").move_to(TicketStatus.IN_PROGRESS)


def test_strings_become_the_shared_vocabulary_and_equality_follows_the_id() -> None:
    ticket = Ticket("T1", customer=Customer("C1", tier="vip"), channel="email", priority="P2", status="assigned")
    assert ticket.tier is Tier.VIP and ticket.channel is Channel.EMAIL and ticket.priority is Priority.P2
    assert ticket == Ticket("T1") and len({ticket, Ticket("T1")}) == 1 and ticket != Ticket("T2")
    with pytest.raises(ValueError):
        Ticket("T3", priority="P9")


def test_the_text_joins_subject_and_body_and_skips_empty_parts() -> None:
    assert Ticket("T1", subject=" VPN down ", body="since 9am\n").text == "VPN down\nsince 9am"
    assert Ticket("T2", body="only a body").text == "only a body"


def test_priorities_sort_most_urgent_first() -> None:
    assert sorted([Priority.P3, Priority.P1, Priority.P4], key=lambda p: p.rank) == [Priority.P1, Priority.P3, Priority.P4]
    assert Priority.ordered()[0] is Priority.P1 and Priority.P1 == "P1"


def test_parse_enum_lists_the_allowed_values() -> None:
    assert parse_enum(Channel, "chat", what="channel") is Channel.CHAT
    with pytest.raises(ValueError, match="channel 'fax' is not one of web, email, chat, api, phone"):
        parse_enum(Channel, "fax", what="channel")


def test_ticket_numbers_are_readable_and_recognisable() -> None:
    assert ticket_number(42, year=2026) == "TKT-2026-000042"
    assert is_ticket_number("TKT-2026-000042") and not is_ticket_number("TKT-26-42")
    with pytest.raises(ValueError):
        ticket_number(0, year=2026)
