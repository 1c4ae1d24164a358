"""Sign-in flows against the emulator with the real azure-identity: managed identity in the
App Service form (IDENTITY_ENDPOINT + IDENTITY_HEADER) and the VM form (IMDS, redirected
with AZURE_POD_IDENTITY_AUTHORITY_HOST), and the device-code flow approved through the
emulator's admin endpoint, each token then accepted by the data plane."""

from __future__ import annotations

import os
from unittest import mock

import pytest
import requests

from emulator_helpers import start_emulator, through_proxy

SCOPE = "https://quantum.microsoft.com/.default"


def start(azq_bin, *extra):
    return start_emulator(azq_bin, *extra)


def data_plane_accepts(lines, token):
    cs = dict(p.split("=", 1) for p in lines["AZURE_QUANTUM_CONNECTION_STRING"].strip(";").split(";"))
    ws = f"/subscriptions/{cs['SubscriptionId']}/resourceGroups/{cs['ResourceGroupName']}/providers/Microsoft.Quantum/workspaces/{cs['WorkspaceName']}"
    proxies = {"https": lines.get("HTTPS_PROXY")} if "HTTPS_PROXY" in lines else None
    base = cs["QuantumEndpoint"].rstrip("/")
    r = requests.get(f"{base}{ws}/providerStatus?api-version=2026-01-15-preview", headers={"authorization": f"Bearer {token}"},
                     proxies=proxies, verify=lines.get("SSL_CERT_FILE", True), timeout=10)
    return r.status_code == 200


@pytest.fixture
def plain(azq_bin):
    proc, lines = start(azq_bin)
    yield lines
    proc.terminate()
    proc.wait()


@pytest.fixture(scope="module")
def tls(azq_bin):
    """One emulator in proxy mode, its CA trusted and https routed through it."""
    proc, lines = start(azq_bin, "--tls")
    with through_proxy(lines):
        yield lines
    proc.terminate()
    proc.wait()


def test_managed_identity_app_service_form(plain):
    from azure.identity import ManagedIdentityCredential

    env = {"IDENTITY_ENDPOINT": plain["IDENTITY_ENDPOINT"], "IDENTITY_HEADER": plain["IDENTITY_HEADER"]}
    with mock.patch.dict(os.environ, env, clear=False):
        token = ManagedIdentityCredential().get_token(SCOPE).token
    assert data_plane_accepts(plain, token)
    with mock.patch.dict(os.environ, {**env, "IDENTITY_HEADER": "wrong"}, clear=False):
        from azure.core.exceptions import ClientAuthenticationError

        with pytest.raises(ClientAuthenticationError):
            ManagedIdentityCredential().get_token(SCOPE)


def test_managed_identity_vm_form_redirected_to_the_emulator(plain):
    from azure.identity import ManagedIdentityCredential

    env = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": plain["AZURE_POD_IDENTITY_AUTHORITY_HOST"]}
    removed = {k: None for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT")}
    with mock.patch.dict(os.environ, env, clear=False):
        for k in removed:
            os.environ.pop(k, None)
        token = ManagedIdentityCredential().get_token(SCOPE).token
    assert data_plane_accepts(plain, token)


def test_device_code_sign_in_approved_in_the_emulator(tls):
    lines = tls
    from azure.identity import DeviceCodeCredential

    key = dict(p.split("=", 1) for p in lines["AZURE_QUANTUM_CONNECTION_STRING"].strip(";").split(";"))["ApiKey"]
    prompts = []

    def approve(verification_uri, user_code, expires_on):
        prompts.append((verification_uri, user_code))
        r = requests.post("https://login.microsoftonline.com/_emulator/devicelogin", json={"user_code": user_code, "approve": True},
                          headers={"x-ms-quantum-api-key": key}, proxies={"https": lines["HTTPS_PROXY"]}, verify=lines["SSL_CERT_FILE"], timeout=10)
        assert r.status_code == 200

    credential = DeviceCodeCredential(client_id="04b07795-8ddb-461a-bbee-02f9e1bf7b46", tenant_id=lines["AZURE_TENANT_ID"], prompt_callback=approve, timeout=60)
    token = credential.get_token(SCOPE).token
    assert prompts and prompts[0][0] == "https://login.microsoftonline.com/devicelogin"
    assert data_plane_accepts(lines, token)


def test_workload_identity_with_the_federated_token_file(tls, tmp_path):
    lines = tls
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import WorkloadIdentityCredential

    credential = WorkloadIdentityCredential(tenant_id=lines["AZURE_TENANT_ID"], client_id=lines["AZURE_CLIENT_ID"],
                                            token_file_path=lines["AZURE_FEDERATED_TOKEN_FILE"])
    assert data_plane_accepts(lines, credential.get_token(SCOPE).token)
    forged = tmp_path / "forged"
    text = open(lines["AZURE_FEDERATED_TOKEN_FILE"]).read()
    forged.write_text(text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB"))
    with pytest.raises(ClientAuthenticationError):
        WorkloadIdentityCredential(tenant_id=lines["AZURE_TENANT_ID"], client_id=lines["AZURE_CLIENT_ID"], token_file_path=str(forged)).get_token(SCOPE)


def test_storage_connection_string_signs_with_shared_key(tls):
    lines = tls
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
    from azure.storage.blob import BlobServiceClient

    conn = lines["AZURE_STORAGE_CONNECTION_STRING"]
    service = BlobServiceClient.from_connection_string(conn)
    container = service.get_container_client("results")
    container.create_container()
    container.upload_blob("data.json", b'{"ok": true}', overwrite=True)
    assert container.download_blob("data.json").readall() == b'{"ok": true}'
    wrong = conn.replace(conn.split("AccountKey=")[1].split(";")[0], "d3JvbmcgYWNjb3VudCBrZXkgZm9yIHRoZSBlbXVsYXRvcg==")
    with pytest.raises((ClientAuthenticationError, HttpResponseError)) as err:
        BlobServiceClient.from_connection_string(wrong).get_container_client("results").download_blob("data.json").readall()
    assert err.value.status_code == 403
