"""Passports: a signed in-toto statement binding a verdict to a report and the model's files.

``issue_passport`` signs (DSSE, Ed25519 or ECDSA P-256, local PEM keys, fully offline);
``verify_passport`` checks the signature, re-hashes the files and checks the report.
The format is documented in ``docs/passport.md`` so that it verifies without modelcustoms.
"""

from modelcustoms.passport.errors import PassportError, VerificationFailed
from modelcustoms.passport.keys import (
    KeyAlgorithm,
    PrivateKey,
    PublicKey,
    generate_key,
    key_id,
    load_private_key,
    load_public_key,
    private_pem,
    public_pem,
)
from modelcustoms.passport.sign import issue_passport, pae, sign_envelope
from modelcustoms.passport.statement import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    SCAN_DEFAULT_POLICY,
    STATEMENT_TYPE,
    build_statement,
    scan_default_verdict,
)
from modelcustoms.passport.verify import Passport, verify_passport

__all__ = [
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "SCAN_DEFAULT_POLICY",
    "STATEMENT_TYPE",
    "KeyAlgorithm",
    "Passport",
    "PassportError",
    "PrivateKey",
    "PublicKey",
    "VerificationFailed",
    "build_statement",
    "generate_key",
    "issue_passport",
    "key_id",
    "load_private_key",
    "load_public_key",
    "pae",
    "private_pem",
    "public_pem",
    "scan_default_verdict",
    "sign_envelope",
    "verify_passport",
]
