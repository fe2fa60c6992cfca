"""Staff accounts, their roles, NGO organisations and access tokens."""
from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import (Boolean, CheckConstraint, Enum, ForeignKey, Integer, String,
                        UniqueConstraint, false, true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.versions import VERSIONED
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office


class Role(str, enum.Enum):
    """What a person may do, and where."""

    admin = "admin"          # everything, everywhere
    manager = "manager"      # their office: catalog, counters, staff, statistics
    clerk = "clerk"          # the counters of their office
    ngo = "ngo"              # their organisation's bookings


class TokenPurpose(str, enum.Enum):
    """What a bearer token stands for."""

    integration = "integration"  # acts as the staff member it belongs to
    kiosk = "kiosk"              # the ticket kiosk of one office
    display = "display"          # a waiting-room screen of one office


def _enum(cls, name):
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Organisation(db.Model):
    """An NGO (or any partner body) whose staff book on behalf of the people they support."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self):
        return f"<Organisation {self.name!r}>"


class StaffUser(db.Model):
    """A person who signs in: clerk, manager, administrator or NGO worker."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case; the sign-in name.
    email: Mapped[str] = mapped_column(String(254), unique=True, info=VERSIONED)
    display_name: Mapped[str] = mapped_column(String(200), info=VERSIONED)
    locale: Mapped[str] = mapped_column(String(10), default="el", server_default="el",
                                        info=VERSIONED)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(),
                                         info=VERSIONED)
    #: Set when an administrator reset the password: change it at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    #: Part of every session of this user; changed at sign-out, which revokes them all.
    session_nonce: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Checked by every UPDATE; bumped only by changes to the columns marked VERSIONED
    #: (what people edit), not by sign-in bookkeeping (``core/versions.py``).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    organisation: Mapped[Organisation | None] = relationship()
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    # Flask-Login's interface.
    is_anonymous = False

    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_nonce}"

    def rotate_session_nonce(self):
        """Revoke every session of this user."""
        self.session_nonce = secrets.token_hex(16)

    # Roles.
    def has_role(self, role: Role, office_id: int | None = None) -> bool:
        return any(r.role == role and (office_id is None or r.office_id == office_id)
                   for r in self.roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.admin)

    def office_ids(self, *roles: Role) -> set[int]:
        """Offices where the user holds one of ``roles`` (all roles if none given)."""
        return {r.office_id for r in self.roles
                if r.office_id is not None and (not roles or r.role in roles)}

    def __repr__(self):
        return f"<StaffUser {self.email}>"


class RoleAssignment(db.Model):
    """A role held by a user, scoped to an office (manager, clerk) or global (admin, ngo)."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "office_id", name="uq_role_assignment_user_role_office"),
        CheckConstraint("(role IN ('manager', 'clerk')) = (office_id IS NOT NULL)",
                        name="office_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"),
                                         index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "staff_role"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)

    user: Mapped[StaffUser] = relationship(back_populates="roles")
    office: Mapped[Office | None] = relationship(lazy="joined")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccessToken(db.Model):
    """A bearer token: a device (kiosk, display) of one office, or an integration of a user.

    The token itself is shown once; only its SHA-256 is stored.
    """

    __tablename__ = "access_token"
    __table_args__ = (
        CheckConstraint("(purpose = 'integration') = (user_id IS NOT NULL)", name="owner"),
        CheckConstraint("purpose = 'integration' OR office_id IS NOT NULL", name="device_office"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[TokenPurpose] = mapped_column(_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, to tell tokens apart in lists.
    hint: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[StaffUser | None] = relationship(foreign_keys=[user_id])
    office: Mapped[Office | None] = relationship(lazy="joined")

    @property
    def is_device(self) -> bool:
        return self.purpose in (TokenPurpose.kiosk, TokenPurpose.display)

    @property
    def revoked(self) -> bool:
        return self.revoked_dt is not None

    @classmethod
    def issue(cls, name: str, purpose: TokenPurpose, **kw) -> tuple[AccessToken, str]:
        """A new token row and the secret, which is never stored."""
        secret = "cd_" + secrets.token_urlsafe(32)  # 256 bits
        return cls(name=name, purpose=purpose, token_hash=hash_token(secret),
                   hint=secret[:9], **kw), secret

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.token_hash, hash_token(secret))

    def revoke(self):
        if self.revoked_dt is None:
            self.revoked_dt = utcnow()


# Who acted, for the audit log's pages (core's table knows them by foreign key only).
AuditEntry.actor_user = relationship(StaffUser, foreign_keys=[AuditEntry.actor_user_id])
AuditEntry.actor_token = relationship(AccessToken, foreign_keys=[AuditEntry.actor_token_id])
