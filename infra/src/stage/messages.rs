//! What the YAML parser and serde say, in the words of the person who writes a stage file: what they
//! wrote and what to write instead, never a Rust type.

use super::yaml::{Seg, show_path};

/// What belongs at a key path (list indices left out): a mapping's keys, a list's items, a value.
pub(crate) fn expected_at(path: &[Seg]) -> String {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    let item = matches!(path.last(), Some(Seg::Index(_)));
    let whole_number = "a whole number from 0 to 4294967295";
    match (keys.as_slice(), item) {
        ([], _) => format!("a mapping of stage settings ({})", mapping_keys(&[]).join(", ")),
        (["network" | "load_balancer" | "source" | "deploy" | "instances" | "service"], false)
        | (["source", "app" | "infra"], false)
        | (["service", "scaling"], false)
        | (["instances", "custom_instance_type"], false) => {
            let what = match keys.as_slice() {
                ["source", _] => "repository",
                ["service", "scaling"] => "scaling",
                ["instances", "custom_instance_type"] => "instance type",
                [k] => k.trim_end_matches('s'),
                _ => "",
            };
            let what = match what {
                "network" => "network",
                "load_balancer" => "load balancer",
                "instance" => "instance",
                w => w,
            };
            format!(
                "a mapping of {what} settings ({})",
                mapping_keys(&keys).join(", ")
            )
        }
        (["app"], _) => "an app name such as sample".to_owned(),
        (["region"], _) => "a region such as ap-northeast-1".to_owned(),
        (["network", "vpc_id"], _) => "a VPC ID such as vpc-0123456789abcdef0".to_owned(),
        (
            [
                "network",
                "load_balancer_subnet_ids" | "instance_subnet_ids" | "subnet_ids",
            ],
            false,
        ) => "a list of subnet IDs (lines `- subnet-0123456789abcdef0`)".to_owned(),
        (["network", _], true) => "a subnet ID such as subnet-0123456789abcdef0".to_owned(),
        (["network", "instance_public_ip"] | ["load_balancer", "http_redirect"], _)
        | (["deploy", "approval"] | ["service", "exec"], _) => "true or false".to_owned(),
        (["load_balancer", "certificate_arn"], _) => {
            "an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)".to_owned()
        }
        (["source", "connection_arn"], _) => {
            "a CodeConnections connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID)"
                .to_owned()
        }
        (["source", _, "repository"], _) => "a repository as owner/name".to_owned(),
        (["source", _, "branch"], _) => "a branch name such as main".to_owned(),
        (["source", _, "paths"], false) => "a list of path globs (lines `- app/**`)".to_owned(),
        (["source", _, "paths"], true) => "a path glob such as app/**".to_owned(),
        (["deploy", "notify"], false) => "a list of email addresses (lines `- ops@example.com`)".to_owned(),
        (["deploy", "notify"], true) => "an email address such as ops@example.com".to_owned(),
        (["instances", "instance_type"], _) => "an instance type such as t3.small".to_owned(),
        (["instances", "ami"], _) => "an AMI ID such as ami-0123456789abcdef0".to_owned(),
        (["instances", "ami_name"], _) => "an AMI's name".to_owned(),
        (["instances", "ami_parameter"], _) => "an SSM parameter name".to_owned(),
        (["instances", "custom_instance_type", "architecture"], _) => "x86_64 or arm64".to_owned(),
        (["service", "time_zone"], _) => "an IANA time zone such as Asia/Tokyo".to_owned(),
        (["service", "log_retention_days"], _) => format!(
            "a whole number of days, one of {:?}",
            crate::bounds::LOG_RETENTION_DAYS
        ),
        (keys, _) => crate::bounds::at(keys).map_or_else(
            || whole_number.to_owned(),
            |b| format!("a whole number from {} to {}{}", b.min, b.max, b.unit),
        ),
    }
}

/// The keys a person may write in the mapping at `path` (the retired ones left out).
pub(crate) fn mapping_keys(path: &[&str]) -> Vec<&'static str> {
    match path {
        [] => vec![
            "app",
            "region",
            "network",
            "load_balancer",
            "source",
            "deploy",
            "instances",
            "service",
        ],
        ["network"] => vec![
            "vpc_id",
            "load_balancer_subnet_ids",
            "instance_subnet_ids",
            "instance_public_ip",
        ],
        ["load_balancer"] => vec!["certificate_arn", "http_redirect"],
        ["source"] => vec!["connection_arn", "app", "infra"],
        ["source", _] => vec!["repository", "branch", "paths"],
        ["deploy"] => vec!["approval", "notify", "artifact_retention_days"],
        ["instances"] => vec![
            "instance_type",
            "custom_instance_type",
            "ami",
            "ami_name",
            "ami_parameter",
            "root_volume_gib",
            "min",
            "max",
        ],
        ["instances", "custom_instance_type"] => vec!["vcpus", "memory_mib", "architecture"],
        ["service"] => vec![
            "min_count",
            "max_count",
            "scaling",
            "rollback_5xx_per_minute",
            "exec",
            "cpu",
            "memory",
            "time_zone",
            "log_retention_days",
            "health_check_grace_seconds",
        ],
        ["service", "scaling"] => vec!["cpu_percent", "requests_per_target"],
        _ => vec![],
    }
}

/// What serde said about the value at `path`, rewritten (the path itself is not in the result).
pub(crate) fn data_error(path: &[Seg], serde_text: &str) -> String {
    let bare = bare_message(serde_text);
    if let Some(rest) = bare.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or_default();
        let parent: Vec<&str> = path[..path.len().saturating_sub(1)]
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                Seg::Index(_) => None,
            })
            .collect();
        let known = mapping_keys(&parent);
        let near = known
            .iter()
            .map(|k| {
                (
                    crate::instance_types::edit_distance(&key.to_ascii_lowercase(), k),
                    *k,
                )
            })
            .filter(|(d, _)| *d <= 3)
            .min()
            .map(|(_, k)| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        return format!("unknown key `{key}`: expected one of {}{near}", known.join(", "));
    }
    if let Some(rest) = bare.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or_default();
        let mut full = path.to_vec();
        full.push(Seg::Key(key.to_owned()));
        return format!(
            "missing key `{key}`: expected `{key}:` with {}",
            expected_at(&full)
        );
    }
    if let Some(rest) = bare.strip_prefix("duplicate field `") {
        let key = rest.split('`').next().unwrap_or_default();
        return format!("the key `{key}` is repeated: expected each key once");
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = bare.strip_prefix(prefix)
            && let Some((found, _rust_type)) = rest.rsplit_once(", expected ")
        {
            let expected = expected_at(path);
            let number = expected.starts_with("a whole number");
            let boolean = expected == "true or false";
            return format!("{}: expected {expected}", found_phrase(found, number, boolean));
        }
    }
    if bare.starts_with("EOF while parsing") {
        return format!("the file has no settings: expected {}", expected_at(&[]));
    }
    bare.to_owned()
}

/// serde's description of what it found, as what the person wrote.
fn found_phrase(found: &str, number: bool, boolean: bool) -> String {
    let quoted = |s: &str| -> Option<String> {
        s.split_once('`')
            .and_then(|(_, r)| r.rsplit_once('`'))
            .map(|(v, _)| v.to_owned())
    };
    if let Some(s) = found.strip_prefix("string ") {
        let s = s.trim_matches('"').replace("\\\"", "\"");
        // Text that reads as what is expected was quoted: `"false"`, `"2"`.
        let quoted_as_text = (number && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            || (boolean && matches!(s.as_str(), "true" | "false"));
        return if quoted_as_text {
            format!("`\"{s}\"` is quoted, so it is text (write it without the quotes)")
        } else if number {
            format!("`{s}` is not a whole number")
        } else if boolean {
            format!("`{s}` is not true or false")
        } else {
            format!("`{s}` is text")
        };
    }
    if found.starts_with("integer ") {
        let n = quoted(found).unwrap_or_default();
        return if number && n.starts_with('-') {
            format!("{n} is negative")
        } else if number {
            format!("{n} is too large")
        } else {
            format!("{n} is a number")
        };
    }
    if found.starts_with("floating point ") {
        let n = quoted(found).unwrap_or_default();
        return if number {
            format!("{n} is not a whole number")
        } else {
            format!("{n} is a number")
        };
    }
    if found.starts_with("boolean ") {
        let b = quoted(found).unwrap_or_default();
        return if number {
            format!("`{b}` is not a whole number")
        } else {
            format!("`{b}` is true or false")
        };
    }
    match found {
        "map" => "a mapping".to_owned(),
        "sequence" => "a list".to_owned(),
        "unit value" => "no value".to_owned(),
        other => other.to_owned(),
    }
}

/// serde_norway's message without the path it puts in front and the place it puts behind.
pub(crate) fn bare_message(text: &str) -> &str {
    let text = strip_mark(text);
    match text.split_once(": ") {
        Some((prefix, rest))
            if !prefix.is_empty() && !prefix.contains([' ', '`', '\t']) && !text.starts_with('`') =>
        {
            rest
        }
        _ => text,
    }
}

/// Takes off a trailing ` at line L column C`.
fn strip_mark(text: &str) -> &str {
    match text.rfind(" at line ") {
        Some(i)
            if text[i + 9..]
                .split(" column ")
                .all(|n| n.parse::<usize>().is_ok()) =>
        {
            &text[..i]
        }
        _ => text,
    }
}

/// A YAML syntax error: libyaml's problem and context, and their places.
pub(crate) struct Syntax {
    pub problem: String,
    pub problem_at: Option<(usize, usize)>,
    pub context: Option<String>,
    pub context_at: Option<(usize, usize)>,
}

/// Splits libyaml's `PROBLEM at line L column C, CONTEXT at line L2 column C2`.
pub(crate) fn syntax(text: &str, problem_at: Option<(usize, usize)>) -> Syntax {
    let mark = |s: &str| -> (String, Option<(usize, usize)>) {
        match s.rfind(" at line ") {
            Some(i) => {
                let (l, c) = s[i + 9..].split_once(" column ").unwrap_or(("", ""));
                match (l.parse(), c.parse()) {
                    (Ok(l), Ok(c)) => (s[..i].to_owned(), Some((l, c))),
                    _ => (s.to_owned(), None),
                }
            }
            None => (s.to_owned(), None),
        }
    };
    let (problem, context) = match text.split_once(", ") {
        Some((p, c)) if c.starts_with("while ") => (p, Some(c)),
        _ => (text, None),
    };
    let (problem, at) = mark(problem);
    let context = context.map(mark);
    Syntax {
        problem,
        problem_at: problem_at.or(at),
        context_at: context.as_ref().and_then(|c| c.1),
        context: context.map(|c| c.0),
    }
}

/// A syntax error in the person's words, and where to report it (the context's place for what was
/// opened and never closed).
pub(crate) fn syntax_message(
    s: &Syntax,
    char_at: impl Fn((usize, usize)) -> Option<char>,
) -> (Option<(usize, usize)>, String) {
    let context = s.context.as_deref().unwrap_or_default();
    let p = s.problem.as_str();
    if p.contains("end of stream") && context.contains("quoted scalar") {
        let q = s.context_at.and_then(&char_at).unwrap_or('"');
        return (
            s.context_at.or(s.problem_at),
            format!(
                "a quoted value is never closed: expected a closing {q} after the value (everything from here to \
                 the end of the file was read as this one value)"
            ),
        );
    }
    if p.starts_with("did not find expected ',' or ']'") || p.starts_with("did not find expected ',' or '}'")
    {
        let (open, close) = if p.contains(']') { ('[', ']') } else { ('{', '}') };
        return (
            s.context_at.or(s.problem_at),
            format!(
                "a `{open}` is never closed: expected `{close}` after its last item, and `,` between items"
            ),
        );
    }
    let tab = s.problem_at.and_then(&char_at) == Some('\t');
    let message = if tab || p.contains("tab character") {
        "a tab: expected spaces for indentation (YAML does not allow tabs there)".to_owned()
    } else if p.starts_with("did not find expected key") {
        "this line is not a `key: value` of the mapping above: expected the same indent as that mapping's keys \
         (or, if it continues a value, the value quoted)"
            .to_owned()
    } else if p.starts_with("did not find expected '-' indicator") {
        "this line is not an item of the list above: expected `- ` at the same indent as the other items"
            .to_owned()
    } else if p.starts_with("mapping values are not allowed") {
        "a `: ` inside a value: expected the value quoted (\"...\") when it holds `: `, or the key on a line of its \
         own"
        .to_owned()
    } else if p.starts_with("block sequence entries are not allowed") {
        "a `- ` list item on a key's line: expected the list on the lines below the key, indented".to_owned()
    } else if p.starts_with("found unknown escape character") || p.starts_with("found invalid Unicode") {
        "an escape a double-quoted value cannot hold: expected \\\\, \\\", \\n, \\t, \\xXX or \\uXXXX, or the value \
         in single quotes (where `\\` is an ordinary character)"
            .to_owned()
    } else if p.starts_with("unknown anchor") {
        "an alias (`*name`) with no anchor (`&name`) before it: expected the anchor defined first".to_owned()
    } else if p.starts_with("recursion limit exceeded") {
        "nested more than 128 levels deep (or an alias inside its own anchor): expected a stage file's few levels"
            .to_owned()
    } else if p.starts_with("repetition limit exceeded") {
        "aliases that expand to too many values: expected a stage file without nested aliases".to_owned()
    } else if p.starts_with("found character that cannot start any token") {
        let c = s
            .problem_at
            .and_then(&char_at)
            .map(|c| format!("`{c}` "))
            .unwrap_or_default();
        format!("{c}cannot start a value: expected the value quoted (\"...\")")
    } else if p.starts_with("did not find expected node content") {
        "a value is missing here: expected a value (or a key) after the `-`, `:` or `,`".to_owned()
    } else if p.starts_with("could not find expected ':'") {
        "a key without its `:`: expected `key: value`".to_owned()
    } else {
        let ctx = s.context.as_deref().map(|c| format!(", {c}")).unwrap_or_default();
        format!("not valid YAML ({p}{ctx}): expected block-style YAML like infra/stages/dev.yaml")
    };
    (s.problem_at, message)
}

/// `path: message`, or the message alone at the top.
pub(crate) fn with_path(path: &[Seg], message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{}: {message}", show_path(path))
    }
}

/// `message` with every backtick-quoted value longer than 80 characters shortened to its start and
/// its length: a runaway value (a whole file on one line) does not make a runaway message.
pub(crate) fn shorten_quoted(message: &str) -> String {
    const LONGEST: usize = 80;
    let mut out = String::new();
    let mut rest = message;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { break };
        let inner = &after[..close];
        out.push_str(&rest[..=open]);
        let n = inner.chars().count();
        if n > LONGEST {
            out.extend(inner.chars().take(60));
            out.push_str(&format!("…` ({n} characters)"));
        } else {
            out.push_str(inner);
            out.push('`');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// `message` with control characters written as escapes (`\u{0}`, `\t`, `\u{1b}`): a value that holds
/// them is shown, not acted on by the terminal.
pub(crate) fn escape_control(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
