//! The app's trigger paths against what the app is built from: a push that changes a build input
//! (`app::buildspec::BUILD_INPUTS`) changes the image tag, so it must start the pipeline.
//!
//! The stage's `source.app.paths` become the pipeline's V2 trigger `FilePaths` `Includes` unchanged
//! (`infra::blocks::DeliveryPipeline`, through the `AppPaths` parameter), which CodePipeline matches
//! against each changed file's path as a glob: [`glob_matches`] follows its rules.

use std::path::Path;

use infra::Stage;

/// One piece of a glob.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// This character.
    Literal(char),
    /// `?`: one character, not `/`.
    One,
    /// `*`: any characters within one path component (no `/`).
    Star,
    /// `**`: any characters, across `/`.
    StarStar,
    /// `[abc]`, `[a-z]`, `[!a-z]`: one character (never `/`) of the set, or not of it.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// `glob` with its `{a,b}` groups expanded (CodePipeline's groups do not nest), each alternative as
/// tokens.
fn parse(glob: &str) -> Vec<Vec<Token>> {
    let mut alternatives = vec![Vec::new()];
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        let pieces: Vec<Vec<Token>> = match c {
            '\\' => vec![vec![Token::Literal(chars.next().unwrap_or('\\'))]],
            '?' => vec![vec![Token::One]],
            '*' => {
                if chars.peek() == Some(&'*') {
                    while chars.peek() == Some(&'*') {
                        chars.next();
                    }
                    vec![vec![Token::StarStar]]
                } else {
                    vec![vec![Token::Star]]
                }
            }
            '[' => {
                let rest: String = chars.clone().collect();
                match parse_class(&rest) {
                    Some((token, used)) => {
                        for _ in 0..used {
                            chars.next();
                        }
                        vec![vec![token]]
                    }
                    None => vec![vec![Token::Literal('[')]],
                }
            }
            '{' => {
                let rest: String = chars.clone().collect();
                match rest.find('}') {
                    Some(end) => {
                        for _ in rest[..=end].chars() {
                            chars.next();
                        }
                        rest[..end]
                            .split(',')
                            .flat_map(|alt| parse(alt).into_iter())
                            .collect()
                    }
                    None => vec![vec![Token::Literal('{')]],
                }
            }
            c => vec![vec![Token::Literal(c)]],
        };
        alternatives = alternatives
            .iter()
            .flat_map(|a| {
                pieces.iter().map(move |p| {
                    let mut a = a.clone();
                    a.extend(p.iter().cloned());
                    a
                })
            })
            .collect();
    }
    alternatives
}

/// A bracket expression after its `[`: the token and how many characters it took, `]` included.
fn parse_class(rest: &str) -> Option<(Token, usize)> {
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    let negated = chars.first() == Some(&'!');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let start = i;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && i > start {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        if i + 2 < chars.len() && chars[i + 1] == '-' && chars[i + 2] != ']' {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

/// The positions reachable from `states` without reading a character (a star may match nothing).
fn closure(tokens: &[Token], states: &mut [bool]) {
    for p in 0..tokens.len() {
        if states[p] && matches!(tokens[p], Token::Star | Token::StarStar) {
            states[p + 1] = true;
        }
    }
}

/// The positions of `tokens` reachable after reading `text` from the start.
fn run(tokens: &[Token], text: &str) -> Vec<bool> {
    let mut states = vec![false; tokens.len() + 1];
    states[0] = true;
    closure(tokens, &mut states);
    for c in text.chars() {
        let mut next = vec![false; tokens.len() + 1];
        for (p, token) in tokens.iter().enumerate() {
            if !states[p] {
                continue;
            }
            match token {
                Token::Literal(l) if *l == c => next[p + 1] = true,
                Token::One if c != '/' => next[p + 1] = true,
                Token::Star if c != '/' => next[p] = true,
                Token::StarStar => next[p] = true,
                Token::Class { negated, ranges }
                    if c != '/' && ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated =>
                {
                    next[p + 1] = true;
                }
                _ => {}
            }
        }
        closure(tokens, &mut next);
        states = next;
    }
    states
}

/// Whether CodePipeline's trigger filter `glob` matches the file path `path` (relative to the
/// repository root, `/`-separated): `*` and `?` stay within a path component, `**` crosses `/`
/// (so `**/Cargo.toml` does not match the root's `Cargo.toml`), `[...]` is one character of a set,
/// `{a,b}` either alternative, `\` escapes.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    parse(glob).iter().any(|tokens| run(tokens, path)[tokens.len()])
}

/// Whether `glob` matches every file path under the directory `dir` (whatever follows `dir/`): the
/// glob holds a `**` with nothing after its last one but `*` and `/`, so it reaches any depth, and it
/// matches files one, two and three folders under `dir`, plain and hidden (`app/**`, `app/**/*` and
/// `**/*` cover `app/src`; `app/src/*` and `app/src/**/*.rs` do not).
pub fn glob_matches_all_under(glob: &str, dir: &str) -> bool {
    const UNDER: [&str; 6] = ["f", ".f", "d/f.rs", "d/.f", "d/e/f", ".d/e/f.x"];
    parse(glob).iter().any(|tokens| {
        let Some(last) = tokens.iter().rposition(|t| *t == Token::StarStar) else {
            return false;
        };
        tokens[last + 1..]
            .iter()
            .all(|t| matches!(t, Token::Star | Token::Literal('/')))
            && UNDER
                .iter()
                .all(|f| run(tokens, &format!("{dir}/{f}"))[tokens.len()])
    })
}

/// The build inputs none of `globs` covers: a directory input (`is_dir`) needs a glob matching every
/// file under it, a file input a glob matching it. No globs: every push starts the pipeline, nothing
/// is missed.
pub fn uncovered<'a>(globs: &[&str], inputs: &[&'a str], is_dir: impl Fn(&str) -> bool) -> Vec<&'a str> {
    if globs.is_empty() {
        return Vec::new();
    }
    inputs
        .iter()
        .copied()
        .filter(|input| {
            !globs
                .iter()
                .any(|g| glob_matches_all_under(g, input) || (!is_dir(input) && glob_matches(g, input)))
        })
        .collect()
}

/// Each stage whose app trigger paths miss a build input, at its `source.app.paths` key.
pub(crate) fn check(stages: &[Stage], root: &Path, relative: impl Fn(&str) -> String) -> Vec<String> {
    let inputs = app::buildspec::BUILD_INPUTS;
    stages
        .iter()
        .filter_map(|stage| {
            let globs: Vec<&str> = stage.source.app.paths.iter().map(|p| p.as_str()).collect();
            let missed = uncovered(&globs, inputs, |input| root.join(input).is_dir());
            if missed.is_empty() {
                return None;
            }
            let file = relative(&stage.file.display().to_string());
            let at = match stage.app_paths_location() {
                Some((line, column)) => format!("{file}:{line}:{column}"),
                None => file,
            };
            let list = |v: &[&str]| v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
            Some(format!(
                "{at}: source.app.paths: {} match{} none of {}: a push that changes only {} changes the image \
                 tag (the hash of app::buildspec::BUILD_INPUTS) but does not start the pipeline; expected a \
                 glob matching each build input (add {}), or no `paths` (every push starts the pipeline)",
                list(&globs),
                if globs.len() == 1 { "es" } else { "" },
                list(&missed),
                if missed.len() == 1 { "it" } else { "one of them" },
                missed
                    .iter()
                    .map(|m| if root.join(m).is_dir() { format!("`{m}/**`") } else { format!("`{m}`") })
                    .collect::<Vec<_>>()
                    .join(", "),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_within_a_component_and_star_star_crosses() {
        assert!(glob_matches("app/*", "app/Cargo.toml"));
        assert!(!glob_matches("app/*", "app/src/main.rs"));
        assert!(glob_matches("app/**", "app/src/main.rs"));
        assert!(glob_matches("**", "Cargo.lock"));
        assert!(glob_matches("*/Cargo.toml", "xtask/Cargo.toml"));
        assert!(!glob_matches("*/Cargo.toml", "crates/cfn/Cargo.toml"));
        assert!(!glob_matches("*/Cargo.toml", "Cargo.toml"));
        assert!(glob_matches("**/Cargo.toml", "crates/cfn/Cargo.toml"));
        // `**` is characters, not directories: it needs the `/` that follows it.
        assert!(!glob_matches("**/Cargo.toml", "Cargo.toml"));
        assert!(glob_matches("*.lock", "Cargo.lock"));
        assert!(!glob_matches("*.lock", "sub/Cargo.lock"));
        assert!(!glob_matches("app/**", "apps/x"));
        assert!(!glob_matches("Cargo.toml", "Cargo.tom"));
        assert!(!glob_matches("Cargo.tom", "Cargo.toml"));
    }

    #[test]
    fn question_mark_classes_groups_and_escapes() {
        assert!(glob_matches("Cargo.loc?", "Cargo.lock"));
        assert!(!glob_matches("app?src", "app/src"));
        assert!(glob_matches("crates/[a-c]*/Cargo.toml", "crates/cfn/Cargo.toml"));
        assert!(!glob_matches(
            "crates/[!a-c]*/Cargo.toml",
            "crates/cfn/Cargo.toml"
        ));
        assert!(glob_matches("{app,infra}/**", "infra/src/lib.rs"));
        assert!(!glob_matches("{app,infra}/**", "xtask/src/main.rs"));
        assert!(glob_matches("Cargo.{toml,lock}", "Cargo.lock"));
        assert!(glob_matches("a\\*b", "a*b"));
        assert!(!glob_matches("a\\*b", "axb"));
    }

    #[test]
    fn a_directory_is_covered_only_by_a_glob_matching_all_under_it() {
        assert!(glob_matches_all_under("app/**", "app/src"));
        assert!(glob_matches_all_under("**", "app/src"));
        assert!(glob_matches_all_under("app/src/**", "app/src"));
        assert!(
            !glob_matches_all_under("app/src/*", "app/src"),
            "misses app/src/bin/x.rs"
        );
        assert!(!glob_matches_all_under("app/src/**/*.rs", "app/src"));
        assert!(!glob_matches_all_under("app/src", "app/src"));
        assert!(!glob_matches_all_under("crates/**", "app/src"));
    }
    #[test]
    fn a_directory_is_covered_by_any_glob_that_matches_every_file_under_it() {
        for glob in ["app/**", "app/**/*", "**/*", "**", "app/*/**"] {
            assert!(glob_matches_all_under(glob, "app/src"), "{glob}");
        }
        for glob in ["app/*/*/**", "app/src/*", "app/src/**/*.rs", "app/**/x/**"] {
            assert!(!glob_matches_all_under(glob, "app/src"), "{glob}");
        }
    }

    #[test]
    fn uncovered_names_each_input_no_glob_covers() {
        let inputs = ["Cargo.toml", "Cargo.lock", "app/Cargo.toml", "app/src"];
        let is_dir = |p: &str| p == "app/src";
        assert_eq!(
            uncovered(&["app/**"], &inputs, is_dir),
            ["Cargo.toml", "Cargo.lock"]
        );
        assert_eq!(
            uncovered(&["app/**", "Cargo.*"], &inputs, is_dir),
            Vec::<&str>::new()
        );
        // A glob naming the directory itself matches no file in it.
        assert_eq!(
            uncovered(&["app/src", "Cargo.*", "app/Cargo.toml"], &inputs, is_dir),
            ["app/src"]
        );
        assert_eq!(uncovered(&[], &inputs, is_dir), Vec::<&str>::new());
    }
}
