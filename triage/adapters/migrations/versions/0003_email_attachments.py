"""email intake: metadata of emailed attachments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage.adapters.sql.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("received_at", triage.adapters.sql.tables.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["number"], ["tickets.number"], name=op.f("fk_email_attachments_number_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_attachments")),
    )
    with op.batch_alter_table("email_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_attachments_number"), ["number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_attachments_number"))

    op.drop_table("email_attachments")
