"""NO_PROXY end to end, without leaving loopback: the emulator serves https on 127.0.0.2 (a
loopback address the client does not exempt by itself, as it does localhost, 127.0.0.1 and
::1), HTTPS_PROXY names a recording proxy on 127.0.0.1 that refuses everything, and
`%azure.connect` signs in (Entra ID), looks the workspace up (ARM) and lists targets (data
plane) at 127.0.0.2. With NO_PROXY (or no_proxy) naming 127.0.0.2 it connects and the proxy
sees nothing; without it, the proxy is asked to CONNECT to 127.0.0.2 and the connect fails."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from test_connect import EmulatorLines, connected, kernel, kernel_env, run


class RecordingProxy:
    """A proxy on 127.0.0.1 that records each request line (`CONNECT host:port HTTP/1.1`)
    and answers 403. It forwards nothing."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(10)
                head = b""
                try:
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    line = head.split(b"\r\n", 1)[0].decode("latin-1")
                    with self.lock:
                        self.seen.append(line)
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                except OSError:
                    pass

    def take(self) -> list[str]:
        with self.lock:
            seen, self.seen = self.seen, []
        return seen

    def close(self):
        self.sock.close()
        self.thread.join(timeout=10)


@pytest.fixture
def proxy():
    p = RecordingProxy()
    yield p
    p.close()


def test_no_proxy_sends_the_named_hosts_direct_and_the_rest_through_the_proxy(azq_bin, tmp_path, proxy):
    em = EmulatorLines(azq_bin, "--tls", "--host", "127.0.0.2", "--data-dir", str(tmp_path / "em"))
    try:
        assert em.url.startswith("https://127.0.0.2:"), em.url
        hostport = em.url.removeprefix("https://")
        ca = em.lines["SSL_CERT_FILE"]
        # The emulator is reachable at 127.0.0.2 with its CA (its certificate names the address).
        direct = requests.Session()
        direct.trust_env = False
        assert direct.get(f"{em.url}/common/v2.0/.well-known/openid-configuration", verify=ca, timeout=10).ok
        base = dict(HTTPS_PROXY=proxy.url, SSL_CERT_FILE=ca, AZURE_AUTHORITY_HOST=em.url, AZQ_ARM_ENDPOINT=em.url,
                    **em.service_principal())
        # ARM names the emulator's stand-in host (westus.quantum.azure.com) as the workspace's
        # endpoint; `endpoint=` keeps the data plane on 127.0.0.2 too.
        connect = f"%azure.connect {em.rid} credential=Environment endpoint={em.url}/ location=westus"

        for name in ("NO_PROXY", "no_proxy"):
            env = kernel_env(tmp_path, **base, **{name: "127.0.0.2"})
            with kernel(env) as kc:
                connected(run(kc, connect), em, "Environment")
            assert proxy.take() == [], f"with {name}=127.0.0.2 the proxy was still asked"

        # Control: the same without NO_PROXY goes to the proxy, which refuses.
        with kernel(kernel_env(tmp_path, **base)) as kc:
            ran = run(kc, connect)
        assert ran.error is not None, ran.text()
        seen = proxy.take()
        assert seen and all(line.startswith(f"CONNECT {hostport} ") for line in seen), seen
        # The proxy is what to fix, and the message says so (not "check the client secret").
        evalue = ran.error["evalue"]
        assert "the proxy in HTTPS_PROXY" in evalue and "NO_PROXY" in evalue, evalue
        assert "Check AZURE_TENANT_ID" not in evalue, evalue

        # A NO_PROXY that names another host does not exempt 127.0.0.2.
        with kernel(kernel_env(tmp_path, **base, NO_PROXY="127.0.0.3,example.invalid")) as kc:
            ran = run(kc, connect)
        assert ran.error is not None, ran.text()
        assert any(line.startswith(f"CONNECT {hostport} ") for line in proxy.take())

        # Signed in directly, but the data plane (127.0.0.3, not in NO_PROXY) goes through the
        # proxy, which refuses: a NetworkError that names the host and the proxy.
        with kernel(kernel_env(tmp_path, **base, NO_PROXY="127.0.0.2")) as kc:
            ran = run(kc, f"%azure.connect {em.rid} credential=Environment endpoint=https://127.0.0.3:9/ location=westus")
        assert ran.error is not None and ran.error["ename"] == "NetworkError", ran.text()
        assert "127.0.0.3" in ran.error["evalue"] and "the proxy in HTTPS_PROXY" in ran.error["evalue"], ran.error
        seen = proxy.take()
        assert seen and all(line.startswith("CONNECT 127.0.0.3:9 ") for line in seen), seen
    finally:
        em.close()
