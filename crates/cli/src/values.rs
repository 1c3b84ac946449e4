//! The value parsers of flags whose values go to AWS: a bad value is a usage error (exit 64) that
//! names the flag and the value (clap's `invalid value 'V' for '--FLAG <X>'`) and, in these
//! messages, what was expected, before anything is built or sent.

/// `--endpoint-url`: `http://` or `https://`, a host, an optional port, an optional path.
pub fn endpoint_url(v: &str) -> Result<String, String> {
    const EXPECTED: &str = "expected http(s)://host[:port] with an optional path, e.g. http://127.0.0.1:4566";
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .ok_or_else(|| format!("{EXPECTED} (no http:// or https:// scheme)"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: [::1]:4566
        Some(v6) => {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{EXPECTED} (an IPv6 address without its closing `]`)"))?;
            if addr.is_empty()
                || !addr
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err(format!("{EXPECTED} (`[{addr}]` is no IPv6 address)"));
            }
            match after {
                "" => (addr, None),
                p => (
                    addr,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| format!("{EXPECTED} (`{p}` after the host)"))?,
                    ),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err(format!("{EXPECTED} (no host)"));
    }
    if authority.contains('@') {
        return Err(format!("{EXPECTED} (no user or password in the URL)"));
    }
    // Labels of letters, digits, `-` and `_` (a container's name, `localstack_main`), and a trailing
    // dot (a fully qualified name).
    if !authority.starts_with('[')
        && !host.strip_suffix('.').unwrap_or(host).split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
    {
        return Err(format!("{EXPECTED} (`{host}` is no host name)"));
    }
    if let Some(p) = port
        && !(!p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0))
    {
        return Err(format!("{EXPECTED} (`{p}` is no port: 1 to 65535)"));
    }
    Ok(v.to_owned())
}

/// `--image-tag`: a Docker (and ECR) tag, `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn image_tag(v: &str) -> Result<String, String> {
    let mut chars = v.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first_ok && rest_ok && v.len() <= 128 {
        Ok(v.to_owned())
    } else {
        Err(
            "expected an image tag: 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
                .to_owned(),
        )
    }
}

/// A value that must not be empty (a change set, a pipeline execution, a logical ID); `what` is
/// what was expected.
fn not_empty(v: &str, what: &str) -> Result<String, String> {
    if v.trim().is_empty() {
        Err(format!("expected {what}, not an empty value"))
    } else {
        Ok(v.to_owned())
    }
}

/// `deploy --execute`: a change set's name or ARN.
pub fn change_set(v: &str) -> Result<String, String> {
    not_empty(v, "the name or ARN of a change set prepared with --no-execute")
}

/// `pipeline watch|retry --execution`: a pipeline execution ID.
pub fn execution_id(v: &str) -> Result<String, String> {
    not_empty(v, "a pipeline execution ID (`pipeline status` lists them)")
}

/// `rollback --skip`: a resource's logical ID.
pub fn logical_id(v: &str) -> Result<String, String> {
    not_empty(v, "the logical ID of a resource (`status` lists the failed ones)")
}

/// `--role-arn`: an IAM role's ARN, `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn role_arn(v: &str) -> Result<String, String> {
    const EXPECTED: &str =
        "expected an IAM role ARN, arn:<partition>:iam::<12-digit account>:role/<path/name>";
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Err(EXPECTED.to_owned());
    };
    let partition_ok = partition == "aws"
        || partition
            .strip_prefix("aws-")
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let name_ok = resource.strip_prefix("role/").is_some_and(|path| {
        let segments: Vec<&str> = path.split('/').collect();
        segments.iter().all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        }) && segments.last().is_some_and(|name| name.len() <= 64)
    });
    if arn == "arn" && partition_ok && service == "iam" && region.is_empty() && account_ok && name_ok {
        Ok(v.to_owned())
    } else {
        Err(EXPECTED.to_owned())
    }
}

/// `--template-bucket`: an S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, starting and
/// ending with a letter or digit.
pub fn bucket(v: &str) -> Result<String, String> {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = (3..=63).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && alnum(v.chars().next())
        && alnum(v.chars().last())
        && !v.contains("..");
    if ok {
        Ok(v.to_owned())
    } else {
        Err(
            "expected an S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending \
             with a letter or digit"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_need_a_scheme_and_a_host() {
        for good in [
            "http://127.0.0.1:4566",
            "https://cloudformation.eu-west-1.amazonaws.com",
            "http://localhost:5000/",
            "http://localstack:4566/some/path",
            "http://[::1]:4566",
            "http://localstack_main:4566",
            "https://s3.amazonaws.com.:443",
        ] {
            assert_eq!(endpoint_url(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "notaurl",
            "127.0.0.1:4566",
            "ftp://host",
            "http://",
            "http://:4566",
            "http://host:port",
            "http://host:99999",
            "http://host:0",
            "http://user:pw@host",
            "http://ho st",
            "http://[::1",
            "http://host..example",
            "http://.",
        ] {
            let e = endpoint_url(bad).unwrap_err();
            assert!(e.starts_with("expected http(s)://host[:port]"), "{bad}: {e}");
        }
    }

    #[test]
    fn image_tags_follow_the_docker_grammar() {
        for good in ["latest", "1.2.3", "_x", "a1b2c3d", &"a".repeat(128)] {
            assert!(image_tag(good).is_ok(), "{good}");
        }
        for bad in ["", ".x", "-x", "a:b", "a/b", "tag with space", &"a".repeat(129)] {
            assert!(
                image_tag(bad).unwrap_err().contains("expected an image tag"),
                "{bad}"
            );
        }
    }

    #[test]
    fn role_arns_name_a_role_in_an_account() {
        for good in [
            "arn:aws:iam::123456789012:role/deployer",
            "arn:aws-cn:iam::123456789012:role/service-role/cfn.deploy@x",
            "arn:aws-us-gov:iam::123456789012:role/a/b/c",
        ] {
            assert!(role_arn(good).is_ok(), "{good}");
        }
        for bad in [
            "notanarn",
            "deployer",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::12345:role/deployer",
            "arn:aws:iam:eu-west-1:123456789012:role/deployer",
            "arn:aws:s3::123456789012:role/deployer",
            "arn:amazon:iam::123456789012:role/deployer",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
        ] {
            assert!(
                role_arn(bad).unwrap_err().contains("expected an IAM role ARN"),
                "{bad}"
            );
        }
    }

    #[test]
    fn buckets_follow_the_s3_naming_rules() {
        for good in ["abc", "my-bucket.2", &"a".repeat(63)] {
            assert!(bucket(good).is_ok(), "{good}");
        }
        for bad in [
            "Bad_Bucket",
            "ab",
            "-abc",
            "abc-",
            "a..b",
            "UPPER",
            &"a".repeat(64),
        ] {
            assert!(
                bucket(bad).unwrap_err().contains("expected an S3 bucket name"),
                "{bad}"
            );
        }
    }

    #[test]
    fn identifiers_are_not_empty() {
        assert!(change_set("").is_err() && change_set("  ").is_err());
        assert!(execution_id("").is_err() && logical_id("").is_err());
        assert_eq!(logical_id("Service").as_deref(), Ok("Service"));
    }
}
