//! J5, beyond the seed: every posting version is signed with Ed25519, so an organisation (or its
//! auditor) can show that what it quotes is what Hello Work provided.
//!
//! The key comes from `HWX_SIGNING_KEY` (64 hex digits, the 32-byte seed; a Kubernetes Secret in
//! production). Without one the service makes a key at first start and keeps it in its schema, so
//! restarts keep verifying.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hwx_platform::db::Database;

use crate::store::sql;

use hwx_posting::record::{PostingRecord, hash_hex, signed_message};

/// The key that signs.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A key's ID: the first 16 hex digits of the SHA-256 of its public key.
pub fn key_id(public: &VerifyingKey) -> String {
    hash_hex(public.as_bytes())[..16].to_owned()
}

impl Signer {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(&key.verifying_key());
        Signer { key, key_id }
    }

    /// Parse `HWX_SIGNING_KEY`: 64 hex digits.
    pub fn from_hex(hex_seed: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex_seed.trim())
            .map_err(|_| "signing key: not hex (64 hex digits expected)".to_owned())?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "signing key: 32 bytes (64 hex digits) expected".to_owned())?;
        Ok(Self::from_seed(seed))
    }

    /// The configured key, or the one kept in the schema, or a new one kept there.
    pub async fn load(db: &Database, configured: &str) -> Result<Self, String> {
        if !configured.trim().is_empty() {
            return Self::from_hex(configured);
        }
        let kept: Option<Vec<u8>> = sqlx::query_scalar(sql::KEPT_KEY)
            .fetch_optional(db.pool())
            .await
            .map_err(|e| format!("signing key: {e}"))?;
        if let Some(secret) = kept {
            let seed: [u8; 32] = secret
                .try_into()
                .map_err(|_| "signing key in the database is not 32 bytes".to_owned())?;
            return Ok(Self::from_seed(seed));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| format!("no randomness for a signing key: {e}"))?;
        let signer = Self::from_seed(seed);
        // Two replicas starting at once: the first key wins and both use it.
        sqlx::query(sql::KEEP_KEY)
            .bind(&signer.key_id)
            .bind(seed.as_slice())
            .bind(signer.public_key().as_slice())
            .execute(db.pool())
            .await
            .map_err(|e| format!("signing key: {e}"))?;
        let secret: Vec<u8> = sqlx::query_scalar(sql::KEPT_KEY)
            .fetch_one(db.pool())
            .await
            .map_err(|e| format!("signing key: {e}"))?;
        let seed: [u8; 32] = secret
            .try_into()
            .map_err(|_| "signing key in the database is not 32 bytes".to_owned())?;
        tracing::info!(
            "made a signing key and kept it in the database; set HWX_SIGNING_KEY to manage it yourself"
        );
        Ok(Self::from_seed(seed))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Sign one posting version.
    pub fn sign(&self, posting_number: &str, version: i64, content_hash: &str) -> Vec<u8> {
        self.key
            .sign(signed_message(posting_number, version, content_hash).as_bytes())
            .to_bytes()
            .to_vec()
    }
}

/// Why a record does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the content does not match its hash (altered after it was provided)")]
    Hash,
    #[error("the signature does not match (altered, or signed by another key)")]
    Signature,
    #[error("signed by key {0}, not the key given")]
    OtherKey(String),
    #[error("malformed signature")]
    Malformed,
}

/// Check one record: its content against its hash, and the signature against the public key.
/// Without a key only the hash is checked.
pub fn verify(
    content: &PostingRecord,
    version: i64,
    content_hash: &str,
    signature_hex: &str,
    signed_by: &str,
    public: Option<&VerifyingKey>,
) -> Result<(), VerifyError> {
    if content.hash() != content_hash {
        return Err(VerifyError::Hash);
    }
    let Some(public) = public else {
        return Ok(());
    };
    if key_id(public) != signed_by {
        return Err(VerifyError::OtherKey(signed_by.to_owned()));
    }
    let bytes: [u8; 64] = hex::decode(signature_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VerifyError::Malformed)?;
    public
        .verify(
            signed_message(&content.posting_number, version, content_hash).as_bytes(),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| VerifyError::Signature)
}

/// A public key from 64 hex digits, or from the JSON the gateway serves
/// (`{"key_id": …, "ed25519_public_key": "<hex>"}`).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let text = text.trim();
    let hex_key = if text.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("key file: {e}"))?;
        v.get("ed25519_public_key")
            .and_then(|k| k.as_str())
            .ok_or("key file: no \"ed25519_public_key\"")?
            .to_owned()
    } else {
        text.to_owned()
    };
    let bytes: [u8; 32] = hex::decode(&hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("public key: 64 hex digits expected")?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("public key: {e}"))
}
