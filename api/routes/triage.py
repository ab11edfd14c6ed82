"""Stateless triage for pipelines that keep tickets elsewhere: nothing is stored, requests are micro-batched."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from api.deps import PrincipalDep, ServiceDep
from api.errors import COMMON_ERRORS
from api.schemas import TriageRequest, TriageResultPublic, triage_public
from triage.domain.ticket import Customer, Ticket

router = APIRouter(prefix="/api/v1/triage", tags=["triage"], responses=COMMON_ERRORS)


@router.post("", response_model=TriageResultPublic)
async def triage(body: TriageRequest, service: ServiceDep, _principal: PrincipalDep) -> TriageResultPublic:
    """Category, urgency, sentiment, language and suggested answers for one text, without creating a ticket."""
    text = body.text[: service.settings.max_text_chars]  # the models read the first part of a very long text
    context = Ticket("stateless", customer=Customer(body.customer.id, body.customer.tier) if body.customer else Customer("anonymous"),
                     channel=body.channel)  # fmt: skip
    assert service.batcher is not None
    [result] = await asyncio.wrap_future(service.batcher.submit([text], [context]))
    public = triage_public(result.to_dict())
    assert public is not None
    return TriageResultPublic(triage=public)
