//! Masking secrets in text we quote (error bodies, echoed requests).
//!
//! Owns: [`Redactor`]: the account's password and client secret plus the latest tokens, each masked
//! as written, form-encoded (a server echoing the token request) and JSON-escaped.

use secrecy::{ExposeSecret, SecretString};
use std::sync::Mutex;

/// How many tokens are remembered besides the fixed secrets.
const REMEMBERED_TOKENS: usize = 8;
/// Shorter values are not masked (they would mask ordinary words).
const MIN_LEN: usize = 4;

#[derive(Debug)]
pub struct Redactor {
    fixed: Vec<SecretString>,
    tokens: Mutex<Vec<SecretString>>,
}

impl Redactor {
    pub fn new(fixed: &[SecretString]) -> Redactor {
        Redactor {
            fixed: fixed.to_vec(),
            tokens: Mutex::new(Vec::new()),
        }
    }

    /// Also mask `token` from now on (the oldest remembered token is forgotten).
    pub fn remember(&self, token: &SecretString) {
        let mut t = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        t.push(token.clone());
        let excess = t.len().saturating_sub(REMEMBERED_TOKENS);
        t.drain(..excess);
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in self.fixed.iter().chain(tokens.iter()) {
            let s = s.expose_secret();
            if s.len() < MIN_LEN {
                continue;
            }
            let json = serde_json::to_string(s).unwrap_or_default();
            let json = json.trim_matches('"');
            for form in [s, &form_encode(s), json] {
                if out.contains(form) {
                    out = out.replace(form, "***");
                }
            }
        }
        out
    }
}

/// `application/x-www-form-urlencoded`, as reqwest encodes form fields.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn form_encoding_matches_the_wire() {
        assert_eq!(form_encode("p@ss w+rd/\"ö"), "p%40ss+w%2Brd%2F%22%C3%B6");
    }

    #[test]
    fn masks_plain_encoded_and_escaped_forms() {
        let r = Redactor::new(&[secret("p@ss w\"rd"), secret("abc")]);
        r.remember(&secret("token-1234"));
        let text = r#"password=p%40ss+w%22rd {"p":"p@ss w\"rd"} raw p@ss w"rd t=token-1234 abc"#;
        assert_eq!(
            r.redact(text),
            r#"password=*** {"p":"***"} raw *** t=*** abc"#
        );
    }

    #[test]
    fn remembers_only_the_latest_tokens() {
        let r = Redactor::new(&[secret("fixed-secret")]);
        for i in 0..20 {
            r.remember(&secret(&format!("token-{i:04}")));
        }
        assert_eq!(
            r.redact("token-0000 token-0019 fixed-secret"),
            "token-0000 *** ***"
        );
    }
}
