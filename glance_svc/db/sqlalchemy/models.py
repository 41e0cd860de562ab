"""The tables of the image database (spec §6.6), as SQLAlchemy 2 declarative models.

The models describe the schema the alembic migrations create; a functional test compares
the two on SQLite and MariaDB so they cannot drift apart. Repository code queries the
tables through SQLAlchemy Core (``Model.__table__``) because listing pages of images is the
hot path and plain rows are cheaper than ORM identity-mapped objects.

Every table is InnoDB with ``utf8mb4`` and the binary collation on MySQL/MariaDB: names,
property keys and tags are case-sensitive in the API, and a case-insensitive collation
would make ``name=Ubuntu`` match ``ubuntu`` and sort differently than on SQLite.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


class JSONEncodedDict(sa.types.TypeDecorator[dict[str, Any]]):
    """A dict stored as JSON text: portable across SQLite and MariaDB, as Glance stores it."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dict[str, Any] | None:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    pass


class SoftDeleteMixin:
    """Rows are never removed by the API, only marked; ``glance-manage db purge`` removes them."""

    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    updated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    deleted: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false(), index=True
    )


# Columns an image list sorts by (every sort key but created_at and id) or narrows to a
# single value with a filter that the listing tests show is not selective enough on its
# own (owner, visibility). Each gets an index on (deleted, column, created_at, id): the
# order a page is listed in, after the tie-breakers, so the database walks the index from
# the marker and stops after one page instead of sorting every match.
LISTING_INDEX_COLUMNS = (
    "name", "status", "container_format", "disk_format", "size", "updated_at", "owner",
    "visibility",
)


class ImageModel(SoftDeleteMixin, Base):
    __tablename__ = "images"
    __table_args__ = (
        # The default listing order (created_at, id) read straight from the index.
        sa.Index("ix_images_deleted_created_at", "deleted", "created_at", "id"),
        # Sorting by id: its tie-breaker created_at follows it.
        sa.Index("ix_images_deleted_id", "deleted", "id", "created_at"),
        *(sa.Index(f"ix_images_deleted_{column}", "deleted", column, "created_at", "id")
          for column in LISTING_INDEX_COLUMNS),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(30), nullable=False, index=True)
    disk_format: Mapped[str | None] = mapped_column(sa.String(20))
    container_format: Mapped[str | None] = mapped_column(sa.String(20))
    checksum: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    # No index on owner or deleted alone: every query on them also tests deleted, which
    # leads the listing indexes, and MariaDB merged the single-column indexes and sorted
    # the result rather than walk (deleted, owner, created_at, id) in page order.
    owner: Mapped[str | None] = mapped_column(sa.String(255))
    deleted: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    min_disk: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    min_ram: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    protected: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    virtual_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    visibility: Mapped[str] = mapped_column(
        sa.String(20), nullable=False, default="shared", server_default="shared", index=True
    )
    os_hidden: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    os_hash_algo: Mapped[str | None] = mapped_column(sa.String(64))
    os_hash_value: Mapped[str | None] = mapped_column(sa.String(128), index=True)


class ImagePropertyModel(SoftDeleteMixin, Base):
    __tablename__ = "image_properties"
    __table_args__ = (
        sa.UniqueConstraint("image_id", "name", name="ix_image_properties_image_id_name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("images.id"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    value: Mapped[str | None] = mapped_column(sa.Text)


class ImageLocationModel(SoftDeleteMixin, Base):
    __tablename__ = "image_locations"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("images.id"), nullable=False, index=True
    )
    value: Mapped[str] = mapped_column(sa.Text, nullable=False)
    meta_data: Mapped[dict[str, Any] | None] = mapped_column(JSONEncodedDict)
    status: Mapped[str] = mapped_column(
        sa.String(30), nullable=False, default="active", server_default="active", index=True
    )


class ImageMemberModel(SoftDeleteMixin, Base):
    __tablename__ = "image_members"
    __table_args__ = (
        sa.UniqueConstraint(
            "image_id", "member", "deleted_at",
            name="image_members_image_id_member_deleted_at_key",
        ),
        sa.Index("ix_image_members_image_id_member", "image_id", "member"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("images.id"), nullable=False, index=True
    )
    member: Mapped[str] = mapped_column(sa.String(255), nullable=False, index=True)
    can_share: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    status: Mapped[str] = mapped_column(
        sa.String(20), nullable=False, default="pending", server_default="pending"
    )


class ImageTagModel(SoftDeleteMixin, Base):
    __tablename__ = "image_tags"
    __table_args__ = (
        sa.Index("ix_image_tags_image_id_tag_value", "image_id", "value"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("images.id"), nullable=False, index=True
    )
    value: Mapped[str] = mapped_column(sa.String(255), nullable=False)


class TaskModel(SoftDeleteMixin, Base):
    """Legacy tasks (spec §3.11); kept minimal until the tasks API needs more."""

    __tablename__ = "tasks"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(30), nullable=False, index=True)
    status: Mapped[str] = mapped_column(sa.String(30), nullable=False, index=True)
    owner: Mapped[str] = mapped_column(sa.String(255), nullable=False, index=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime, index=True)
    image_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    user_id: Mapped[str | None] = mapped_column(sa.String(64))


class TaskInfoModel(Base):
    __tablename__ = "task_info"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    task_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("tasks.id"), primary_key=True
    )
    input: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[str | None] = mapped_column(sa.Text)
    message: Mapped[str | None] = mapped_column(sa.Text)


class NodeReferenceModel(Base):
    """One row per API node that caches images (its ``worker_self_reference_url``)."""

    __tablename__ = "node_reference"
    __table_args__ = (
        sa.UniqueConstraint("node_reference_url", name="uq_node_reference0node_reference_url"),
        MYSQL_TABLE_ARGS,
    )

    node_reference_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                                   autoincrement=True)
    node_reference_url: Mapped[str] = mapped_column(sa.String(255), nullable=False)


class CachedImageModel(Base):
    """An image held in one node's cache: the shared knowledge of the ``centralized_db``
    driver, so any node can say which nodes cache an image (spec part 2, §3.3)."""

    __tablename__ = "cached_images"
    __table_args__ = (
        sa.UniqueConstraint("image_id", "node_reference_id",
                            name="uq_cached_images0image_id0node_reference_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    last_accessed: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    last_modified: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    hits: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    checksum: Mapped[str | None] = mapped_column(sa.String(32))
    node_reference_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("node_reference.node_reference_id"), nullable=False)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    updated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)


class MetadefNamespaceModel(TimestampMixin, Base):
    __tablename__ = "metadef_namespaces"
    __table_args__ = (
        sa.UniqueConstraint("namespace", name="uq_metadef_namespaces_namespace"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    display_name: Mapped[str | None] = mapped_column(sa.String(80))
    description: Mapped[str | None] = mapped_column(sa.Text)
    visibility: Mapped[str | None] = mapped_column(sa.String(32))
    protected: Mapped[bool | None] = mapped_column(sa.Boolean)
    owner: Mapped[str] = mapped_column(sa.String(255), nullable=False, index=True)


class MetadefObjectModel(TimestampMixin, Base):
    __tablename__ = "metadef_objects"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "name", name="uq_metadef_objects_namespace_id_name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("metadef_namespaces.id"), nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    required: Mapped[str | None] = mapped_column(sa.Text)
    json_schema: Mapped[dict[str, Any]] = mapped_column(JSONEncodedDict, nullable=False)


class MetadefPropertyModel(TimestampMixin, Base):
    __tablename__ = "metadef_properties"
    __table_args__ = (
        sa.UniqueConstraint(
            "namespace_id", "name", name="uq_metadef_properties_namespace_id_name"
        ),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("metadef_namespaces.id"), nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    json_schema: Mapped[dict[str, Any]] = mapped_column(JSONEncodedDict, nullable=False)


class MetadefTagModel(TimestampMixin, Base):
    __tablename__ = "metadef_tags"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "name", name="uq_metadef_tags_namespace_id_name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("metadef_namespaces.id"), nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)


class MetadefResourceTypeModel(TimestampMixin, Base):
    __tablename__ = "metadef_resource_types"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uq_metadef_resource_types_name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    protected: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )


class MetadefNamespaceResourceTypeModel(TimestampMixin, Base):
    __tablename__ = "metadef_namespace_resource_types"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    resource_type_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("metadef_resource_types.id"), primary_key=True
    )
    namespace_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("metadef_namespaces.id"), primary_key=True
    )
    properties_target: Mapped[str | None] = mapped_column(sa.String(80))
    prefix: Mapped[str | None] = mapped_column(sa.String(80))


images = ImageModel.__table__
image_properties = ImagePropertyModel.__table__
image_locations = ImageLocationModel.__table__
image_members = ImageMemberModel.__table__
image_tags = ImageTagModel.__table__
tasks = TaskModel.__table__
task_info = TaskInfoModel.__table__
node_reference = NodeReferenceModel.__table__
cached_images = CachedImageModel.__table__
