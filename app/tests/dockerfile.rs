//! The Dockerfile, read as text (no Docker engine is needed to check what matters here).

const DOCKERFILE: &str = include_str!("../Dockerfile");

fn instructions() -> Vec<(String, String)> {
    // Join continuation lines, drop comments, split instruction and arguments.
    DOCKERFILE
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (i, rest) = l.split_once(' ').unwrap_or((l, ""));
            (i.to_ascii_uppercase(), rest.trim().to_owned())
        })
        .collect()
}

#[test]
fn multi_stage_with_a_small_runtime_image_running_as_a_non_root_user() {
    let ins = instructions();
    let froms: Vec<&String> = ins.iter().filter(|(i, _)| i == "FROM").map(|(_, a)| a).collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage: {froms:?}");
    assert!(froms[0].contains(" AS build"), "{froms:?}");
    assert!(
        froms[1].starts_with("gcr.io/distroless/"),
        "the runtime image is distroless: {froms:?}"
    );
    // After the last FROM: only the binary is copied in, and the user is not root.
    let last_from = ins.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let runtime = &ins[last_from..];
    let copies: Vec<&String> = runtime
        .iter()
        .filter(|(i, _)| i == "COPY")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(copies, [&"--from=build /out/app /app".to_owned()]);
    let user = runtime.iter().find(|(i, _)| i == "USER").map(|(_, a)| a.as_str());
    assert!(
        user.is_some_and(|u| !u.starts_with("root") && !u.starts_with('0')),
        "{user:?}"
    );
    let entry = runtime
        .iter()
        .find(|(i, _)| i == "ENTRYPOINT")
        .map(|(_, a)| a.as_str());
    assert_eq!(entry, Some("[\"/app\"]"));
}

#[test]
fn exposes_the_contract_port() {
    let exposed: Vec<String> = instructions()
        .into_iter()
        .filter(|(i, _)| i == "EXPOSE")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(exposed, [pipeline_model::container::PORT.to_string()]);
}

#[test]
fn no_secret_goes_into_a_layer() {
    for (i, args) in instructions() {
        if i == "ARG" || i == "ENV" {
            for s in pipeline_model::secrets::DECLARED {
                assert!(
                    !args.contains(s.name),
                    "{i} {args}: a secret would be readable in the image history"
                );
            }
        }
    }
    assert!(!DOCKERFILE.contains("--build-arg"));
}

#[test]
fn builds_the_locked_app_binary_in_release() {
    let run = instructions()
        .into_iter()
        .find(|(i, a)| i == "RUN" && a.contains("cargo build"))
        .expect("a cargo build");
    for flag in ["--release", "--locked", "--package app"] {
        assert!(run.1.contains(flag), "{flag} missing from: {}", run.1);
    }
}
