"""Network safety of every harvest request (harvesters/http.py).

No database; remote answers mocked with ``responses`` or served on 127.0.0.1."""
from __future__ import annotations

import http.server
import threading

import pytest
import requests
import responses

from ckanext.gelsenkirchen.harvesters import http as safe_http

OPEN = safe_http.Limits(allow_private_addresses=True)



@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4",
                                     "169.254.169.254", "100.100.100.200", "::1", "fe80::1",
                                     "fd00:ec2::254", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1",
                                     # IPv6 wrapping a private IPv4: 6to4, NAT64, Teredo
                                     "2002:c0a8:101::1", "2002:7f00:1::", "2002:a9fe:a9fe::",
                                     "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b:1::c0a8:1",
                                     "2001:0:4136:e378:8000:63bf:f5ff:fffe"])
def test_forbidden_addresses(address):
    assert safe_http.address_is_forbidden(address)


def test_public_addresses_are_allowed():
    assert not safe_http.address_is_forbidden("193.175.1.1")
    assert not safe_http.address_is_forbidden("2a00:1450:4001::1")
    assert not safe_http.address_is_forbidden("2002:c1af:101::1")  # 6to4 of 193.175.1.1


def test_urls_are_checked_before_any_request():
    strict = safe_http.Limits()
    with pytest.raises(safe_http.FetchError, match="only http and https"):
        safe_http.check_url("file:///etc/passwd", strict)
    with pytest.raises(safe_http.FetchError, match="only http and https"):
        safe_http.check_url("ftp://daten.example.org/x.csv", strict)
    with pytest.raises(safe_http.FetchError, match="credentials"):
        safe_http.check_url("https://user:pw@daten.example.org/x", strict)
    with pytest.raises(safe_http.FetchError, match="resolves to 10.0.0.5"):
        safe_http.check_url("https://intern.example.org/x", strict,
                            resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"])
    safe_http.check_url("https://daten.example.org/x", strict,
                        resolver=lambda host, port: ["93.184.216.34"])


@pytest.fixture()
def local_feed():
    """A real HTTP server on 127.0.0.1 that records the requests it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append(self.path)
            body = b"id,name\n1,Rathaus\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/feed.csv", seen
    server.shutdown()
    server.server_close()


def test_dns_rebinding_cannot_reach_a_private_address(local_feed):
    """The name passes the check with a public answer, then resolves to
    127.0.0.1 when requests connects: the socket's peer is checked too."""
    url, seen = local_feed
    public_first = lambda host, port: ["93.184.216.34"]  # noqa: E731 - the first DNS answer
    with pytest.raises(safe_http.FetchError, match="connected to 127.0.0.1"):
        safe_http.fetch(url, safe_http.Limits(), resolver=public_first)
    assert seen == []                                    # not a byte reached the server
    # the same server is reachable where private addresses are allowed
    assert safe_http.fetch(url, OPEN, resolver=public_first).body.startswith(b"id,name")
    assert seen == ["/feed.csv"]


@pytest.fixture()
def trickling_source():
    """A real socket server that sends its answer one byte every 50 ms:
    within every read timeout, never done (1 MB would take 14 hours)."""
    import socket
    import time

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(head_too: bool) -> None:
        conn, _addr = listener.accept()
        conn.recv(65536)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n"
        try:
            if not head_too:
                conn.sendall(head)
            for byte in (head if head_too else b"x" * 1_000_000):
                if stop.is_set():
                    break
                conn.sendall(bytes([byte]) if head_too else b"x")
                time.sleep(0.05)
        except OSError:  # the harvester hung up
            pass
        finally:
            conn.close()

    def start(head_too: bool = False) -> str:
        threading.Thread(target=serve, args=(head_too,), daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/slow.csv"

    yield start
    stop.set()
    listener.close()


@pytest.mark.parametrize("head_too", [False, True], ids=["body", "status line and headers"])
def test_total_deadline_ends_a_source_that_trickles(trickling_source, head_too):
    limits = safe_http.Limits(allow_private_addresses=True, read_timeout=1, total_timeout=1.5)
    with pytest.raises(safe_http.FetchError, match=r"took longer than 1.5 s"):
        safe_http.fetch(trickling_source(head_too), limits)


@responses.activate
def test_redirects_to_private_hosts_are_refused_after_the_hop():
    responses.add(responses.GET, "https://daten.example.org/a", status=302,
                  headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    resolver = {"daten.example.org": ["93.184.216.34"]}.__getitem__
    with pytest.raises(safe_http.FetchError, match="169.254.169.254"):
        safe_http.fetch("https://daten.example.org/a", safe_http.Limits(),
                        resolver=lambda host, port: resolver(host))
    assert len(responses.calls) == 1


@responses.activate
def test_redirect_limit_loop_and_conditional_requests():
    for i in range(8):
        responses.add(responses.GET, f"https://x.example.org/{i}", status=301,
                      headers={"Location": f"/{i + 1}"})
    with pytest.raises(safe_http.FetchError, match="too many redirects"):
        safe_http.fetch("https://x.example.org/0", OPEN)
    responses.add(responses.GET, "https://x.example.org/loop", status=307,
                  headers={"Location": "https://x.example.org/loop"})
    with pytest.raises(safe_http.FetchError, match="redirect loop"):
        safe_http.fetch("https://x.example.org/loop", OPEN)
    responses.add(responses.GET, "https://x.example.org/data", status=304)
    answer = safe_http.fetch("https://x.example.org/data", OPEN, etag='"e1"',
                             last_modified="Tue, 01 Jul 2025 10:00:00 GMT")
    assert answer.not_modified
    sent = responses.calls[-1].request.headers
    assert sent["If-None-Match"] == '"e1"'
    assert sent["If-Modified-Since"] == "Tue, 01 Jul 2025 10:00:00 GMT"


@responses.activate
def test_size_limit_timeouts_and_errors():
    responses.add(responses.GET, "https://x.example.org/big", body=b"x" * 5000)
    with pytest.raises(safe_http.FetchError, match="larger than the limit"):
        safe_http.fetch("https://x.example.org/big", safe_http.Limits(
            allow_private_addresses=True, max_bytes=4096))
    responses.add(responses.GET, "https://x.example.org/slow",
                  body=requests.exceptions.ConnectTimeout())
    with pytest.raises(safe_http.FetchError, match="timed out"):
        safe_http.fetch("https://x.example.org/slow", OPEN)
    responses.add(responses.GET, "https://x.example.org/gone", status=410)
    with pytest.raises(safe_http.FetchError, match="HTTP 410"):
        safe_http.fetch("https://x.example.org/gone", OPEN)


def test_html_detection():
    assert safe_http.looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>", "")
    assert safe_http.looks_like_html(b"<!-- x --><html lang=de>", "application/octet-stream")
    assert safe_http.looks_like_html(b"ID;Name", "text/html")
    assert not safe_http.looks_like_html(b"ID;Name\n<b>1</b>;2", "text/csv")
    assert safe_http.html_title(b"<html><title> Fehler 500 </title>") == "Fehler 500"
