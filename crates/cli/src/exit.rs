//! Exit codes: defined here once. The README's and DEVELOPERS.md's tables are rendered from
//! [`Code::ALL`] by `cargo xtask synth` (and checked by `synth --check`).

/// How a berth command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Ok = 0,
    Error = 1,
    Changes = 2,
    Refused = 3,
    StackFailed = 4,
    Blocked = 5,
    SecretsMissing = 6,
    LostContact = 7,
    Usage = 64,
    Interrupted = 130,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 10] = [
        Code::Ok,
        Code::Error,
        Code::Changes,
        Code::Refused,
        Code::StackFailed,
        Code::Blocked,
        Code::SecretsMissing,
        Code::LostContact,
        Code::Usage,
        Code::Interrupted,
    ];

    /// The number the process exits with.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// What the code means, as the documentation says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Code::Ok => "done, including \"no changes\"",
            Code::Error => {
                "the command failed: bad input, an AWS call failed (the message says why, with a `hint:` where one helps)"
            }
            Code::Changes => "`diff --exit-code`: there are changes; `drift --exit-code`: a resource drifted",
            Code::Refused => {
                "refused: confirmation needed (no terminal and no `--yes`) or declined (`deploy`, `destroy`, `pipeline approve\\|reject`); `secrets put` without `--overwrite` on an existing secret"
            }
            Code::StackFailed => {
                "the stack operation, pipeline run or service rollout followed failed; the root cause (the first failed resources, the failed action's error and log, the stopped tasks) is printed"
            }
            Code::Blocked => {
                "the stack's or pipeline's state blocks the command: an operation in progress, a failed creation, a failed rollback; no approval waiting, no failed stage to retry"
            }
            Code::SecretsMissing => {
                "declared secrets are missing (`secrets check`; `deploy service` checks before its change set)"
            }
            Code::LostContact => {
                "contact with AWS was lost after the stack operation started: it goes on without berth; the state last seen and the command that watches it again are printed"
            }
            Code::Usage => {
                "usage error (unknown flag, missing argument, a flag value of the wrong form, a `--region` that is no AWS region, a profile no config file defines, a bad `BERTH_CALL_TIMEOUT`)"
            }
            Code::Interrupted => {
                "interrupted (Ctrl-C): before execution nothing is executed (the prepared change set is deleted, or named when it cannot be); while following (a stack, a run, a rollout, a log), what was followed goes on"
            }
        }
    }
}

/// The exit codes as a Markdown table (what the README and DEVELOPERS.md show).
pub fn markdown_table() -> String {
    let mut out = String::from("| exit code | meaning |\n|---|---|\n");
    for c in Code::ALL {
        out.push_str(&format!("| {} | {} |\n", c.number(), c.meaning()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_code_once_in_order() {
        let numbers: Vec<u8> = Code::ALL.iter().map(|c| c.number()).collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(numbers, sorted);
        // A new variant not added to ALL: this match has to be extended, and so must ALL.
        for c in Code::ALL {
            match c {
                Code::Ok
                | Code::Error
                | Code::Changes
                | Code::Refused
                | Code::StackFailed
                | Code::Blocked
                | Code::SecretsMissing
                | Code::LostContact
                | Code::Usage
                | Code::Interrupted => {}
            }
        }
        assert_eq!(Code::Usage.number(), 64, "sysexits' EX_USAGE");
        assert_eq!(
            Code::Interrupted.number(),
            130,
            "128 + SIGINT, as shells report it"
        );
    }

    #[test]
    fn the_table_has_a_row_per_code() {
        let table = markdown_table();
        assert_eq!(table.lines().count(), 2 + Code::ALL.len());
        assert!(table.contains("| 64 | usage error"), "{table}");
    }
}
