"""Local signing keys: Ed25519 or ECDSA P-256, stored as PEM, named by a key id.

The key id is the sha256 of the public key's DER ``SubjectPublicKeyInfo``: anyone holding the
public key can compute it without modelcustoms, and it tells "wrong key" apart from "altered
passport" in verification messages.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import assert_never

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from modelcustoms.passport.errors import PassportError

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


class KeyAlgorithm(StrEnum):
    """The signature algorithms a passport can use."""

    ED25519 = "ed25519"
    ECDSA_P256 = "ecdsa-p256"
    """ECDSA over NIST P-256 with SHA-256, DER-encoded signatures (as sigstore and DSSE use)."""


def generate_key(algorithm: KeyAlgorithm) -> PrivateKey:
    """A new private key."""
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    assert_never(algorithm)


def algorithm_of(key: PrivateKey | PublicKey) -> KeyAlgorithm:
    """The algorithm of ``key``; other curves are refused."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return KeyAlgorithm.ED25519
    if isinstance(key.curve, ec.SECP256R1):
        return KeyAlgorithm.ECDSA_P256
    msg = f"unsupported elliptic curve {key.curve.name}; passports use Ed25519 or ECDSA P-256"
    raise PassportError(msg)


def private_pem(key: PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def public_pem(key: PrivateKey | PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the public half."""
    pub = (
        key.public_key()
        if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
        else key
    )
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: PublicKey) -> str:
    """sha256 (hex) of the DER SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """Parse a PEM private key, with a clear error for the usual mistakes."""
    if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
        msg = "this is a public key; signing needs the private key"
        raise PassportError(msg, hint="use the .key file written by `customs passport keygen`")
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:
        msg = (
            "the private key is encrypted and no password was given"
            if password is None
            else str(exc)
        )
        raise PassportError(
            msg, hint="pass --password-env VAR naming a variable that holds it"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        msg = f"not a usable PEM private key: {exc}"
        raise PassportError(msg) from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        msg = f"unsupported key type {type(key).__name__}; passports use Ed25519 or ECDSA P-256"
        raise PassportError(msg)
    algorithm_of(key)
    return key


def load_public_key(data: bytes) -> PublicKey:
    """Parse a PEM public key."""
    if b"PRIVATE KEY" in data:
        msg = "this is a private key; verification takes the public key"
        raise PassportError(msg, hint="use the .pub file; never hand out the private key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        msg = f"not a usable PEM public key: {exc}"
        raise PassportError(msg) from exc
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        msg = f"unsupported key type {type(key).__name__}; passports use Ed25519 or ECDSA P-256"
        raise PassportError(msg)
    algorithm_of(key)
    return key


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    """A signature over ``data``."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def signature_valid(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` over ``data`` verifies with ``key``."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
