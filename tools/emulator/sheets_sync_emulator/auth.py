"""Service accounts, the OAuth2 JWT-bearer token endpoint and bearer-token checks.

``make_service_account`` generates a real RSA key; its public half verifies the RS256
signature of the JWT google-auth posts to ``/token``. The JWT's ``aud`` is not checked
(google-auth always sends Google's constant token URL, not ``token_uri``).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN_LIFETIME_S = 3599
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_CLOCK_SKEW_S = 300


@dataclass
class _Account:
    email: str
    key_id: str
    public_key: rsa.RSAPublicKey


class TokenError(Exception):
    """A 400 answer of the token endpoint: ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.body = {"error": error, "error_description": description}


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Accounts:
    def __init__(self) -> None:
        self._by_key: dict[str, _Account] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (email, expiry)

    def create(self, email: str, token_uri: str) -> dict:
        """A new service-account key (info dict as Google's JSON key file)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        key_id = secrets.token_hex(20)
        self._by_key[key_id] = _Account(email, key_id, key.public_key())
        project = email.split("@")[-1].split(".")[0]
        return {
            "type": "service_account", "project_id": project, "private_key_id": key_id,
            "private_key": pem, "client_email": email,
            "client_id": str(int.from_bytes(secrets.token_bytes(8), "big")),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
        }

    def exchange(self, form: dict[str, list[str]]) -> dict:
        """Answer a token request, or raise :class:`TokenError`."""
        grant = (form.get("grant_type") or [""])[0]
        if grant != JWT_BEARER:
            raise TokenError("unsupported_grant_type", f"Invalid grant_type: {grant}")
        assertion = (form.get("assertion") or [""])[0]
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64decode(header_b64))
            claims = json.loads(_b64decode(payload_b64))
            signature = _b64decode(signature_b64)
        except (ValueError, UnicodeDecodeError):
            raise TokenError("invalid_grant", "Invalid JWT Signature.") from None
        account = self._by_key.get(header.get("kid", "")) or next(
            (a for a in self._by_key.values() if a.email == claims.get("iss")), None)
        if account is None or claims.get("iss") != account.email:
            raise TokenError("invalid_grant", "Invalid grant: account not found")
        try:
            account.public_key.verify(signature, f"{header_b64}.{payload_b64}".encode(),
                                      padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise TokenError("invalid_grant", "Invalid JWT Signature.") from None
        now = time.time()
        issued, expires = claims.get("iat", 0), claims.get("exp", 0)
        if not issued - _CLOCK_SKEW_S <= now <= expires + _CLOCK_SKEW_S:
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token "
                                              "(60 minutes) and in a reasonable timeframe. "
                                              "Check your iat and exp values in the JWT claim.")
        token = "ya29.emu-" + secrets.token_urlsafe(32)
        self._tokens[token] = (account.email, now + TOKEN_LIFETIME_S)
        return {"access_token": token, "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"}

    def caller(self, authorization: str | None, access_token: str | None = None) -> str | None:
        """The e-mail behind ``Authorization: Bearer <token>``; None when missing/expired."""
        token = access_token
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        entry = self._tokens.get(token or "")
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]
