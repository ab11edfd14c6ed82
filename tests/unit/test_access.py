from __future__ import annotations

import pytest

from triage.domain.access import Principal, can_see, require_role, scope_of
from triage.domain.ticket import Ticket
from triage.kernel.errors import PermissionDenied
from triage.kernel.vocabulary import Role

TECH = Ticket("T1", team="tech", assignee="tom", submitted_by="key-a")
BILLING = Ticket("T2", team="billing", assignee="anna", submitted_by="key-b")
LENT = Ticket("T3", team="billing", assignee="tom", submitted_by="key-b")  # a tech agent helping billing


@pytest.mark.parametrize(
    ("principal", "visible"),
    [
        (Principal("key-a", Role.INTAKE), {"T1"}),
        (Principal("key-b", Role.INTAKE), {"T2", "T3"}),
        (Principal("k", Role.AGENT, teams=frozenset({"tech"}), agent_id="tom"), {"T1", "T3"}),
        (Principal("k", Role.AGENT, teams=frozenset({"billing"}), agent_id="anna"), {"T2", "T3"}),
        (Principal("k", Role.MANAGER, teams=frozenset({"tech"})), {"T1"}),
        (Principal("k", Role.MANAGER, teams=frozenset({"tech", "billing"})), {"T1", "T2", "T3"}),
        (Principal("k", Role.MANAGER), set()),
        (Principal("k", Role.ADMIN), {"T1", "T2", "T3"}),
    ],
)
def test_each_role_sees_its_scope(principal: Principal, visible: set[str]) -> None:
    assert {t.id for t in (TECH, BILLING, LENT) if can_see(principal, t)} == visible


def test_the_admin_scope_is_everything_and_an_intake_scope_is_its_own_submissions() -> None:
    assert scope_of(Principal("k", Role.ADMIN)).everything
    assert scope_of(Principal("key-a", Role.INTAKE)).submitted_by == "key-a"


def test_a_role_that_may_not_act_gets_a_message_naming_the_roles_that_may() -> None:
    with pytest.raises(PermissionDenied, match="intake keys may not resolve tickets; this needs one of: agent, admin"):
        require_role(Principal("k", Role.INTAKE), Role.AGENT, Role.ADMIN, action="resolve tickets")
    require_role(Principal("k", Role.ADMIN), Role.ADMIN, action="create keys")
