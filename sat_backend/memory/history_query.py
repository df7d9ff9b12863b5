"""The filters of ``HistoryGet``, checked once and turned into SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any


from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.jids import parse_jid
from sat_backend.core.json_arguments import optional_timestamp, parse_json_object, string_list
from sat_backend.memory.lazy_orm import orm

if TYPE_CHECKING:  # a query is made by a start's plugins; its SQL by its first run
    from sqlalchemy import ColumnElement

FILTER_KEYS = ("body", "types", "after", "before")


@dataclass(frozen=True)
class JidFilter:
    """A JID to match: a bare JID matches every resource, a full JID only itself."""

    bare: str
    resource: str | None = None

    @classmethod
    def parse(cls, text: str, where: str) -> JidFilter:
        """:raises InvalidArgument: not a JID."""
        jid = parse_jid(text, where)
        return cls(jid.userhost(), jid.resource or None)


@dataclass(frozen=True)
class HistoryQuery:
    from_jid: JidFilter | None = None
    to_jid: JidFilter | None = None
    limit: int = 0
    between: bool = False
    body: str | None = None
    types: tuple[str, ...] = ()
    after: float | None = None
    before: float | None = None

    @classmethod
    def from_bridge(cls, from_jid: str, to_jid: str, limit: int, between: bool, filters_json: str) -> HistoryQuery:
        """:raises InvalidArgument: negative limit, malformed filters, unknown filter key."""
        if limit < 0:
            raise InvalidArgument("limit must be 0 (no limit) or positive")
        filters = parse_json_object(filters_json, "filters_json", FILTER_KEYS)
        body = filters.get("body")
        if body is not None and not isinstance(body, str):
            raise InvalidArgument("filter 'body' must be a string")
        return cls(
            from_jid=JidFilter.parse(from_jid, "from_jid") if from_jid else None,
            to_jid=JidFilter.parse(to_jid, "to_jid") if to_jid else None,
            limit=limit,
            between=between,
            body=body,
            types=string_list(filters, "types", "filter 'types'"),
            after=optional_timestamp(filters, "after", "filter 'after'"),
            before=optional_timestamp(filters, "before", "filter 'before'"),
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on :class:`~.sqla_mapping.History` (dialect-neutral)."""
        from sqlalchemy import and_, or_

        conditions: list[ColumnElement[bool]] = []
        if self.from_jid or self.to_jid:
            direct = and_(*_direction(self.from_jid, self.to_jid))
            if self.between:
                conditions.append(or_(direct, and_(*_direction(self.to_jid, self.from_jid))))
            else:
                conditions.append(direct)
        if self.body:
            conditions.append(orm.History.messages.any(orm.Message.message.ilike(f"%{_escape_like(self.body)}%", escape="\\")))
        if self.types:
            conditions.append(orm.History.type.in_(self.types))
        if self.after is not None:
            conditions.append(orm.History.timestamp > self.after)
        if self.before is not None:
            conditions.append(orm.History.timestamp < self.before)
        return conditions


def _direction(source: JidFilter | None, dest: JidFilter | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for jid, bare_column, resource_column in (
        (source, orm.History.source, orm.History.source_res),
        (dest, orm.History.dest, orm.History.dest_res),
    ):
        if jid is None:
            continue
        conditions.append(bare_column == jid.bare)
        if jid.resource is not None:
            conditions.append(resource_column == jid.resource)
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
