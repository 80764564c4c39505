//! Generated secrets (client secrets, access tokens) and how they are kept.
//!
//! A generated value is `<prefix><43 chars of base64url: 256 bits from the
//! OS generator><6-char checksum>`. Every character is in the unreserved
//! set `[A-Za-z0-9._~-]`, so raw and form-urlencoded spellings coincide and
//! stock OAuth clients that skip the Appendix B encoding still work
//! (RFC 6749 Appendix B). The prefix and the CRC-32 checksum let
//! secret scanners recognise a leaked value without a database lookup.
//!
//! An access token also carries its issue order between the prefix and the
//! random part: `act_<11 chars: issue order><43 random chars><checksum>`.
//! It is stored under that order followed by the token's keyed digest, so
//! the keys of newly issued tokens sort after the existing ones and every
//! insert lands on the last pages of the index instead of a random page
//! (ADR 0003). The order reveals only when the token was issued.
//!
//! Only a keyed digest (HMAC-SHA-256 under a server-side key) is stored:
//! see `docs/decisions/0001-client-secret-hashing.md` for why not argon2.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

pub const CLIENT_SECRET_PREFIX: &str = "acs_";
pub const ACCESS_TOKEN_PREFIX: &str = "act_";
/// The prefix of a protected API's secret (its introspection credential):
/// distinct from a client's, so a scanner tells which kind leaked.
pub const PROTECTED_API_SECRET_PREFIX: &str = "aps_";
const RANDOM_BYTES: usize = 32;
const RANDOM_CHARS: usize = 43;
const CHECKSUM_CHARS: usize = 6;
/// Base-62 digits of a `u64` issue order (62^11 > 2^64).
const ORDER_CHARS: usize = 11;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly generated value with its prefix and checksum.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; RANDOM_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let body = URL_SAFE_NO_PAD.encode(bytes);
    let mut out = String::with_capacity(prefix.len() + RANDOM_CHARS + CHECKSUM_CHARS);
    out.push_str(prefix);
    out.push_str(&body);
    out.push_str(&checksum(prefix, &body));
    out
}

fn checksum(prefix: &str, body: &str) -> String {
    let mut crc = crc32(prefix.as_bytes(), 0);
    crc = crc32(body.as_bytes(), crc);
    let mut n = crc as u64;
    let mut chars = [b'0'; CHECKSUM_CHARS];
    for c in chars.iter_mut().rev() {
        *c = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(chars.to_vec()).expect("base62 is ASCII")
}

/// Whether `value` has the shape of a value we generate with `prefix`
/// (right length, right prefix, matching checksum).
pub fn is_well_formed(prefix: &str, value: &str) -> bool {
    well_formed(prefix, value, RANDOM_CHARS)
}

fn well_formed(prefix: &str, value: &str, body_chars: usize) -> bool {
    let Some(rest) = value.strip_prefix(prefix) else { return false };
    if rest.len() != body_chars + CHECKSUM_CHARS || !rest.is_ascii() {
        return false;
    }
    let (body, sum) = rest.split_at(body_chars);
    checksum(prefix, body) == sum
}

/// A freshly issued access token and the key it is stored under.
pub struct AccessToken {
    pub value: String,
    pub key: String,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// A new access token: its issue order, then 256 bits from the OS
/// generator, then the checksum.
pub fn new_access_token(key: &SecretKey) -> AccessToken {
    let mut bytes = [0u8; RANDOM_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let mut body = String::with_capacity(ORDER_CHARS + RANDOM_CHARS);
    push_order(&mut body, next_order());
    URL_SAFE_NO_PAD.encode_string(bytes, &mut body);
    let mut value = String::with_capacity(ACCESS_TOKEN_PREFIX.len() + body.len() + CHECKSUM_CHARS);
    value.push_str(ACCESS_TOKEN_PREFIX);
    value.push_str(&body);
    value.push_str(&checksum(ACCESS_TOKEN_PREFIX, &body));
    let key = key.stored_token_key(&body[..ORDER_CHARS], &value);
    AccessToken { value, key }
}

/// Strictly increasing within this process: microseconds since the epoch,
/// or one more than the last value if the clock has not moved (or went back).
fn next_order() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)))
        .expect("the update closure always returns Some");
    now.max(previous + 1)
}

/// The stored-key prefix of tokens issued at `unix_secs`: every key of a
/// token issued earlier sorts before it (ADR 0003). Token purges use it to
/// reach the oldest tokens through the key's own index.
pub fn issue_order_bound(unix_secs: i64) -> String {
    let mut out = String::with_capacity(ORDER_CHARS);
    push_order(&mut out, u64::try_from(unix_secs).unwrap_or(0).saturating_mul(1_000_000));
    out
}

/// Fixed-width base 62 in ASCII order, so the text sorts like the number.
fn push_order(out: &mut String, mut n: u64) {
    let mut digits = [b'0'; ORDER_CHARS];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.push_str(std::str::from_utf8(&digits).expect("base62 is ASCII"));
}

/// CRC-32 (IEEE), bitwise: only used on short strings.
fn crc32(data: &[u8], seed: u32) -> u32 {
    let mut crc = !seed;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The server-side key under which secrets and tokens are digested. Comes
/// from configuration, never from the database, so a database dump alone
/// does not allow offline guessing.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretKey(bytes)
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    /// Parses 64 hex characters or 43 base64url characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex")).collect::<Vec<_>>()
        } else {
            URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| "not hex or base64url".to_string())?
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| "the key must be exactly 32 bytes".to_string())?;
        Ok(SecretKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The raw key, for deriving the other keys from it (`backend/keys.rs`).
    pub(crate) fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The stored form of a secret or token: hex HMAC-SHA-256.
    pub fn digest(&self, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length works");
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The stored key of an access token: its issue order, then its keyed
    /// digest. `None` when `token` does not have the shape of our tokens
    /// (wrong prefix or length, or a checksum typo), so it cannot exist.
    pub fn token_key(&self, token: &str) -> Option<String> {
        if !well_formed(ACCESS_TOKEN_PREFIX, token, ORDER_CHARS + RANDOM_CHARS) {
            return None;
        }
        let order = &token[ACCESS_TOKEN_PREFIX.len()..ACCESS_TOKEN_PREFIX.len() + ORDER_CHARS];
        Some(self.stored_token_key(order, token))
    }

    fn stored_token_key(&self, order: &str, token: &str) -> String {
        format!("{order}{}", self.digest(token))
    }

    /// Constant-time comparison of a presented value with a stored digest.
    pub fn verify(&self, value: &str, stored_digest: &str) -> bool {
        self.digest(value).as_bytes().ct_eq(stored_digest.as_bytes()).into()
    }
}

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// The shortest run after a prefix that [`redact`] treats as one of our
/// values. Ours carry 49 (`acs_`, `aps_`) or 60 (`act_`) characters after the
/// prefix; a shorter run is redacted too, so that a truncated secret does
/// not leak most of its bits, while words such as `act_now` stay readable.
const REDACT_MIN_BODY: usize = 16;

/// Replaces every substring shaped like a client secret, a protected API's
/// secret or an access token (`acs_`, `aps_` or `act_`, in any case, at the
/// start of a word, followed by at least 16 characters of base64url, the
/// alphabet of their bodies) with `[redacted]`. The checksum is not checked:
/// a mistyped secret is still a secret. Used on everything that reaches a log line (`secrets::escape`) or the
/// audit log (`audit::record_many`), so that a secret sent where an id was
/// expected is written nowhere.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let is_body = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_');
    let is_prefix = |i: usize| {
        let p = &bytes[i..i + 4];
        p.eq_ignore_ascii_case(CLIENT_SECRET_PREFIX.as_bytes())
            || p.eq_ignore_ascii_case(ACCESS_TOKEN_PREFIX.as_bytes())
            || p.eq_ignore_ascii_case(PROTECTED_API_SECRET_PREFIX.as_bytes())
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + 4 <= bytes.len() {
        if !is_prefix(i) || (i > 0 && is_body(bytes[i - 1])) {
            i += 1;
            continue;
        }
        // Every byte from `i` to `end` is ASCII, so both are char boundaries.
        let mut end = i + 4;
        while end < bytes.len() && is_body(bytes[end]) {
            end += 1;
        }
        if end - (i + 4) >= REDACT_MIN_BODY {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..i]);
            o.push_str(REDACTED);
            copied = end;
        }
        i = end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

/// Lower-case hex, without a `format!` per byte (this runs on every token
/// request).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// A password (or any other secret) in memory. `Debug` never prints it.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Makes user-supplied text safe to put in a log line (ASVS V16.4.1):
/// anything shaped like a client secret or token is redacted
/// ([`redact`]), then control characters, including newlines and ANSI
/// escapes, are escaped.
pub fn escape(s: &str) -> String {
    let clipped: String = redact(s).chars().take(128).collect();
    clipped.escape_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = Secret::new("hunter2-correct-horse");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-correct-horse");
    }

    #[test]
    fn log_escaping_neutralises_newlines_and_ansi_escapes() {
        let e = escape("evil\nuser\u{1b}[31m");
        assert!(!e.contains('\n') && !e.contains('\u{1b}'));
        assert!(e.contains("\\n") && e.contains("\\u{1b}"));
    }

    #[test]
    fn log_escaping_redacts_secrets_and_tokens() {
        let secret = generate(CLIENT_SECRET_PREFIX);
        let e = escape(&format!("{}{secret}", "x ".repeat(55)));
        assert!(!e.contains(&secret[4..12]) && e.ends_with("[redacted]"), "{e}");
    }

    #[test]
    fn generated_values_carry_256_bits_in_the_unreserved_alphabet() {
        // R6749-18, ASVS-K1: ≥160 bits from the OS generator; R6749-16 alphabet
        let v = generate(CLIENT_SECRET_PREFIX);
        assert_eq!(v.len(), CLIENT_SECRET_PREFIX.len() + 43 + 6);
        assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{v}");
        let body = &v[CLIENT_SECRET_PREFIX.len()..CLIENT_SECRET_PREFIX.len() + 43];
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        let distinct: std::collections::HashSet<_> = (0..1000).map(|_| generate(CLIENT_SECRET_PREFIX)).collect();
        assert_eq!(distinct.len(), 1000);
    }

    #[test]
    fn access_tokens_carry_256_random_bits_after_their_issue_order() {
        // R6749-18, R6750-01: 256 bits from the OS generator, unreserved alphabet
        let key = SecretKey::from_bytes([3; 32]);
        let t = new_access_token(&key);
        assert_eq!(t.value.len(), ACCESS_TOKEN_PREFIX.len() + 11 + 43 + 6);
        assert!(t.value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{}", t.value);
        let random = &t.value[ACCESS_TOKEN_PREFIX.len() + 11..ACCESS_TOKEN_PREFIX.len() + 11 + 43];
        assert_eq!(URL_SAFE_NO_PAD.decode(random).unwrap().len(), 32);
        assert_eq!(key.token_key(&t.value).as_deref(), Some(t.key.as_str()));
        assert!(t.key.ends_with(&key.digest(&t.value)), "the key holds the digest, never the token");
        assert!(!t.key.contains(random));
        assert!(!format!("{t:?}").contains(&t.value));
        let distinct: std::collections::HashSet<_> = (0..1000).map(|_| new_access_token(&key).value).collect();
        assert_eq!(distinct.len(), 1000);
    }

    #[test]
    fn token_keys_sort_in_issue_order() {
        let key = SecretKey::from_bytes([4; 32]);
        let keys: Vec<String> = (0..2000).map(|_| new_access_token(&key).key).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "later tokens sort after earlier ones");
        let mut small = String::new();
        push_order(&mut small, 61);
        let mut large = String::new();
        push_order(&mut large, 62);
        assert_eq!((small.as_str(), large.as_str()), ("0000000000z", "00000000010"));
        let mut max = String::new();
        push_order(&mut max, u64::MAX);
        assert_eq!(max.len(), 11);
    }

    #[test]
    fn the_issue_order_bound_separates_tokens_issued_before_it_from_later_ones() {
        let key = SecretKey::from_bytes([6; 32]);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let token = new_access_token(&key).key;
        // (two seconds: the clock may tick between `now` and the token)
        assert!(token.as_str() < issue_order_bound(now + 2).as_str(), "issued before the bound");
        assert!(token.as_str() > issue_order_bound(now - 1).as_str(), "issued after the bound");
        assert_eq!(issue_order_bound(-5), "00000000000", "a time before the epoch bounds nothing");
    }

    #[test]
    fn the_checksum_recognises_our_values_and_rejects_typos() {
        let v = generate(CLIENT_SECRET_PREFIX);
        assert!(is_well_formed(CLIENT_SECRET_PREFIX, &v));
        assert!(!is_well_formed(ACCESS_TOKEN_PREFIX, &v));
        let mut typo = v.clone().into_bytes();
        let i = CLIENT_SECRET_PREFIX.len() + 5;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        assert!(!is_well_formed(CLIENT_SECRET_PREFIX, std::str::from_utf8(&typo).unwrap()));
        assert!(!is_well_formed(CLIENT_SECRET_PREFIX, "acs_short"));

        let key = SecretKey::from_bytes([5; 32]);
        let t = new_access_token(&key).value;
        let mut typo = t.clone().into_bytes();
        let i = ACCESS_TOKEN_PREFIX.len() + 20;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        assert_eq!(key.token_key(std::str::from_utf8(&typo).unwrap()), None);
        assert_eq!(key.token_key(&v), None, "a client secret is not a token");
        assert_eq!(key.token_key(&generate(ACCESS_TOKEN_PREFIX)), None, "no order part");
        assert_eq!(key.token_key("act_short"), None);
    }

    #[test]
    fn values_shaped_like_secrets_or_tokens_are_redacted_anywhere_in_a_text() {
        let key = SecretKey::from_bytes([5; 32]);
        let secret = generate(CLIENT_SECRET_PREFIX);
        let token = new_access_token(&key).value;
        for (text, expected) in [
            (secret.clone(), "[redacted]".to_string()),
            (format!("id={secret}&x={token}"), "id=[redacted]&x=[redacted]".to_string()),
            (format!("Bearer {token}."), "Bearer [redacted].".to_string()),
            (format!("{}…", &secret[..24]), "[redacted]…".to_string()),
            (secret.to_uppercase(), "[redacted]".to_string()),
            (format!("ü {secret} ü"), "ü [redacted] ü".to_string()),
        ] {
            assert_eq!(redact(&text), expected, "{text}");
        }
        for harmless in ["act_now", "contract_management_tool_v2", "acs_", "exact_match_of_the_thing", "plain text", ""]
        {
            assert!(matches!(redact(harmless), std::borrow::Cow::Borrowed(_)), "{harmless}");
        }
        assert_eq!(redact("reacs_AAAAAAAAAAAAAAAAAAAAAAAA"), "reacs_AAAAAAAAAAAAAAAAAAAAAAAA", "not at a word start");
    }

    #[test]
    fn a_protected_apis_secret_is_recognised_and_redacted() {
        let secret = generate(PROTECTED_API_SECRET_PREFIX);
        assert!(is_well_formed(PROTECTED_API_SECRET_PREFIX, &secret));
        assert!(!is_well_formed(CLIENT_SECRET_PREFIX, &secret), "not a client's secret");
        assert_eq!(redact(&format!("secret={secret}")), "secret=[redacted]");
        assert_eq!(redact(&secret.to_uppercase()), "[redacted]");
        assert!(!escape(&secret).contains(&secret[4..20]));
    }

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789", 0), 0xCBF4_3926);
    }

    #[test]
    fn digests_are_keyed_and_verification_is_exact() {
        let k1 = SecretKey::from_bytes([1; 32]);
        let k2 = SecretKey::from_bytes([2; 32]);
        let d = k1.digest("acs_value");
        assert_eq!(d.len(), 64);
        assert_ne!(d, k2.digest("acs_value"), "a different key gives a different digest");
        assert!(k1.verify("acs_value", &d));
        assert!(!k1.verify("acs_valuf", &d));
        assert!(!format!("{k1:?}").contains("01"));
    }

    #[test]
    fn keys_parse_from_hex_or_base64url() {
        let k = SecretKey::generate();
        assert_eq!(SecretKey::parse(&k.to_hex()).unwrap().0, k.0);
        assert_eq!(SecretKey::parse(&URL_SAFE_NO_PAD.encode(k.0)).unwrap().0, k.0);
        assert!(SecretKey::parse("too short").is_err());
    }
}
