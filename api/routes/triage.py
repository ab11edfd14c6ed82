"""Stateless triage for pipelines that keep tickets elsewhere: nothing is stored, requests are micro-batched."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from api.deps import PrincipalDep, ServiceDep
from api.errors import COMMON_ERRORS
from api.schemas import TriageRequest, TriageResultPublic, triage_public
from triage.domain.ticket import Customer, Ticket
from triage.engine.pipeline import validate_text
from triage.kernel.errors import InvalidTicket

router = APIRouter(prefix="/api/v1/triage", tags=["triage"], responses=COMMON_ERRORS)


@router.post("", response_model=TriageResultPublic)
async def triage(body: TriageRequest, service: ServiceDep, _principal: PrincipalDep) -> TriageResultPublic:
    """Category, urgency, sentiment, language and suggested answers for one text, without creating a ticket."""
    text = "\n".join(p for p in (body.subject.strip(), body.body.strip()) if p)
    try:
        text = validate_text(text, max_chars=service.settings.max_text_chars)
    except InvalidTicket as exc:
        raise InvalidTicket(f"subject/body: {exc}") from None
    context = Ticket("stateless", customer=Customer(body.customer.id, body.customer.tier) if body.customer else Customer("anonymous"),
                     channel=body.channel)  # fmt: skip
    assert service.batcher is not None
    [result] = await asyncio.wrap_future(service.batcher.submit([text], [context]))
    public = triage_public(result.to_dict())
    assert public is not None
    return TriageResultPublic(triage=public)
