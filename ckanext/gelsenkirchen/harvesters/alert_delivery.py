"""Where a harvest source's alert goes (issue 16, item 5): the recipients
(the source's ``alert_email``, else the admins of its organization), the
e-mail through CKAN's mailer and the webhook through the harvesters' safe
HTTP (:func:`.http.post_json`: the network rules of source URLs). Each
raises :class:`DeliveryError` with the reason; the caller logs it and
tries again at the next check.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import socket
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.gelsenkirchen.harvesters import http as safe_http
from ckanext.gelsenkirchen.harvesters.config import BASE_CONFIG_KEYS, ConfigError

log = logging.getLogger(__name__)

WEBHOOK_OPTION = "ckanext.gelsenkirchen.harvest.alerts.webhook_url"
#: a webhook gets less time than a source download
WEBHOOK_SECONDS = 15.0
#: and a mail server as long per recipient
MAIL_SECONDS = 15.0


class DeliveryError(Exception):
    """An alert could not be delivered; the message says why."""


@dataclasses.dataclass
class Settings:
    emails: list[str]  # the source's own recipients; empty: the organization's admins
    webhook: str  # "" none


def settings(config_text: str | None) -> Settings:
    """The alert keys of a source configuration. Read on their own (and
    each checked as when saved), so that a configuration that is invalid
    otherwise, the cause of a failed run, still reaches its recipients."""
    try:
        cfg = json.loads(config_text or "{}")
    except ValueError:
        cfg = {}
    found: dict[str, Any] = {}
    for key in ("alert_email", "alert_webhook"):
        if not isinstance(cfg, dict) or key not in cfg:
            continue
        try:
            BASE_CONFIG_KEYS[key].validate(key, cfg[key])
            found[key] = cfg[key]
        except ConfigError as error:
            log.warning("Ignoring the alert setting of a harvest source: %s", error)
    emails = found.get("alert_email") or []
    return Settings(emails=[emails] if isinstance(emails, str) else list(emails),
                    webhook=found.get("alert_webhook") or str(tk.config.get(WEBHOOK_OPTION) or ""))


def organization_admins(org_id: str | None) -> list[tuple[str, str]]:
    """(name, e-mail) of the active admins of organization ``org_id``."""
    from ckan import model

    if not org_id:
        return []
    users = (model.Session.query(model.User)
             .join(model.Member, model.Member.table_id == model.User.id)
             .filter(model.Member.group_id == org_id, model.Member.table_name == "user",
                     model.Member.capacity == "admin", model.Member.state == "active",
                     model.User.state == "active")
             .order_by(model.User.name).all())
    return [(user.display_name, user.email) for user in users if user.email]


def recipients(own: list[str], org_id: str | None) -> list[tuple[str, str]]:
    return [(email, email) for email in own] if own else organization_admins(org_id)


def send_mail(to: list[tuple[str, str]], subject: str, body: str) -> None:
    """One mail per recipient through ckan.lib.mailer (the site's SMTP settings)."""
    from ckan.lib import mailer

    failed = []
    # ckan.lib.mailer opens smtplib.SMTP without a timeout: a mail server
    # that accepts connections and never answers would hold the check (and
    # `ckan harvester run`) for ever
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(MAIL_SECONDS)
    try:
        for name, email in to:
            try:
                mailer.mail_recipient(name, email, subject, body)
            except Exception as error:  # noqa: BLE001 - MailerException, socket errors
                failed.append(f"{email}: {error}")
    finally:
        socket.setdefaulttimeout(before)
    if failed:
        raise DeliveryError("mail not sent to " + "; ".join(failed)[:400])


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    limits = safe_http.limits_from_config()
    limits = dataclasses.replace(
        limits, connect_timeout=min(limits.connect_timeout, WEBHOOK_SECONDS),
        read_timeout=min(limits.read_timeout, WEBHOOK_SECONDS),
        total_timeout=min(limits.total_timeout, 2 * WEBHOOK_SECONDS))
    try:
        safe_http.post_json(url, payload, limits)
    except safe_http.FetchError as error:
        raise DeliveryError(f"webhook {safe_http.host_of(url)}: {error}") from None
