from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from modelcustoms.cli.passport import ALGORITHMS
from modelcustoms.passport import (
    KeyAlgorithm,
    PassportError,
    generate_key,
    key_id,
    load_private_key,
    load_public_key,
    private_pem,
    public_pem,
)
from modelcustoms.passport.keys import algorithm_of, sign_bytes, signature_valid


def test_cli_choices_match_the_enum():
    assert tuple(a.value for a in KeyAlgorithm) == ALGORITHMS


@pytest.mark.parametrize("alg", list(KeyAlgorithm))
def test_every_algorithm_round_trips(alg):
    key = generate_key(alg)
    assert algorithm_of(key) is alg
    loaded = load_private_key(private_pem(key))
    pub = load_public_key(public_pem(key))
    assert key_id(pub) == key_id(loaded.public_key())
    sig = sign_bytes(loaded, b"data")
    assert signature_valid(pub, sig, b"data")
    assert not signature_valid(pub, sig, b"datA")


def test_encrypted_private_key():
    key = generate_key(KeyAlgorithm.ED25519)
    pem = private_pem(key, b"s3cret")
    with pytest.raises(PassportError, match="encrypted and no password"):
        load_private_key(pem)
    assert key_id(load_private_key(pem, b"s3cret").public_key()) == key_id(key.public_key())


def test_key_mixups_explain_themselves():
    key = generate_key(KeyAlgorithm.ED25519)
    with pytest.raises(PassportError, match="this is a public key"):
        load_private_key(public_pem(key))
    with pytest.raises(PassportError, match="this is a private key"):
        load_public_key(private_pem(key))
    with pytest.raises(PassportError, match="not a usable PEM"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n")


def test_other_algorithms_are_refused():
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(PassportError, match="unsupported elliptic curve"):
        load_private_key(private_pem(p384))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(PassportError, match="unsupported key type"):
        load_private_key(pem)
