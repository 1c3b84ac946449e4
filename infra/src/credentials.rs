//! Credential-shaped text: a token or key pasted where it does not belong (a stage file is committed).
//!
//! The patterns are gitleaks' prefix-anchored rules, vendored in `infra/data/credential-patterns.tsv`
//! (MIT, source commit in its header; `infra/data/make_credential_patterns.py` regenerates it), applied
//! as gitleaks applies them: a line must contain one of the rule's keywords, then the regex must match,
//! the secret must reach the rule's entropy and must not be on its allowlist. What is found is named by
//! its kind, never shown.

use std::sync::LazyLock;

use regex_lite::Regex;

const TABLE: &str = include_str!("../data/credential-patterns.tsv");

struct Pattern {
    id: &'static str,
    kind: &'static str,
    keywords: Vec<&'static str>,
    entropy: f64,
    regex: Regex,
    allow: Option<Regex>,
}

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && !l.starts_with("id\t"))
        .map(|l| {
            let f: Vec<&'static str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "infra/data/credential-patterns.tsv: 7 columns in {l}");
            Pattern {
                id: f[0],
                kind: f[1],
                keywords: f[2].split(',').filter(|k| !k.is_empty()).collect(),
                entropy: f[3].parse().expect("entropy is a number"),
                regex: Regex::new(f[4]).unwrap_or_else(|e| panic!("{}: {e}", f[0])),
                allow: (!f[5].is_empty())
                    .then(|| Regex::new(f[5]).unwrap_or_else(|e| panic!("{}: {e}", f[0]))),
            }
        })
        .collect()
});

/// A credential-shaped span of a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The gitleaks rule.
    pub id: &'static str,
    /// What it looks like, e.g. "a GitHub personal access token".
    pub kind: &'static str,
    /// Byte offsets of the match in the text searched.
    pub start: usize,
    pub end: usize,
}

/// Every credential-shaped span of `text`, in order.
pub fn find(text: &str) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let lower = line.to_ascii_lowercase();
        for p in PATTERNS.iter() {
            if !p.keywords.iter().any(|k| lower.contains(k)) {
                continue;
            }
            for caps in p.regex.captures_iter(line) {
                // The secret is the first group when the rule has one (the rest is what ends it).
                let Some(secret) = caps.get(1).or_else(|| caps.get(0)) else {
                    continue;
                };
                if entropy(secret.as_str()) < p.entropy
                    || p.allow.as_ref().is_some_and(|a| a.is_match(secret.as_str()))
                {
                    continue;
                }
                let (start, end) = (line_start + secret.start(), line_start + secret.end());
                if !out.iter().any(|f| f.start < end && start < f.end) {
                    out.push(Finding {
                        id: p.id,
                        kind: p.kind,
                        start,
                        end,
                    });
                }
            }
        }
        line_start += line.len();
    }
    out.sort_by_key(|f| f.start);
    out
}

/// `text` with every credential-shaped span replaced by `<redacted: KIND>`.
pub fn redact(text: &str) -> String {
    let found = find(text);
    if found.is_empty() {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.start]);
        out.push_str(&format!("<redacted: {}>", f.kind));
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Shannon entropy in bits per character, as gitleaks computes it.
fn entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// An AWS secret access key has no prefix: 40 characters of base64 under a key that says "secret".
pub fn aws_secret_key_by_name(key: &str, value: &str) -> Option<&'static str> {
    let named = key.to_ascii_lowercase().contains("secret");
    let shaped = value.len() == 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && entropy(value) >= 3.0;
    (named && shaped).then_some("an AWS secret access key")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token-shaped samples are put together at run time, so that no scanner flags this file.
    fn t(parts: &[&str]) -> String {
        parts.concat()
    }

    #[test]
    fn every_pattern_compiles_and_the_common_kinds_are_found() {
        assert!(PATTERNS.len() > 40);
        let samples = [
            (
                t(&["gh", "p_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]),
                "a GitHub personal access token",
            ),
            (t(&["AK", "IA", "Q3EGX5NRWZ4K7LBD"]), "an AWS access key ID"),
            (
                t(&[
                    "xo",
                    "xb-",
                    "1234567890-1234567890123-",
                    "aB3dE5fG7hJ9kL1mN3pQ5rS7",
                ]),
                "a Slack bot token",
            ),
            (
                t(&["glp", "at-", "x1Y2z3A4b5C6d7E8f9G0"]),
                "a GitLab personal access token",
            ),
            (t(&["-----BEGIN RSA ", "PRIVATE KEY-----"]), "a private key"),
            (
                t(&["np", "m_", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8"]),
                "an npm access token",
            ),
        ];
        for (sample, kind) in samples {
            let text = format!("key: {sample}\n");
            let found = find(&text);
            assert_eq!(found.len(), 1, "{kind}: {found:?}");
            assert_eq!(found[0].kind, kind);
            assert_eq!(&text[found[0].start..found[0].end], sample);
            let redacted = redact(&text);
            assert!(
                !redacted.contains(&sample) && redacted.contains(kind),
                "{redacted}"
            );
        }
    }

    #[test]
    fn near_misses_and_allowlisted_examples_are_not_credentials() {
        for text in [
            "subnet-0123456789abcdef0 vpc-0123456789abcdef0 ami-0123456789abcdef0",
            "arn:aws:acm:ap-northeast-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
            &t(&["gh", "p_", "short"]),
            // AWS's documentation example key, allowlisted by gitleaks.
            &t(&["AK", "IAIOSFODNN7", "EXAMPLE"]),
            // Too little entropy to be a real token.
            &t(&["gh", "p_", &"a".repeat(36)]),
        ] {
            assert_eq!(find(text), vec![], "{text}");
        }
        assert_eq!(
            aws_secret_key_by_name(
                "aws_secret_access_key",
                &t(&["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"])
            ),
            Some("an AWS secret access key")
        );
        assert_eq!(aws_secret_key_by_name("name", "x"), None);
    }
}
