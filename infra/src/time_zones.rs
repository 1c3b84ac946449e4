//! IANA time zone names, from `infra/data/timezones.txt` (tzdata; its header names the version;
//! `infra/data/make_timezones.py` regenerates it). The container's `TZ` must be one of them: a typo
//! or an offset such as `UTC+1` would silently run the app in UTC.

use crate::instance_types::edit_distance;

const TABLE: &str = include_str!("../data/timezones.txt");

/// Every name of the table (zones and links), sorted.
pub fn all() -> impl Iterator<Item = &'static str> {
    TABLE.lines().filter(|l| !l.starts_with('#') && !l.is_empty())
}

/// The IANA version of the table, e.g. `2026f`.
pub fn version() -> &'static str {
    TABLE
        .lines()
        .find_map(|l| l.split(" = IANA tz ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("?")
}

/// Whether `name` is an IANA time zone; the error names the bad value and what to write.
pub fn check(name: &str) -> Result<(), String> {
    if all().any(|z| z == name) {
        return Ok(());
    }
    let expected = format!(
        "expected an IANA time zone such as Asia/Tokyo or UTC (infra/data/timezones.txt, tz {})",
        version()
    );
    if let Some(z) = all().find(|z| z.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "`{name}` is not a time zone (names are case-sensitive): {expected}; did you mean `{z}`?"
        ));
    }
    if let Some(fixed) = offset_zone(name) {
        return Err(format!(
            "`{name}` is not a time zone but an offset: {expected}, such as Europe/Paris (which follows daylight \
             saving time), or `{fixed}` for a fixed offset (the Etc/GMT names' signs are inverted)"
        ));
    }
    let mut near: Vec<(usize, &str)> = all()
        .map(|z| (edit_distance(name, z), z))
        .filter(|(d, _)| *d <= 3)
        .collect();
    near.sort();
    let did_you_mean = near
        .first()
        .map(|(_, z)| format!("; did you mean `{z}`?"))
        .unwrap_or_default();
    Err(format!("`{name}` is not a time zone: {expected}{did_you_mean}"))
}

/// `UTC+1`, `GMT-05:00`: the fixed-offset Etc zone that means the same (`Etc/GMT-1`, `Etc/GMT+5`).
fn offset_zone(name: &str) -> Option<String> {
    let rest = name
        .strip_prefix("UTC")
        .or_else(|| name.strip_prefix("GMT"))
        .or_else(|| name.strip_prefix("Etc/UTC"))?;
    let (sign, digits) = match rest.chars().next()? {
        '+' => ('-', &rest[1..]),
        '-' => ('+', &rest[1..]),
        _ => return None,
    };
    let hours = digits.strip_suffix(":00").unwrap_or(digits);
    let h: u32 = hours.parse().ok()?;
    let zone = if h == 0 {
        "Etc/UTC".to_owned()
    } else {
        format!("Etc/GMT{sign}{h}")
    };
    all().any(|z| z == zone).then_some(zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_and_near_misses_get_a_suggestion() {
        assert_eq!(all().count(), 598);
        assert_eq!(version(), "2026f");
        for ok in ["Asia/Tokyo", "UTC", "Europe/Dublin", "Etc/GMT-1", "Europe/Kiev"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        let e = check("Europe/Dubiln").unwrap_err();
        assert!(e.contains("did you mean `Europe/Dublin`?"), "{e}");
        let e = check("UTC+1").unwrap_err();
        assert!(e.contains("`Etc/GMT-1`"), "{e}");
        let e = check("GMT-05:00").unwrap_err();
        assert!(e.contains("`Etc/GMT+5`"), "{e}");
        let e = check("asia/tokyo").unwrap_err();
        assert!(e.contains("did you mean `Asia/Tokyo`?"), "{e}");
        let e = check("Tokyo time").unwrap_err();
        assert!(e.starts_with("`Tokyo time` is not a time zone"), "{e}");
    }
}
