"""Safe HTTP fetching for harvesters.

Every request made on behalf of a harvest source goes through :func:`fetch`
(and every alert webhook through :func:`post_json`, under the same rules):

* only ``http`` and ``https`` URLs, without credentials in the URL;
* a connect and a read timeout, plus an overall deadline for the download;
* a byte limit (checked against ``Content-Length`` and while streaming, after
  decompression, so a gzip bomb is cut off too);
* redirects are followed by hand, at most ``max_redirects`` times, and every
  hop is checked again (scheme, host addresses, loops);
* hosts resolving to loopback, private, link-local, multicast, reserved or
  cloud metadata addresses are refused unless
  ``ckanext.gelsenkirchen.harvest.allow_private_addresses`` is true; the
  address is checked before the request and again on the connected socket,
  before a byte is sent, so a DNS answer that changes in between (DNS
  rebinding) cannot reach such an address either;
* conditional requests (``If-None-Match`` / ``If-Modified-Since``);
* HTML error pages served with status 200 are detected by the caller with
  :func:`looks_like_html`.

Nothing here needs a database; the limits come from CKAN's config only in
:func:`limits_from_config`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Cloud metadata services that are not covered by "not global" checks
# everywhere (Alibaba uses a CGNAT address, AWS a ULA for IPv6).
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}


class FetchError(Exception):
    """A source could not be fetched; the message says what happened."""


@dataclasses.dataclass
class Limits:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    total_timeout: float = 300.0
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = 5
    allow_private_addresses: bool = False
    user_agent: str = "ckanext-gelsenkirchen-harvester (+https://www.gelsenkirchen.de)"


def limits_from_config() -> Limits:
    """The limits configured for this site (see config_declaration.yaml)."""
    import ckan.plugins.toolkit as tk

    prefix = "ckanext.gelsenkirchen.harvest."
    return Limits(
        connect_timeout=float(tk.config.get(prefix + "connect_timeout") or 10),
        read_timeout=float(tk.config.get(prefix + "read_timeout") or 60),
        total_timeout=float(tk.config.get(prefix + "total_timeout") or 300),
        max_bytes=int(tk.config.get(prefix + "max_bytes") or DEFAULT_MAX_BYTES),
        max_redirects=int(tk.config.get(prefix + "max_redirects") or 5),
        allow_private_addresses=tk.asbool(tk.config.get(prefix + "allow_private_addresses")),
    )


@dataclasses.dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    not_modified: bool = False

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


Resolver = Callable[[str, int], Iterable[str]]


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise FetchError(f"the host {host!r} could not be resolved ({error.strerror})") from None
    return [str(info[4][0]) for info in infos]


# NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use): the last 32 bits
# are the IPv4 address a translator connects to.
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: mapped, 6to4 (2002::/16),
    Teredo (2001::/32, server and client) and NAT64."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo:
        found.extend(ip.teredo)
    if any(ip in net for net in NAT64_PREFIXES):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (ip in METADATA_ADDRESSES or not ip.is_global or ip.is_multicast
            or ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_reserved
            or ip.is_unspecified)


def address_is_forbidden(address: str) -> bool:
    """True for addresses a harvester must not connect to by default, also
    when an IPv6 address only wraps such an IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if any(_forbidden_ip(v4) for v4 in embedded):
            return True
    return _forbidden_ip(ip)


class ForbiddenAddressError(NewConnectionError):
    """The socket got connected to an address harvesters must not reach."""

    def __init__(self, conn: Any, message: str):
        super().__init__(conn, message)
        self.message = message


class _Fetch:
    """What the connections of the running fetch (this thread) must obey:
    the peer check, and the total deadline, which shuts their sockets down
    when it passes. A socket read waits at most the read timeout per call,
    but a source that sends a byte just within each timeout would otherwise
    hold a harvest for days; shutting the socket ends the read at once."""

    def __init__(self, limits: Limits):
        self.check_peer = not limits.allow_private_addresses
        self.seconds = limits.total_timeout
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(limits.total_timeout, self._expire)
        self._timer.daemon = True

    def timed_out(self) -> FetchError:
        return FetchError(f"the download took longer than {self.seconds:g} s "
                          "(ckanext.gelsenkirchen.harvest.total_timeout)")

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def __enter__(self) -> _Fetch:
        _current.fetch = self
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()
        _current.fetch = None


_current = threading.local()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


class _FetchConnection:
    """A connection of a fetch: the address the new socket is connected to
    is checked before a byte is sent (the host may resolve differently than
    during check_url), and the socket is put under the fetch's deadline."""
    host: str

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        fetch: _Fetch | None = getattr(_current, "fetch", None)
        if fetch is None:
            return sock
        if fetch.check_peer:
            peer = sock.getpeername()[0]
            if address_is_forbidden(peer):
                sock.close()
                raise ForbiddenAddressError(
                    self, f"the host {self.host!r} connected to {peer}, a loopback, private, "
                    "link-local or metadata address; such hosts are refused (see "
                    "ckanext.gelsenkirchen.harvest.allow_private_addresses)")
        fetch.track(sock)
        return sock


class _FetchHTTPConnection(_FetchConnection, HTTPConnection):
    pass


class _FetchHTTPSConnection(_FetchConnection, HTTPSConnection):
    pass


class _FetchHTTPPool(HTTPConnectionPool):
    ConnectionCls = _FetchHTTPConnection


class _FetchHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _FetchHTTPSConnection


class FetchAdapter(HTTPAdapter):
    """A transport adapter whose connections obey the running fetch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _FetchHTTPPool,
                                                   "https": _FetchHTTPSPool}


def check_url(url: str, limits: Limits, resolver: Resolver | None = None) -> None:
    """Raise FetchError unless ``url`` may be fetched under ``limits``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs are harvested, not {parts.scheme or 'a relative URL'!r}: {url}")
    if not parts.hostname:
        raise FetchError(f"the URL has no host: {url}")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials (user:password@host) are not harvested")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"the URL has an invalid port: {url}") from None
    if limits.allow_private_addresses:
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = list((resolver or _resolve)(host, port))
    if not addresses:
        raise FetchError(f"the host {host!r} could not be resolved")
    for address in addresses:
        if address_is_forbidden(address):
            raise FetchError(
                f"the host {host!r} resolves to {address}, a loopback, private, link-local or "
                "metadata address; such hosts are refused (see "
                "ckanext.gelsenkirchen.harvest.allow_private_addresses)")


def fetch(url: str, limits: Limits, *, etag: str | None = None,
          last_modified: str | None = None, accept: str | None = None,
          session: requests.Session | None = None,
          resolver: Resolver | None = None) -> Response:
    """GET ``url`` within ``limits``; raise FetchError with a clear message.

    A ``304 Not Modified`` answer to the conditional request is returned with
    ``not_modified=True`` and an empty body.
    """
    session = _session(session)
    headers = {"User-Agent": limits.user_agent, "Accept-Encoding": "gzip, deflate"}
    if accept:
        headers["Accept"] = accept
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with _Fetch(limits) as watch:
        try:
            response = _get(session, url, headers, limits, resolver)
        except FetchError:
            if watch.expired:
                raise watch.timed_out() from None
            raise
        if watch.expired:  # also when the shut socket read as a clean end of the body
            raise watch.timed_out()
        return response


def _session(session: requests.Session | None = None) -> requests.Session:
    """A session whose connections obey the running fetch (peer check, deadline)."""
    session = session or requests.Session()
    session.trust_env = False  # no proxies or netrc credentials from the environment
    adapter = FetchAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post_json(url: str, payload: Any, limits: Limits, *,
              resolver: Resolver | None = None) -> int:
    """POST ``payload`` as JSON to ``url`` (a webhook) under the same rules as
    :func:`fetch`: scheme, credentials and addresses checked before the
    request and on the connected socket, timeouts and the overall deadline.
    Redirects are not followed; an answer other than 2xx is a FetchError.
    Returns the status."""
    import json

    check_url(url, limits, resolver)
    session = _session()
    headers = {"User-Agent": limits.user_agent, "Content-Type": "application/json"}
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    with _Fetch(limits) as watch:
        try:
            resp = session.post(url, data=body, headers=headers, allow_redirects=False,
                                stream=True, timeout=(limits.connect_timeout, limits.read_timeout))
        except requests.exceptions.RequestException as error:
            if watch.expired:
                raise watch.timed_out() from None
            forbidden = _forbidden_address(error)
            raise FetchError(forbidden.message if forbidden is not None
                             else f"could not post to {host_of(url)}: {_reason(error)}") from None
        resp.close()
    if not 200 <= resp.status_code < 300:
        raise FetchError(f"{host_of(url)} answered HTTP {resp.status_code} {resp.reason or ''}"
                         .rstrip())
    return resp.status_code


def _get(session: requests.Session, url: str, headers: dict[str, str], limits: Limits,
         resolver: Resolver | None) -> Response:
    """The request, its redirects and the body of :func:`fetch`."""
    resp, current = _follow_redirects(session, url, headers, limits, resolver)
    lowered = {k.lower(): v for k, v in resp.headers.items()}
    if resp.status_code == 304:
        resp.close()
        return Response(url=current, status=304, headers=lowered, not_modified=True)
    if resp.status_code >= 400 or resp.status_code < 200:
        resp.close()
        raise FetchError(f"the source answered HTTP {resp.status_code} {resp.reason or ''}".rstrip()
                         + f" for {current}")
    length = lowered.get("content-length")
    if length and length.isdigit() and int(length) > limits.max_bytes:
        resp.close()
        raise FetchError(f"the source is larger than the limit of {_size(limits.max_bytes)} "
                         f"(Content-Length {_size(int(length))})")
    body = _read_body(resp, current, limits)
    return Response(url=current, status=resp.status_code, headers=lowered, body=body)


def _follow_redirects(session: requests.Session, url: str, headers: dict[str, str],
                      limits: Limits, resolver: Resolver | None
                      ) -> tuple[requests.Response, str]:
    """The first answer that is no redirect, and its URL; every hop checked."""
    seen: list[str] = []
    current = url
    while True:
        check_url(current, limits, resolver)
        if current in seen:
            raise FetchError(f"redirect loop: {current} was reached twice "
                             f"({' -> '.join(seen + [current])})")
        seen.append(current)
        resp = _request(session, current, headers, limits)
        if resp.status_code not in REDIRECT_STATUSES:
            return resp, current
        location = resp.headers.get("Location")
        resp.close()
        if not location:
            raise FetchError(f"HTTP {resp.status_code} redirect without a Location from {current}")
        if len(seen) > limits.max_redirects:
            raise FetchError(f"too many redirects (more than {limits.max_redirects}) "
                             f"starting at {url}")
        current = urljoin(current, location)


def _request(session: requests.Session, url: str, headers: dict[str, str],
             limits: Limits) -> requests.Response:
    """One GET, its body left to stream; transport errors as FetchError."""
    try:
        return session.get(url, headers=headers, stream=True, allow_redirects=False,
                           timeout=(limits.connect_timeout, limits.read_timeout))
    except requests.exceptions.ConnectTimeout:
        raise FetchError(f"connection to {host_of(url)} timed out after "
                         f"{limits.connect_timeout:g} s") from None
    except requests.exceptions.ReadTimeout:
        raise FetchError(f"{host_of(url)} did not answer within {limits.read_timeout:g} s "
                         "(read timeout)") from None
    except requests.exceptions.ConnectionError as error:
        forbidden = _forbidden_address(error)
        if forbidden is not None:
            raise FetchError(forbidden.message) from None
        raise FetchError(f"could not connect to {host_of(url)}: {_reason(error)}") from None
    except requests.exceptions.RequestException as error:
        raise FetchError(f"request to {host_of(url)} failed: {_reason(error)}") from None


def _read_body(resp: requests.Response, url: str, limits: Limits) -> bytes:
    """The (decompressed) body within the byte limit; the response is closed."""
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in resp.iter_content(chunk_size=65536):
            total += len(chunk)
            if total > limits.max_bytes:
                raise FetchError(f"the source is larger than the limit of "
                                 f"{_size(limits.max_bytes)}; download stopped")
            chunks.append(chunk)
        if _cut_short(resp):
            raise requests.exceptions.ChunkedEncodingError
    except requests.exceptions.ChunkedEncodingError:
        raise FetchError(f"the response from {host_of(url)} was truncated "
                         "(connection closed before the announced length)") from None
    except requests.exceptions.ContentDecodingError:
        raise FetchError(f"the response from {host_of(url)} could not be decompressed") from None
    except requests.exceptions.ReadTimeout:
        raise FetchError(f"{host_of(url)} stopped sending within {limits.read_timeout:g} s "
                         "(read timeout)") from None
    except requests.exceptions.ConnectionError as error:
        raise FetchError(f"the connection to {host_of(url)} broke off: {_reason(error)}") from None
    finally:
        resp.close()
    return b"".join(chunks)


def _cut_short(resp: requests.Response) -> bool:
    """Fewer bytes arrived than ``Content-Length`` announced. urllib3 2
    raises for this itself; urllib3 1.26 (CKAN 2.10's pin) ends the body
    quietly, so a truncated source would look complete."""
    announced = resp.headers.get("Content-Length", "")
    tell = getattr(resp.raw, "tell", None)
    return announced.isdigit() and callable(tell) and int(tell()) < int(announced)


_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]", re.I | re.S)


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    """True if a body that should be data is an HTML page (e.g. an error page)."""
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:2048].lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head))


def html_title(body: bytes) -> str:
    match = re.search(rb"<title[^>]*>(.*?)</title>", body[:65536], re.I | re.S)
    if not match:
        return ""
    return " ".join(match.group(1).decode("utf-8", "replace").split())[:120]


def content_hash(parts: Iterable[bytes | str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def _forbidden_address(error: BaseException) -> ForbiddenAddressError | None:
    """The ForbiddenAddressError behind requests' ConnectionError, if any."""
    seen: set[int] = set()
    todo: list[Any] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ForbiddenAddressError):
            return current
        todo.extend([getattr(current, "reason", None), current.__cause__, current.__context__]
                    + [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)])
    return None


def _reason(error: Any) -> str:
    text = str(error)
    for marker in ("Failed to establish a new connection:", "NameResolutionError", "Connection refused"):
        if marker in text:
            return text[text.index(marker):][:200]
    return text[:200] or error.__class__.__name__


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def with_query(url: str, params: dict[str, Any] | None, drop: Iterable[str] = ()) -> str:
    """``url`` with ``params`` set in its query, replacing keys of the same
    name (and those in ``drop``) case-insensitively."""
    if not params:
        return url
    parts = urlsplit(url)
    lowered = {k.lower() for k in params} | {k.lower() for k in drop}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in lowered]
    query += [(k, str(v)) for k, v in params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))
