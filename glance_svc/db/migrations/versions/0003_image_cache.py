"""Image cache knowledge shared by the API nodes (Glance's ``centralized_db`` driver).

``node_reference`` names each node by its ``worker_self_reference_url``; ``cached_images``
says which node holds which image in its cache, with the hit count and times prune reads.
The cached files stay on each node's disk; only this bookkeeping is shared, so
``GET /v2/cache/nodes/{id}`` can answer from any node.

Revision ID: 0003_image_cache
Revises: 0002_listing_indexes
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_image_cache"
down_revision = "0002_listing_indexes"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "node_reference",
        sa.Column("node_reference_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("node_reference_url", sa.String(255), nullable=False),
        sa.UniqueConstraint("node_reference_url", name="uq_node_reference0node_reference_url"),
        **MYSQL,
    )
    op.create_table(
        "cached_images",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("last_accessed", sa.DateTime, nullable=False),
        sa.Column("last_modified", sa.DateTime, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.Column("checksum", sa.String(32)),
        sa.Column("node_reference_id", sa.Integer,
                  sa.ForeignKey("node_reference.node_reference_id"), nullable=False),
        sa.UniqueConstraint("image_id", "node_reference_id",
                            name="uq_cached_images0image_id0node_reference_id"),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("cached_images")
    op.drop_table("node_reference")
