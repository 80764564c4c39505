//! Every key the server uses, and where it comes from: the one place that
//! says so.
//!
//! All of them come from the server key ([`SecretKey`], 32 random bytes from
//! `APPCRED_SECRET_KEY`, `APPCRED_SECRET_KEY_FILE` or, with SQLite,
//! `secret.key` beside the database). Each use gets its own key, derived
//! with HKDF-SHA-256 (RFC 5869) under its own label, so that a key learnt
//! for one use (or an HMAC computed for one) says nothing about another.
//!
//! | use | key | HKDF `info` label |
//! |---|---|---|
//! | client-secret and access-token digests (`secrets.rs`, ADR 0001) | the server key itself, **not derived** | none |
//! | web session id digests (`auth/session_store.rs`) | derived | `appcred/v1/session-id` |
//! | audit chain HMAC (`audit/chain.rs`) | derived | `appcred/v1/audit-chain` |
//! | encryption of JWT signing keys (reserved for a later release) | derived | `appcred/v1/jwt-key-encryption` |
//!
//! The digests of client secrets and tokens stay under the raw server key,
//! exactly as before this module existed: every stored digest of an
//! existing secret or token keeps matching, so no secret has to be
//! regenerated after an upgrade. A new label never changes an existing key;
//! a changed derivation gets a new label (`v2`).
//!
//! HKDF-Extract runs without a salt (RFC 5869 §2.2: a string of zeros). The
//! server key is already uniformly random, so the salt adds nothing
//! (RFC 5869 §3.1); HKDF-Expand with a distinct `info` per use is what
//! separates the keys (RFC 5869 §3.2).

use super::secrets::{hex, SecretKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

pub const SESSION_ID_LABEL: &str = "appcred/v1/session-id";
pub const AUDIT_CHAIN_LABEL: &str = "appcred/v1/audit-chain";
pub const JWT_KEY_ENCRYPTION_LABEL: &str = "appcred/v1/jwt-key-encryption";

/// A 32-byte HMAC-SHA-256 key. `Debug` never prints it.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey([redacted])")
    }
}

impl MacKey {
    /// A fresh HMAC-SHA-256 under this key, to feed with `update`.
    pub fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length works")
    }

    /// Hex HMAC-SHA-256 of `data`.
    pub fn digest(&self, data: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(data);
        hex(&mac.finalize().into_bytes())
    }
}

/// The keys derived from one server key (see the table above).
#[derive(Clone, Debug)]
pub struct DerivedKeys {
    /// Digests of web session ids: `sessions.id` holds the digest, never the id.
    pub session_ids: MacKey,
    /// The HMAC that chains the audit rows.
    pub audit_chain: MacKey,
    jwt_key_encryption: MacKey,
}

impl DerivedKeys {
    pub fn derive(server_key: &SecretKey) -> Self {
        let hk = Hkdf::<Sha256>::new(None, server_key.expose_bytes());
        let expand = |label: &str| {
            let mut okm = [0u8; 32];
            hk.expand(label.as_bytes(), &mut okm).expect("32 bytes is a valid HKDF-SHA-256 length");
            MacKey(okm)
        };
        DerivedKeys {
            session_ids: expand(SESSION_ID_LABEL),
            audit_chain: expand(AUDIT_CHAIN_LABEL),
            jwt_key_encryption: expand(JWT_KEY_ENCRYPTION_LABEL),
        }
    }

    /// The key that will encrypt JWT signing keys at rest (not used yet).
    pub fn jwt_key_encryption(&self) -> &MacKey {
        &self.jwt_key_encryption
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_use_gets_its_own_key_and_the_derivation_is_stable() {
        let server = SecretKey::from_bytes([9; 32]);
        let k = DerivedKeys::derive(&server);
        let again = DerivedKeys::derive(&server);
        let other = DerivedKeys::derive(&SecretKey::from_bytes([8; 32]));
        let all = [&k.session_ids, &k.audit_chain, k.jwt_key_encryption()];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.0, b.0, "two uses share a key");
            }
            assert_ne!(a.0, [9; 32], "a derived key is not the server key");
        }
        assert_eq!(k.audit_chain.0, again.audit_chain.0);
        assert_ne!(k.audit_chain.0, other.audit_chain.0);
        // RFC 5869 HKDF-SHA-256 with no salt, computed independently:
        // Extract is HMAC(zeros, ikm); Expand's first block is HMAC(prk, info || 0x01).
        let prk = Hmac::<Sha256>::new_from_slice(&[0u8; 32]).unwrap().chain_update([9u8; 32]).finalize().into_bytes();
        let block = Hmac::<Sha256>::new_from_slice(&prk)
            .unwrap()
            .chain_update(AUDIT_CHAIN_LABEL.as_bytes())
            .chain_update([1u8])
            .finalize()
            .into_bytes();
        assert_eq!(k.audit_chain.0.as_slice(), block.as_slice());
        // the secret digests keep the raw server key
        let raw = Hmac::<Sha256>::new_from_slice(&[9u8; 32]).unwrap().chain_update(b"acs_x").finalize().into_bytes();
        assert_eq!(server.digest("acs_x"), hex(&raw));
        assert!(!format!("{k:?}").contains("9, 9"));
    }
}
