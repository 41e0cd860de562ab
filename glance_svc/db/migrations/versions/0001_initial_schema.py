"""Initial schema: images and their properties, locations, members and tags; tasks; metadefs.

Written out table by table rather than from the models, so that later model edits can
never silently change what this revision creates on an existing deployment.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _timestamps(soft_delete: bool = True) -> list[sa.Column]:
    cols = [
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    ]
    if soft_delete:
        cols += [
            sa.Column("deleted_at", sa.DateTime),
            sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        ]
    return cols


def _image_child(name: str, *columns: sa.Column | sa.Constraint) -> None:
    """A table of rows that belong to one image, soft-deleted with it."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"), nullable=False),
        *columns,
        *_timestamps(),
        **MYSQL,
    )
    op.create_index(f"ix_{name}_image_id", name, ["image_id"])
    op.create_index(f"ix_{name}_deleted", name, ["deleted"])


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255)),
        sa.Column("size", sa.BigInteger),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("disk_format", sa.String(20)),
        sa.Column("container_format", sa.String(20)),
        sa.Column("checksum", sa.String(32)),
        sa.Column("owner", sa.String(255)),
        sa.Column("min_disk", sa.Integer, nullable=False, server_default="0"),
        sa.Column("min_ram", sa.Integer, nullable=False, server_default="0"),
        sa.Column("protected", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("virtual_size", sa.BigInteger),
        sa.Column("visibility", sa.String(20), nullable=False, server_default="shared"),
        sa.Column("os_hidden", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("os_hash_algo", sa.String(64)),
        sa.Column("os_hash_value", sa.String(128)),
        *_timestamps(),
        **MYSQL,
    )
    for column in ("name", "status", "checksum", "owner", "visibility", "os_hash_value",
                   "deleted"):
        op.create_index(f"ix_images_{column}", "images", [column])
    op.create_index("ix_images_deleted_created_at", "images", ["deleted", "created_at", "id"])

    _image_child(
        "image_properties",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Text),
        sa.UniqueConstraint("image_id", "name", name="ix_image_properties_image_id_name"),
    )
    _image_child(
        "image_locations",
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("meta_data", sa.Text),
        sa.Column("status", sa.String(30), nullable=False, server_default="active"),
    )
    op.create_index("ix_image_locations_status", "image_locations", ["status"])
    _image_child(
        "image_members",
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("can_share", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.UniqueConstraint(
            "image_id", "member", "deleted_at",
            name="image_members_image_id_member_deleted_at_key",
        ),
    )
    op.create_index("ix_image_members_member", "image_members", ["member"])
    op.create_index("ix_image_members_image_id_member", "image_members", ["image_id", "member"])
    _image_child("image_tags", sa.Column("value", sa.String(255), nullable=False))
    op.create_index("ix_image_tags_image_id_tag_value", "image_tags", ["image_id", "value"])

    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("image_id", sa.String(36)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("user_id", sa.String(64)),
        *_timestamps(),
        **MYSQL,
    )
    for column in ("type", "status", "owner", "expires_at", "image_id", "deleted"):
        op.create_index(f"ix_tasks_{column}", "tasks", [column])
    op.create_table(
        "task_info",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("tasks.id"), primary_key=True),
        sa.Column("input", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("message", sa.Text),
        **MYSQL,
    )

    _create_metadefs()


def _create_metadefs() -> None:
    op.create_table(
        "metadef_namespaces",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(80)),
        sa.Column("description", sa.Text),
        sa.Column("visibility", sa.String(32)),
        sa.Column("protected", sa.Boolean),
        sa.Column("owner", sa.String(255), nullable=False),
        *_timestamps(soft_delete=False),
        sa.UniqueConstraint("namespace", name="uq_metadef_namespaces_namespace"),
        **MYSQL,
    )
    op.create_index("ix_metadef_namespaces_owner", "metadef_namespaces", ["owner"])

    def namespace_child(name: str, *columns: sa.Column) -> None:
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("namespace_id", sa.Integer, sa.ForeignKey("metadef_namespaces.id"),
                      nullable=False),
            sa.Column("name", sa.String(80), nullable=False),
            *columns,
            *_timestamps(soft_delete=False),
            sa.UniqueConstraint("namespace_id", "name", name=f"uq_{name}_namespace_id_name"),
            **MYSQL,
        )

    namespace_child(
        "metadef_objects",
        sa.Column("description", sa.Text),
        sa.Column("required", sa.Text),
        sa.Column("json_schema", sa.Text, nullable=False),
    )
    namespace_child("metadef_properties", sa.Column("json_schema", sa.Text, nullable=False))
    namespace_child("metadef_tags")

    op.create_table(
        "metadef_resource_types",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False, server_default=sa.false()),
        *_timestamps(soft_delete=False),
        sa.UniqueConstraint("name", name="uq_metadef_resource_types_name"),
        **MYSQL,
    )
    op.create_table(
        "metadef_namespace_resource_types",
        sa.Column("resource_type_id", sa.Integer, sa.ForeignKey("metadef_resource_types.id"),
                  primary_key=True),
        sa.Column("namespace_id", sa.Integer, sa.ForeignKey("metadef_namespaces.id"),
                  primary_key=True),
        sa.Column("properties_target", sa.String(80)),
        sa.Column("prefix", sa.String(80)),
        *_timestamps(soft_delete=False),
        **MYSQL,
    )
