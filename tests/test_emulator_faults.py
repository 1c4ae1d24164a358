"""Faults injected from the command line, seen over real TCP: dropped connections, added
latency, and a flaky route that a retrying client gets through."""

from __future__ import annotations

import pytest
import requests

from emulator_helpers import Emulator


def test_dropped_connections_latency_and_retries(azq_bin):
    em = Emulator(azq_bin, "--fault", "PUT **/jobs/* drop", "--fault", "GET **/quotas latency:150",
                  "--fault", "GET **/providerStatus 503:0 0.5", "--fault-seed", "3")
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            em.call("PUT", "jobs/00000000-0000-0000-0000-000000000001", {"name": "x"})
        quotas = em.call("GET", "quotas", headers={"x-ms-client-request-id": "latency-probe"})
        assert quotas.status_code == 200
        # About half the calls fail; a client that retries 503 (as azure-core does) gets through.
        statuses = [em.call("GET", "providerStatus").status_code for _ in range(40)]
        assert 5 < statuses.count(503) < 35 and statuses.count(200) > 5
        for _ in range(20):
            if em.call("GET", "providerStatus").status_code == 200:
                break
        else:
            pytest.fail("never got through")
        log = em.requests_log()
        assert any(e["status"] == 503 and e["path"].endswith("/providerStatus") for e in log)
        # The latency was served: the emulator's own log shows it held that request 150 ms
        # (a lower bound its sleep guarantees; nothing here is timed by the test).
        probe = [e for e in log if e["clientRequestId"] == "latency-probe"]
        assert len(probe) == 1 and probe[0]["ms"] >= 150, probe
    finally:
        em.close()


def test_bad_fault_specs_are_refused(azq_bin, tmp_path):
    import subprocess

    r = subprocess.run([str(azq_bin), "emulator", "--fault", "GET ** 200"], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "--fault" in r.stderr and "400-599" in r.stderr


def test_the_proxy_answers_for_the_metadata_service_itself(azq_bin):
    # The request goes to the emulator on loopback, addressed (absolute-form) to IMDS; the
    # emulator answers it and connects nowhere. The real IMDS address carries no secret, so
    # the emulator serves it only when started with --open-imds.
    em = Emulator(azq_bin, "--open-imds")
    try:
        proxies = {"http": em.url}
        imds = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://quantum.microsoft.com"
        r = requests.get(imds, proxies=proxies, headers={"Metadata": "true"}, timeout=10)
        assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
        refused = requests.get("http://example.com/", proxies=proxies, timeout=10)
        assert refused.status_code == 403
    finally:
        em.close()
