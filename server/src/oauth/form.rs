//! Parsing of OAuth requests by hand, so that every malformed input gets an
//! RFC 6749 §5.2 answer and every rule of RFC 6749 §2.3.1 and Appendix B is
//! explicit.

use super::OAuthError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::collections::HashMap;

/// The one parameter that may arrive repeated: RFC 8707 §2 lets a client
/// name several resources, and the answer to more than one, which this
/// server does not grant, is `invalid_target` rather than `invalid_request`.
pub const RESOURCE: &str = "resource";

/// Form parameters after R6749-03 (empty means absent) and R6749-05 (no
/// repeats, but for [`RESOURCE`], whose values are counted).
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
    resources: usize,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The `resource` of a token request (RFC 8707 §2): at most one, and
    /// refused as `invalid_target` when there are more.
    pub fn resource(&self) -> Result<Option<&str>, app::backend::Error> {
        if self.resources > 1 {
            return Err(app::backend::Error::invalid("resource", "only one resource may be requested"));
        }
        Ok(self.get(RESOURCE))
    }
}

/// Decodes an `application/x-www-form-urlencoded` body (UTF-8, `+` is a
/// space: RFC 6749 Appendix B).
pub fn parse_form(body: &[u8]) -> Result<Params, OAuthError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| OAuthError::invalid_request("the body is not a valid form"))?;
    let mut map = HashMap::new();
    let mut resources = 0;
    for (name, value) in pairs {
        if name == RESOURCE {
            if !value.is_empty() {
                resources += 1;
                map.entry(name).or_insert(value);
            }
            continue;
        }
        if value.is_empty() {
            // "Parameters sent without a value MUST be treated as if they were omitted."
            if map.contains_key(&name) {
                return Err(OAuthError::invalid_request("a parameter is repeated"));
            }
            continue;
        }
        if map.insert(name, value).is_some() {
            return Err(OAuthError::invalid_request("a parameter is repeated"));
        }
    }
    Ok(Params { values: map, resources })
}

/// Whether a URI query carries any of `names`: secrets and tokens are
/// never accepted in a URL (R6749-12, R6750-02, ASVS V14.2.1).
pub fn query_has_any(query: Option<&str>, names: &[&str]) -> bool {
    query.is_some_and(|q| {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
        pairs.iter().any(|(n, _)| names.contains(&n.as_str()))
    })
}

/// Whether a `Content-Type` is the form type (parameters such as charset
/// are allowed).
pub fn is_form_content_type(value: Option<&str>) -> bool {
    value
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Client credentials presented with HTTP Basic (RFC 6749 §2.3.1).
#[derive(PartialEq, Eq)]
pub struct BasicCredentials {
    pub client_id: String,
    pub secret: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials").field("client_id", &self.client_id).field("secret", &"[redacted]").finish()
    }
}

/// Parses `Authorization: Basic …`: the scheme case-insensitively, base64,
/// one `:`, then form-urldecoding of each half (R6749-11, erratum 4749).
/// Anything malformed is `invalid_request` and never authenticates.
pub fn parse_basic(header: &str) -> Result<BasicCredentials, OAuthError> {
    let malformed = OAuthError::invalid_request("malformed Basic authorization header");
    let (scheme, rest) = header.trim().split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request("client authentication must use the Basic scheme"));
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| malformed.clone())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed.clone())?;
    let (id, secret) = text.split_once(':').ok_or(malformed.clone())?;
    let client_id = form_urldecode(id).ok_or(malformed.clone())?;
    let secret = form_urldecode(secret).ok_or(malformed.clone())?;
    if client_id.is_empty() || secret.is_empty() {
        return Err(malformed);
    }
    Ok(BasicCredentials { client_id, secret })
}

/// `application/x-www-form-urlencoded` decoding of one value; `None` on an
/// invalid `%` escape or invalid UTF-8.
pub fn form_urldecode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // exactly two hex digits (from_str_radix alone would accept "+f")
                let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
                let h = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// How the client authenticated, after the one-method rule (R6749-13).
#[derive(Debug)]
pub enum ClientAuth {
    Basic(BasicCredentials),
    Body { client_id: String, secret: String },
    None,
}

/// Decides the client authentication of a request from its Authorization
/// header and body parameters.
pub fn client_auth(authorization: Option<&str>, params: &Params) -> Result<ClientAuth, OAuthError> {
    match authorization {
        Some(h) => {
            let basic = parse_basic(h)?;
            if params.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request("the client used more than one authentication method"));
            }
            if params.get("client_id").is_some_and(|id| id != basic.client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body does not match the Authorization header",
                ));
            }
            Ok(ClientAuth::Basic(basic))
        }
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => Ok(ClientAuth::Body { client_id: id.to_string(), secret: secret.to_string() }),
            _ => Ok(ClientAuth::None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn form_decoding_handles_plus_and_utf8() {
        // R6749-06: + decodes to space and %C2%A3 to £
        let p = parse_form(b"a=x+y&b=%C2%A3").unwrap();
        assert_eq!(p.get("a"), Some("x y"));
        assert_eq!(p.get("b"), Some("£"));
    }

    #[test]
    fn empty_parameters_count_as_absent_and_repeats_are_refused() {
        // R6749-03, R6749-05
        let p = parse_form(b"scope=&grant_type=client_credentials").unwrap();
        assert_eq!(p.get("scope"), None);
        assert!(parse_form(b"grant_type=a&grant_type=b").is_err());
        assert!(parse_form(b"client_id=a&client_id=a").is_err());
    }

    #[test]
    fn repeated_resources_are_counted_for_invalid_target() {
        // RFC 8707 §2: one resource here; more is invalid_target, not a malformed form
        let one = parse_form(b"resource=https%3A%2F%2Fapi.example&resource=").unwrap();
        assert_eq!(one.resource().unwrap(), Some("https://api.example"));
        let two = parse_form(b"resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example").unwrap();
        assert!(matches!(two.resource(), Err(app::backend::Error::Invalid { field: "resource", .. })));
        assert_eq!(parse_form(b"grant_type=x").unwrap().resource().unwrap(), None);
    }

    #[test]
    fn basic_credentials_are_form_urldecoded_after_base64() {
        // R6749-11, TOK-13: every octet may be sent as %XX
        let c = parse_basic(&basic("%61%62%63:%73%65%63")).unwrap();
        assert_eq!((c.client_id.as_str(), c.secret.as_str()), ("abc", "sec"));
        let c = parse_basic(&basic("an%3Aidentifier:some+secure+%26+non-standard+secret")).unwrap();
        assert_eq!(c.client_id, "an:identifier");
        assert_eq!(c.secret, "some secure & non-standard secret");
        // the scheme is case-insensitive
        assert!(parse_basic(&format!("bAsIc {}", STANDARD.encode("a:b"))).is_ok());
    }

    #[test]
    fn malformed_basic_values_never_authenticate() {
        // AUTH-09..12
        for bad in [
            "Basic".to_string(),
            "Basic !!!notbase64".to_string(),
            basic("no-colon"),
            basic(":secret"),
            basic("id:"),
            basic("foo with %:foo with $"),
            basic("%zz:secret"),
            "Bearer abc".to_string(),
        ] {
            let err = parse_basic(&bad).unwrap_err();
            assert_eq!(err.code.as_str(), "invalid_request", "{bad}");
        }
    }

    #[test]
    fn a_client_uses_exactly_one_authentication_method() {
        // R6749-13
        let both = parse_form(b"client_secret=x").unwrap();
        assert!(client_auth(Some(&basic("a:b")), &both).is_err());
        let other = parse_form(b"client_id=zzz").unwrap();
        assert!(client_auth(Some(&basic("a:b")), &other).is_err());
        let same = parse_form(b"client_id=a").unwrap();
        assert!(matches!(client_auth(Some(&basic("a:b")), &same).unwrap(), ClientAuth::Basic(_)));
        let body = parse_form(b"client_id=a&client_secret=b").unwrap();
        assert!(matches!(client_auth(None, &body).unwrap(), ClientAuth::Body { .. }));
        assert!(matches!(client_auth(None, &parse_form(b"client_id=a").unwrap()).unwrap(), ClientAuth::None));
    }

    #[test]
    fn secrets_in_the_query_string_are_recognised() {
        assert!(query_has_any(Some("a=1&client_secret=x"), &["client_secret"]));
        assert!(query_has_any(Some("access%5Ftoken=x"), &["access_token"]), "decoded names count");
        assert!(!query_has_any(Some("page=2"), &["access_token"]));
        assert!(!query_has_any(None, &["access_token"]));
    }

    #[test]
    fn debug_output_never_shows_a_basic_secret() {
        let c = parse_basic(&basic("id:hunter2")).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
