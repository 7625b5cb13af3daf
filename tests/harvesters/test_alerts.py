"""Alerts of harvest sources (issue 16, item 5): real WiFi harvests (the
remote source mocked with ``responses``), a local SMTP sink behind CKAN's
mailer and a local HTTP receiver of the webhook. A failed run, a guard stop
and a stale source are alerted once per state; a mail server or webhook
that is down is logged and tried again, and never fails the harvest."""
from __future__ import annotations

import datetime
import logging

import ckan.plugins.toolkit as tk
import pytest
import responses
from ckan import model
from ckan.tests import factories

from ckanext.gelsenkirchen.harvesters import alert_state

from .receivers import SmtpSink, WebhookReceiver
from .wifi import support as ws

pytestmark = [
    pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.alerts.enabled", "true"),
    pytest.mark.ckan_config("smtp.mail_from", "portal@gelsenkirchen.example"),
    pytest.mark.usefixtures("with_plugins", "plugin_db"),
]
URL = f"{ws.FEEDS}/wlan.csv"


@pytest.fixture
def sink(monkeypatch):
    server = SmtpSink()
    monkeypatch.setitem(tk.config, "smtp.server", server.address)
    yield server
    server.stop()


@pytest.fixture
def hook(rsps):
    server = WebhookReceiver()
    rsps.add_passthru(server.url)
    yield server
    server.stop()


def _admin(org_id: str, email: str) -> dict:
    user = factories.User(email=email)
    tk.get_action("organization_member_create")(
        {"ignore_auth": True, "user": factories.Sysadmin()["name"]},
        {"id": org_id, "username": user["name"], "role": "admin"})
    return user


def _source(rsps, config: dict | None = None, rows: int = 10, **kwargs) -> dict:
    ws.mock(rsps, URL, ws.city_csv(ws.hotspots(rows)))
    source = ws.create_source(URL, config or {}, **kwargs)
    assert ws.run(source)["statuses"] == ["added"]
    return source


def _fail(rsps) -> None:
    rsps.replace(responses.GET, URL, status=503, body="down")


def test_a_failed_run_is_alerted_once_by_mail_and_webhook(rsps, sink, hook):
    source = _source(rsps, {"alert_webhook": hook.url})
    _admin(source["owner_org"], "betrieb@gelsenkirchen.example")
    assert sink.messages == [] and hook.posts == []  # published: nothing to say

    _fail(rsps)
    assert ws.run(source)["gather_errors"]
    recipients = [to for to, _ in sink.messages]
    assert ["betrieb@gelsenkirchen.example"] in recipients
    _, mail = sink.messages[recipients.index(["betrieb@gelsenkirchen.example"])]
    assert mail["Subject"] == "Harvest-Quelle „WLAN-Hotspots Test“: der letzte Lauf ist " \
                              "fehlgeschlagen"
    text = mail.get_content()
    assert "Quelle nicht erreichbar: " in text and "HTTP 503" in text
    assert f"/harvest/{source['name']}/runs" in text
    assert len(hook.posts) == 1
    post = hook.posts[0]
    assert (post["event"], post["state"], post["source"]["name"]) == \
        ("harvest_alert", "failed", source["name"])
    assert post["subject"] == mail["Subject"]
    assert post["message_en"].startswith("source not reachable: the source answered HTTP 503")

    mails = len(sink.messages)
    assert ws.run(source)["gather_errors"]  # failed again: the same state, no repeat
    assert (len(sink.messages), len(hook.posts)) == (mails, 1)

    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(11)), content_type="text/csv")
    assert ws.run(source)["statuses"] == ["updated"]  # back to normal: silent
    assert (len(sink.messages), len(hook.posts)) == (mails, 1)
    _fail(rsps)
    ws.run(source)  # a new failure is a new state
    assert (len(sink.messages), len(hook.posts)) == (2 * mails, 2)


def test_a_guard_stop_goes_to_the_sources_own_address(rsps, sink):
    source = _source(rsps, {"alert_email": ["opendata@gelsenkirchen.example"]})
    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(4)), content_type="text/csv")
    assert ws.run(source)["statuses"] == ["errored"]
    assert [to for to, _ in sink.messages] == [["opendata@gelsenkirchen.example"]]
    mail = sink.messages[0][1]
    assert mail["Subject"] == "Harvest-Quelle „WLAN-Hotspots Test“: der Löschschutz hat den " \
                              "Lauf angehalten"
    assert "Löschschutz hat angehalten: 60 % weniger Zeilen" in mail.get_content()


def test_mail_server_and_webhook_down_delay_the_alert_and_never_fail_the_harvest(
        rsps, sink, hook, monkeypatch, caplog):
    source = _source(rsps, {"alert_email": "opendata@gelsenkirchen.example",
                            "alert_webhook": hook.url})
    sink.stop()  # nothing listens on its port now
    hook.fail = True
    _fail(rsps)
    logger = logging.getLogger("ckanext.gelsenkirchen.harvesters.alerts")
    # the ini's ckanext logger does not propagate, and a logging.config of an
    # earlier test may have disabled the loggers that existed then
    monkeypatch.setattr(logger, "disabled", False)
    logger.addHandler(caplog.handler)
    try:
        out = ws.run(source)
    finally:
        logger.removeHandler(caplog.handler)
    assert out["job"].status == "Finished" and out["gather_errors"]
    assert "alert failed not delivered, tried again at the next check" in caplog.text
    state = alert_state.get(source["id"])
    assert (state.state, state.mailed, state.posted) == ("failed", "", "")
    assert "could not be connected" in state.error and "HTTP 500" in state.error

    again = SmtpSink()  # the servers are back: the next check delivers, once
    monkeypatch.setitem(tk.config, "smtp.server", again.address)
    hook.fail = False
    try:
        tk.get_action("harvest_jobs_run")({"ignore_auth": True}, {})
        tk.get_action("harvest_jobs_run")({"ignore_auth": True}, {})
        assert len(again.messages) == 1 and len(hook.posts) == 1
    finally:
        again.stop()
    state = alert_state.get(source["id"])
    assert (state.mailed, state.posted, state.error) == ("failed", "failed", "")


def test_a_run_of_one_source_checks_the_alerts_of_that_source_only(rsps, sink, monkeypatch):
    source = _source(rsps, {"alert_email": "opendata@gelsenkirchen.example"})
    other = ws.create_source(f"{ws.FEEDS}/andere.csv", name="andere-quelle", title="Andere")
    sink.stop()  # the failure is found but not delivered
    _fail(rsps)
    ws.run(source)
    assert alert_state.get(source["id"]).state == "failed"

    again = SmtpSink()
    monkeypatch.setitem(tk.config, "smtp.server", again.address)
    try:
        run = tk.get_action("harvest_jobs_run")
        run({"ignore_auth": True}, {"source_id": other["id"]})
        assert again.messages == []  # another source's run: this one is not checked
        run({"ignore_auth": True}, {"source_id": source["id"]})
        assert [to for to, _ in again.messages] == [["opendata@gelsenkirchen.example"]]
    finally:
        again.stop()


def test_a_stale_source_is_alerted_by_the_cli(rsps, sink, cli):
    from ckanext.harvest.model import HarvestJob

    from ckanext.gelsenkirchen.cli import gelsenkirchen

    source = _source(rsps, {"alert_email": "opendata@gelsenkirchen.example"},
                     frequency="DAILY")
    result = cli.invoke(gelsenkirchen, ["harvest-alerts"])
    assert result.exit_code == 0 and "'WLAN-Hotspots Test' ok\n" in result.output
    three_days = datetime.timedelta(days=3)
    for job in model.Session.query(HarvestJob).filter_by(source_id=source["id"]):
        job.created, job.finished = job.created - three_days, job.finished - three_days
        job.gather_started = job.gather_started and job.gather_started - three_days
    model.Session.commit()

    result = cli.invoke(gelsenkirchen, ["harvest-alerts"])
    assert result.exit_code == 0, result.output
    assert "'WLAN-Hotspots Test' stale: no completed run since " in result.output
    assert "(scheduled DAILY); sent: mail to 1" in result.output
    assert sink.messages[0][1]["Subject"] == \
        "Harvest-Quelle „WLAN-Hotspots Test“: seit zu langer Zeit kein abgeschlossener Lauf"
    result = cli.invoke(gelsenkirchen, ["harvest-alerts"])
    assert "sent" not in result.output and len(sink.messages) == 1


@pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.allow_private_addresses", "false")
def test_the_webhook_passes_the_network_rules_of_source_urls(rsps, hook):
    from ckanext.gelsenkirchen.harvesters import alert_delivery

    with pytest.raises(alert_delivery.DeliveryError, match="a loopback, private"):
        alert_delivery.post_webhook(hook.url, {"state": "failed"})
    assert hook.posts == []


def test_alert_settings_are_checked_when_the_source_is_saved(rsps):
    for config, error in (({"alert_webhook": "ftp://hooks.example.org/x"}, "only http and https"),
                          ({"alert_webhook": "https://user:pw@hooks.example.org/"},
                           "credentials"),
                          ({"alert_email": "kein-mailziel"}, "an e-mail address"),
                          # once took seconds in the address pattern (fuzzing, issue 12)
                          ({"alert_email": "a@" + "." * 20000 + "@"}, "an e-mail address"),
                          ({"alert_email": ["x@example.org"] * 21}, "at most 20")):
        with pytest.raises(tk.ValidationError, match=error):
            ws.create_source(URL, config)
