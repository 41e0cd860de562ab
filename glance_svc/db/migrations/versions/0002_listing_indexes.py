"""Listing indexes: every image-list filter and sort key is read from an index.

A page of images must cost the same out of 1,000 or 100,000 images (issue 11). With only
``(deleted, created_at, id)`` MariaDB sorted every match for any other sort key or for an
owner filter. These indexes end in the listing tie-breakers (created_at, id), so the
database walks one in page order from the marker and stops after the page. The
single-column indexes on ``deleted`` and ``owner`` go: every query on them also tests
``deleted``, so the new indexes serve them, and MariaDB preferred merging the two and
sorting every match over walking ``(deleted, owner, created_at, id)``.

Written out rather than taken from the models, like every revision.

Revision ID: 0002_listing_indexes
Revises: 0001_initial
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0002_listing_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

COLUMNS = ("name", "status", "container_format", "disk_format", "size", "updated_at",
           "owner", "visibility")


def upgrade() -> None:
    op.drop_index("ix_images_deleted", table_name="images")
    op.drop_index("ix_images_owner", table_name="images")
    op.create_index("ix_images_deleted_id", "images", ["deleted", "id", "created_at"])
    for column in COLUMNS:
        op.create_index(f"ix_images_deleted_{column}", "images",
                        ["deleted", column, "created_at", "id"])


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_index(f"ix_images_deleted_{column}", table_name="images")
    op.drop_index("ix_images_deleted_id", table_name="images")
    op.create_index("ix_images_owner", "images", ["owner"])
    op.create_index("ix_images_deleted", "images", ["deleted"])
