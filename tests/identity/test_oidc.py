"""The OpenID Connect provider seen from outside: relying parties (SSO) and machine clients.

* A relying party written with an independent client library (authlib + joserfc) completes the
  authorization code flow with PKCE against a live server, verifies the ID token against the
  published keys and reads userinfo.
* The client policy decides which scopes a client may obtain; the full ID number only goes to a
  client whose policy lists the ``id_number`` scope.
* Another department's system gets a client-credentials token, is identified by whoami with the
  headers it sends, and is rate limited per its policy.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.test import Client
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from tests.conftest import demo_account, page_login

from onewindow import demo as demo_module
from onewindow.identity import access, services

REDIRECT_URI = "http://127.0.0.1/cb"
RP_SECRET = "rp-secret-for-tests-only-0123456789"
MACHINE_SECRET = "machine-secret-for-tests-only-0123456789"
MASKED_ID = re.compile(r"^990\*{11}\d{3}[\dX]$")


# --- helpers ------------------------------------------------------------------------------


class _ConsentForm(HTMLParser):
    """Collects the inputs of django-oauth-toolkit's authorize form (``#authorizationForm``)."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self._inside = False
        self.fields: dict[str, str] = {}
        self.submit_names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form" and attr.get("id") == "authorizationForm":
            self.found = self._inside = True
        elif tag == "input" and self._inside:
            if attr.get("type") == "submit":
                self.submit_names.append(attr.get("name", ""))
            elif attr.get("name"):
                self.fields[attr["name"]] = attr.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def consent_fields(html: str) -> dict[str, str]:
    form = _ConsentForm()
    form.feed(html)
    assert form.found, "no authorization form on the page:\n" + html[:2000]
    assert "allow" in form.submit_names
    return form.fields


def redirect_query(response) -> dict[str, str]:
    """The query of a redirect to the relying party's redirect URI (not followed)."""
    assert response.status_code == 302, (response.status_code, response.content[:500])
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def register_relying_party(client_id: str, allowed_scopes: str):
    return services.client_register(
        name=f"SSO test client {client_id}",
        kind="relying_party",
        client_id=client_id,
        client_secret=RP_SECRET,
        redirect_uris=REDIRECT_URI,
        allowed_scopes=allowed_scopes,
    )


def authorize_in_process(client, client_id: str, scope: str) -> tuple[dict[str, str], str]:
    """Run the authorize step with Django's test client (already logged in).

    Returns the redirect's query parameters and the PKCE code verifier."""
    verifier = generate_token(48)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": generate_token(16),
        "nonce": generate_token(16),
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    response = client.get("/o/authorize/?" + urlencode(params))
    if response.status_code == 302:  # refused before consent: the error goes to the client
        return redirect_query(response), verifier
    assert response.status_code == 200, response.content[:1000]
    fields = consent_fields(response.content.decode())
    assert fields["scope"] == scope
    response = client.post("/o/authorize/?" + urlencode(params), {**fields, "allow": "Authorize"})
    query = redirect_query(response)
    assert query["state"] == params["state"]
    return query, verifier


def token_in_process(client, client_id: str, code: str, verifier: str):
    return client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic_auth(client_id, RP_SECRET),
    )


# --- 1. a relying party against a live server ----------------------------------------------


@pytest.fixture
def closing():
    """Closes the HTTP clients a test opens: a kept-alive connection would keep a live-server
    thread, and its database connection, open (PostgreSQL then cannot drop the test database)."""
    with contextlib.ExitStack() as stack:
        yield stack.enter_context


@pytest.mark.django_db(transaction=True)
def test_relying_party_code_flow_with_pkce_against_a_live_server(live_server, closing):
    from onewindow import demo
    from onewindow.identity.models import User

    demo.seed()
    client_id = "rp-housing-fund-portal"
    register_relying_party(client_id, "openid profile phone")
    zhangsan = demo_account("zhangsan")
    base = live_server.url

    metadata = httpx.get(f"{base}/.well-known/openid-configuration", timeout=30).json()
    rp = closing(
        OAuth2Client(
            client_id=client_id,
            client_secret=RP_SECRET,
            scope="openid profile phone",
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
            timeout=30,
        )
    )
    verifier = generate_token(48)
    nonce = generate_token(16)
    authorization_url, state = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    query = parse_qs(urlsplit(authorization_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [create_s256_code_challenge(verifier)]

    # The citizen's browser: log in on the portal, then consent on the authorize page.
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as browser:
        assert browser.get("/accounts/login/").status_code == 200
        csrf = browser.cookies["csrftoken"]
        login = browser.post(
            "/accounts/login/",
            data={
                "login": "zhangsan",
                "password": zhangsan["password"],
                "csrfmiddlewaretoken": csrf,
            },
        )
        assert login.status_code == 302, login.text[:1000]
        assert "/accounts/login" not in login.headers["Location"]

        consent = browser.get(authorization_url)
        assert consent.status_code == 200, (consent.status_code, consent.headers)
        fields = consent_fields(consent.text)
        assert fields["client_id"] == client_id
        assert fields["code_challenge_method"] == "S256"
        assert fields["scope"] == "openid profile phone"
        allowed = browser.post(authorization_url, data={**fields, "allow": "Authorize"})
        redirect = redirect_query(allowed)
    assert redirect["state"] == state
    code = redirect["code"]

    # PKCE is enforced: without (or with a wrong) verifier the code is refused...
    for bad, error in (
        ({}, "invalid_request"),
        ({"code_verifier": generate_token(48)}, "invalid_grant"),
    ):
        with pytest.raises(OAuthError) as refused:
            closing(
                OAuth2Client(
                    client_id=client_id,
                    client_secret=RP_SECRET,
                    redirect_uri=REDIRECT_URI,
                    timeout=30,
                )
            ).fetch_token(metadata["token_endpoint"], code=code, **bad)
        assert refused.value.error == error
    # ...and the same code still works with the right one.
    token = rp.fetch_token(
        metadata["token_endpoint"], code=code, code_verifier=verifier, state=state
    )
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == {"openid", "profile", "phone"}

    # The ID token is signed with a key from the published JWKS.
    jwks = KeySet.import_key_set(httpx.get(metadata["jwks_uri"], timeout=30).json())
    id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])
    assert id_token.header["alg"] == "RS256"
    user = User.objects.get(username="zhangsan")
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": client_id},
        sub={"essential": True, "value": str(user.pk)},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(id_token.claims)
    assert "id_number" not in id_token.claims
    # A tampered payload no longer verifies (the check above is a real signature check).
    head, body, signature = token["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{head}.{forged}.{signature}", jwks, algorithms=["RS256"])

    # Userinfo with the access token: the name and phone, the ID number only masked.
    userinfo = rp.get(metadata["userinfo_endpoint"])
    assert userinfo.status_code == 200, userinfo.text
    claims = userinfo.json()
    assert claims["sub"] == str(user.pk)
    assert claims["name"] == "张三"
    assert claims["preferred_username"] == "zhangsan"
    assert "id_number" not in claims  # the client's policy does not grant it
    assert MASKED_ID.match(claims["id_number_masked"]), claims["id_number_masked"]
    assert claims["id_number_masked"].endswith(zhangsan["id_number"][-4:])
    assert zhangsan["id_number"] not in userinfo.text
    assert claims["phone_number"] == "+86" + zhangsan["phone"]

    # Without the access token there is nothing to read.
    anonymous = httpx.get(metadata["userinfo_endpoint"], timeout=30)
    assert anonymous.status_code == 401


# --- 2. the policy decides who gets the full ID number --------------------------------------


def test_client_allowed_the_id_number_scope_gets_the_full_number(client, demo_city):
    zhangsan = demo_account("zhangsan")
    register_relying_party("rp-public-security", "openid profile id_number")
    page_login(client, "zhangsan", zhangsan["password"])

    query, verifier = authorize_in_process(client, "rp-public-security", "openid id_number")
    response = token_in_process(client, "rp-public-security", query["code"], verifier)
    assert response.status_code == 200, response.content
    token = response.json()
    assert set(token["scope"].split()) == {"openid", "id_number"}

    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert userinfo.status_code == 200, userinfo.content
    claims = userinfo.json()
    assert claims["id_number"] == zhangsan["id_number"]
    assert "name" not in claims  # profile was not asked for this time

    # The ID token travels through the browser: the full number is never in it.
    payload = token["id_token"].split(".")[1]
    id_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert "id_number" not in id_claims
    assert zhangsan["id_number"] not in json.dumps(id_claims)

    # A relying party's token is for its userinfo call only, never a login to our own API:
    # otherwise any partner site (or a thief of its tokens) could act as the citizen here.
    bearer = f"Bearer {token['access_token']}"
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=bearer, HTTP_COOKIE="").status_code == 401
    other = Client()
    assert other.get("/api/v1/me", HTTP_AUTHORIZATION=bearer).status_code == 401
    grant = other.post(
        f"/api/v1/enterprises/{demo_module.ENTERPRISE_USCC}/agents",
        {"agent": "wangwu", "services": ["*"], "expires_at": "2030-01-01T00:00:00Z"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer,
    )
    assert grant.status_code == 401


def test_client_not_allowed_the_id_number_scope_is_refused(client, demo_city):
    from oauth2_provider.models import AccessToken, Grant

    zhangsan = demo_account("zhangsan")
    register_relying_party("rp-library", "openid profile")
    page_login(client, "zhangsan", zhangsan["password"])

    query, _ = authorize_in_process(client, "rp-library", "openid profile id_number")
    assert query["error"] == "invalid_scope"
    assert "code" not in query
    assert not Grant.objects.filter(application__client_id="rp-library").exists()

    # The same client within its policy is served (the refusal above was about the scope).
    query, verifier = authorize_in_process(client, "rp-library", "openid profile")
    response = token_in_process(client, "rp-library", query["code"], verifier)
    assert response.status_code == 200, response.content
    claims = client.get(
        "/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}"
    ).json()
    assert claims["name"] == "张三"
    assert "id_number" not in claims
    assert zhangsan["id_number"] not in json.dumps(claims)
    assert AccessToken.objects.filter(application__client_id="rp-library").count() == 1


def test_scope_outside_the_scope_list_is_refused_even_if_a_policy_lists_it(client, demo_city):
    register_relying_party("rp-greedy", "openid profile mfa")
    page_login(client, "zhangsan", demo_account("zhangsan")["password"])
    query, _ = authorize_in_process(client, "rp-greedy", "openid mfa")
    assert query["error"] == "invalid_scope"


def test_relying_party_cannot_use_client_credentials(client, demo_city):
    register_relying_party("rp-no-machine", "openid profile")
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "openid"},
        HTTP_AUTHORIZATION=basic_auth("rp-no-machine", RP_SECRET),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


# --- 3. machine clients ----------------------------------------------------------------------


def register_machine(client_id: str = "market-datahub", rate_limit: int = 3):
    return services.client_register(
        name="示范市市场监管局 数据共享",
        kind="machine",
        client_id=client_id,
        client_secret=MACHINE_SECRET,
        allowed_scopes="datahub",
        rate_limit_per_minute=rate_limit,
    )


def machine_token(client, client_id: str = "market-datahub", scope: str = "datahub"):
    return client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic_auth(client_id, MACHINE_SECRET),
    )


MACHINE_HEADERS = {
    "HTTP_X_USER_ID": "zhangsan",
    "HTTP_X_CASE_NUMBER": "SFS-2026-000123",
    "HTTP_X_PURPOSE": "企业开办联办核验",
}


@pytest.fixture
def frozen_minute(monkeypatch):
    """Pin the rate limiter's clock so a test cannot straddle a minute boundary."""
    clock = SimpleNamespace(now=1_800_000_000.0)
    monkeypatch.setattr(access, "time", SimpleNamespace(time=lambda: clock.now))
    return clock


def test_machine_client_whoami_and_rate_limit(client, db, frozen_minute):
    register_machine()
    response = machine_token(client)
    assert response.status_code == 200, response.content
    token = response.json()
    assert token["scope"] == "datahub"
    assert "refresh_token" not in token
    assert "id_token" not in token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token['access_token']}", **MACHINE_HEADERS}

    for _ in range(3):
        whoami = client.get("/api/v1/auth/whoami", **auth)
        assert whoami.status_code == 200, whoami.content
        assert whoami.json() == {
            "kind": "machine",
            "username": None,
            "client_id": "market-datahub",
            "scopes": ["datahub"],
            "on_behalf_of_user": "zhangsan",
            "case_number": "SFS-2026-000123",
            "purpose": "企业开办联办核验",
        }

    limited = client.get("/api/v1/auth/whoami", **auth)
    assert limited.status_code == 429, limited.content
    body = limited.json()
    assert body["code"] == "RATE_LIMITED"
    assert set(body) == {"code", "message", "details", "request_id"}

    # Another client has its own budget; the next minute starts a fresh window.
    register_machine("tax-datahub", rate_limit=3)
    other = machine_token(client, "tax-datahub").json()["access_token"]
    assert (
        client.get("/api/v1/auth/whoami", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200
    )
    frozen_minute.now += 60
    assert client.get("/api/v1/auth/whoami", **auth).status_code == 200


def test_machine_client_cannot_get_a_scope_outside_its_policy(client, db):
    from oauth2_provider.models import AccessToken

    register_machine()
    for scope in ("id_number", "datahub id_number", "openid", "profile"):
        response = machine_token(client, scope=scope)
        assert response.status_code == 400, (scope, response.content)
        assert response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.filter(application__client_id="market-datahub").exists()


def test_machine_client_needs_its_secret(client, db):
    register_machine()
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "datahub"},
        HTTP_AUTHORIZATION=basic_auth("market-datahub", "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_machine_token_is_refused_on_person_only_operations(client, db):
    register_machine()
    token = machine_token(client).json()["access_token"]
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


# --- 4. discovery ----------------------------------------------------------------------------


def test_discovery_document(client, db):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    doc = response.json()
    # OpenID Connect Discovery: the issuer is the URL the document is published under.
    assert doc["issuer"] == "http://testserver"
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ):
        assert doc[key].startswith("http://testserver/"), (key, doc[key])
    assert doc["authorization_endpoint"].endswith("/o/authorize/")
    assert doc["token_endpoint"].endswith("/o/token/")
    assert doc["userinfo_endpoint"].endswith("/o/userinfo/")
    assert doc["code_challenge_methods_supported"] == ["S256"]  # never "plain"
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert "code" in doc["response_types_supported"]
    assert {"openid", "profile", "phone", "id_number", "datahub"} <= set(doc["scopes_supported"])
    assert {"sub", "name", "phone_number", "id_number_masked", "id_number"} <= set(
        doc["claims_supported"]
    )

    # The issuer's own discovery URL (issuer + /.well-known/...) serves the same document.
    issuer_path = urlsplit(doc["issuer"]).path
    same = client.get(issuer_path + "/.well-known/openid-configuration")
    assert same.status_code == 200
    assert same.json() == doc

    jwks = client.get(urlsplit(doc["jwks_uri"]).path)
    assert jwks.status_code == 200
    keys = jwks.json()["keys"]
    assert keys
    assert all(k["kty"] == "RSA" and "d" not in k for k in keys)


def test_first_party_refresh_tokens_are_refused_at_the_oauth_token_endpoint(client, demo_city):
    """They are refreshed only by /api/v1/auth/refresh (rotation, audit)."""
    from tests.conftest import api_login

    zhangsan = demo_account("zhangsan")
    tokens = api_login(client, "zhangsan", zhangsan["password"]).json()
    response = client.post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "onewindow-first-party",
        },
    )
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


def test_token_introspection_is_not_offered(client, db):
    assert client.post("/o/introspect/", {"token": "x"}).status_code == 404
