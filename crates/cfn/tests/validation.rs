//! Every validation rule of synth: a case it must reject (the message names the logical ID and the
//! offending value) and a case it must let pass.

use cfn::actions::{ArtifactPath, CloudFormation, GetParam, ParameterOverrides};
use cfn::fns::{self, Sub, and, equals, or};
use cfn::params::{Integer, Str};
use cfn::resources::{codepipeline, iam, logs, s3, ssm};
use cfn::{
    Attributes, CreationPolicy, DeletionPolicy, Diagnostic, Format, IsoDuration, Output, Parameter, Severity,
    Template, dynamic,
};

fn log_group() -> logs::LogGroup {
    logs::LogGroup::new()
}

fn errors(t: &Template) -> Vec<Diagnostic> {
    t.validate()
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

fn warnings(t: &Template) -> Vec<Diagnostic> {
    t.validate()
        .into_iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect()
}

/// Exactly one error, at `path`, whose message contains every `needle`.
#[track_caller]
fn assert_one_error(t: &Template, path: &str, needles: &[&str]) {
    let errs = errors(t);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    assert_eq!(errs[0].path, path, "{errs:#?}");
    for n in needles {
        assert!(
            errs[0].message.contains(n),
            "`{}` does not mention `{n}`",
            errs[0].message
        );
    }
    assert!(t.synth(Format::Yaml).is_err(), "synth must fail on an error");
}

#[track_caller]
fn assert_clean(t: &Template) {
    let all = t.validate();
    assert!(all.is_empty(), "expected no diagnostics, got {all:#?}");
    t.synth(Format::Yaml).unwrap_or_else(|e| panic!("{e}"));
}

fn ssm_value(t: &mut Template, id: &str, value: impl Into<cfn::Val<String>>) {
    t.add(id, ssm::Parameter::new(ssm::parameter::Type::String, value));
}

#[test]
fn logical_ids_must_be_alphanumeric() {
    let mut t = Template::new();
    t.add("Bad-Id", log_group());
    assert_one_error(&t, "Resources/Bad-Id", &["`Bad-Id`", "^[A-Za-z0-9]+$"]);

    let mut t = Template::new();
    t.add(&"A".repeat(256), log_group());
    assert_eq!(errors(&t).len(), 1);

    let mut t = Template::new();
    t.add("GoodId1", log_group());
    assert_clean(&t);
}

#[test]
fn logical_ids_must_be_unique() {
    let mut t = Template::new();
    t.add("Logs", log_group());
    t.add("Logs", log_group());
    assert_one_error(&t, "Resources/Logs", &["`Logs`", "twice"]);

    let mut t = Template::new();
    let p = t.add_parameter("Shared", Parameter::<Str>::new());
    t.add("Shared", logs::LogGroup::new().log_group_name(p));
    assert_one_error(&t, "Resources/Shared", &["`Shared`", "parameter and a resource"]);

    let mut t = Template::new();
    t.add("Logs", log_group());
    t.add("Logs2", log_group());
    assert_clean(&t);
}

#[test]
fn section_sizes_are_limited() {
    let mut t = Template::new();
    for i in 0..501 {
        t.add(&format!("Logs{i}"), log_group());
    }
    assert_one_error(&t, "template", &["501 resources", "at most 500"]);
    let mut t = Template::new();
    for i in 0..500 {
        t.add(&format!("Logs{i}"), log_group());
    }
    assert_clean(&t);

    let mut t = Template::new();
    for i in 0..201 {
        let p = t.add_parameter(&format!("P{i}"), Parameter::<Str>::new());
        ssm_value(&mut t, &format!("R{i}"), p);
    }
    assert_one_error(&t, "template", &["201 parameters", "at most 200"]);

    let mut t = Template::new();
    let r = t.add("Logs", log_group());
    for i in 0..201 {
        t.add_output(&format!("O{i}"), Output::new(r.to_ref()));
    }
    assert_one_error(&t, "template", &["201 outputs", "at most 200"]);
}

#[test]
fn mappings_are_limited_too() {
    use std::collections::BTreeMap;
    let mut t = Template::new();
    let mut last = None;
    for i in 0..201 {
        last = Some(t.add_mapping(
            &format!("M{i}"),
            BTreeMap::from([("k".to_owned(), BTreeMap::from([("v".to_owned(), "x")]))]),
        ));
    }
    ssm_value(&mut t, "R", fns::find_in_map(last.unwrap(), "k", "v"));
    let errs = errors(&t);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("201 mappings"), "{errs:#?}");
}

#[test]
fn dependency_cycles_are_reported_with_their_path() {
    // Handles make a forward reference impossible; a `${Name}` in Fn::Sub can still close a cycle.
    let mut t = Template::new();
    let a = t.add(
        "First",
        ssm::Parameter::new(ssm::parameter::Type::String, Sub::new("${Second}")),
    );
    t.add(
        "Second",
        ssm::Parameter::new(ssm::parameter::Type::String, a.to_ref()),
    );
    assert_one_error(
        &t,
        "Resources/First",
        &["dependency cycle: First -> Second -> First"],
    );

    let mut t = Template::new();
    t.add(
        "Self",
        ssm::Parameter::new(ssm::parameter::Type::String, Sub::new("name is ${Self}")),
    );
    assert_one_error(&t, "Resources/Self", &["Self -> Self"]);

    let mut t = Template::new();
    let a = t.add("First", ssm::Parameter::new(ssm::parameter::Type::String, "x"));
    t.add_with(
        "Second",
        ssm::Parameter::new(ssm::parameter::Type::String, a.to_ref()),
        Attributes::new(),
    );
    assert_clean(&t);
}

#[test]
fn sub_variables_must_exist() {
    let mut t = Template::new();
    ssm_value(&mut t, "Probe", Sub::new("${Missing}-x"));
    assert_one_error(&t, "Resources/Probe/Properties/Value", &["${Missing}", "unknown"]);

    let mut t = Template::new();
    t.add("Bucket", s3::Bucket::new());
    ssm_value(&mut t, "Probe", Sub::new("${Bucket.Nope}"));
    assert_one_error(
        &t,
        "Resources/Probe/Properties/Value",
        &["`Nope`", "AWS::S3::Bucket", "Arn"],
    );

    let mut t = Template::new();
    let p = t.add_parameter("Name", Parameter::<Str>::new());
    ssm_value(&mut t, "Probe", Sub::new("${Name.Length}"));
    ssm_value(&mut t, "Other", p);
    assert_one_error(
        &t,
        "Resources/Probe/Properties/Value",
        &["${Name.Length}", "parameters have no attributes"],
    );

    let mut t = Template::new();
    ssm_value(&mut t, "Probe", Sub::new("x").var("Unused", "y"));
    assert_one_error(
        &t,
        "Resources/Probe/Properties/Value",
        &["`Unused`", "not in the text"],
    );

    let mut t = Template::new();
    ssm_value(&mut t, "Probe", Sub::new("${Open"));
    assert_one_error(&t, "Resources/Probe/Properties/Value", &["${Open", "not closed"]);

    let mut t = Template::new();
    let b = t.add("Bucket", s3::Bucket::new());
    let p = t.add_parameter("Name", Parameter::<Str>::new());
    ssm_value(
        &mut t,
        "Probe",
        Sub::new("${Name}/${Bucket.Arn}/${AWS::Region}/${Custom}/${!Literal}").var("Custom", b.to_ref()),
    );
    assert_clean(&t);
    let _ = p;
}

#[test]
fn get_param_is_accepted_only_in_a_cloudformation_action() {
    // Smuggled in as JSON through an escape hatch.
    let mut t = Template::new();
    t.add(
        "Bucket",
        s3::Bucket::new().unmodelled_property(
            "Extra",
            serde_json::json!({"Fn::GetParam": ["Build", "build.json", "tag"]}),
        ),
    );
    assert_one_error(
        &t,
        "Resources/Bucket/Properties/Extra",
        &["Fn::GetParam", "ParameterOverrides"],
    );

    // A real ParameterOverrides value, but placed on another resource.
    let mut t = Template::new();
    let overrides =
        ParameterOverrides::new().get_param("ImageTag", GetParam::new("Build", "build.json", "tag"));
    t.add(
        "Bucket",
        s3::Bucket::new().unmodelled_property("Extra", overrides.into_json()),
    );
    assert_one_error(
        &t,
        "Resources/Bucket/Properties/Extra/ImageTag",
        &["Fn::GetParam", "ParameterOverrides"],
    );

    // Where it belongs.
    let mut t = Template::new();
    let role = t.add(
        "Role",
        iam::Role::new(serde_json::json!({"Version": "2012-10-17", "Statement": []})),
    );
    let deploy = CloudFormation::change_set_replace("svc", "Deploy", ArtifactPath::new("Infra", "t.yaml"))
        .parameter_overrides(
            ParameterOverrides::new().get_param("ImageTag", GetParam::new("Build", "build.json", "tag")),
        )
        .action("Deploy", &["Infra", "Build"]);
    t.add(
        "Pipeline",
        codepipeline::Pipeline::new(
            role.arn(),
            vec![codepipeline::pipeline::StageDeclaration::new(
                vec![deploy],
                "Deploy",
            )],
        ),
    );
    assert_clean(&t);
}

#[test]
fn unused_parameters_conditions_and_mappings_are_warnings() {
    let mut t = Template::new();
    t.add_parameter("Unused", Parameter::<Str>::new());
    t.add("Logs", log_group());
    let w = warnings(&t);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].path, "Parameters/Unused");
    assert!(w[0].message.contains("`Unused` is never used"));
    assert!(errors(&t).is_empty());
    // A warning does not stop synth; it comes back with the body.
    assert_eq!(t.synth(Format::Yaml).unwrap().warnings.len(), 1);

    let mut t = Template::new();
    let p = t.add_parameter("Used", Parameter::<Str>::new());
    t.add_condition("Unused", equals(p, "x"));
    t.add("Logs", logs::LogGroup::new().log_group_name(p));
    let w = warnings(&t);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].path, "Conditions/Unused");
}

#[test]
fn body_size_is_checked_against_both_limits() {
    let big = |n: usize| {
        let mut t = Template::new();
        t.add_metadata("Padding", serde_json::json!("x".repeat(n)));
        t.add("Logs", log_group());
        t
    };
    let s = big(40_000).synth(Format::Yaml).unwrap();
    assert!(s.warnings.is_empty());
    let s = big(60_000).synth(Format::Yaml).unwrap();
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0].message.contains("51200-byte inline limit"),
        "{:?}",
        s.warnings
    );
    let e = big(1_000_001).synth(Format::Json).unwrap_err();
    assert!(e.to_string().contains("at most 1000000"), "{e}");
}

#[test]
fn a_handle_from_another_template_is_an_error() {
    let mut other = Template::new();
    let foreign = other.add("Bucket", s3::Bucket::new());
    let mut t = Template::new();
    ssm_value(&mut t, "Probe", foreign.arn());
    assert_one_error(
        &t,
        "Resources/Probe/Properties/Value",
        &["another template", "Fn::ImportValue"],
    );

    let mut t = Template::new();
    let own = t.add("Bucket", s3::Bucket::new());
    ssm_value(&mut t, "Probe", own.arn());
    assert_clean(&t);
}

#[test]
fn dynamic_references_are_counted_and_checked() {
    let mut t = Template::new();
    for i in 0..61 {
        ssm_value(
            &mut t,
            &format!("P{i}"),
            dynamic::ssm(format!("/berth/{i}"), None),
        );
    }
    assert_one_error(&t, "template", &["61 dynamic references", "60"]);

    let mut t = Template::new();
    ssm_value(&mut t, "Probe", "{{resolve:vault:x}}");
    assert_one_error(
        &t,
        "Resources/Probe/Properties/Value",
        &["`vault`", "ssm, ssm-secure or secretsmanager"],
    );

    let mut t = Template::new();
    for i in 0..60 {
        ssm_value(
            &mut t,
            &format!("P{i}"),
            dynamic::ssm(format!("/berth/{i}"), Some(2)),
        );
    }
    assert_clean(&t);
}

#[test]
fn json_literals_cannot_hold_intrinsics() {
    let mut t = Template::new();
    t.add(
        "Bucket",
        s3::Bucket::new().unmodelled_property("Extra", serde_json::json!({"Ref": "Typo"})),
    );
    assert_one_error(&t, "Resources/Bucket/Properties/Extra", &["`Ref`", "typed API"]);

    let mut t = Template::new();
    t.add(
        "Bucket",
        s3::Bucket::new().unmodelled_property("Extra", serde_json::json!({"Ref": "x", "Other": 1})),
    );
    assert_clean(&t);
}

#[test]
fn an_unmodelled_property_cannot_shadow_a_typed_one() {
    let mut t = Template::new();
    t.add(
        "Bucket",
        s3::Bucket::new()
            .bucket_name("a")
            .unmodelled_property("BucketName", serde_json::json!("b")),
    );
    assert_one_error(&t, "Resources/Bucket/Properties", &["`BucketName`", "set twice"]);

    let mut t = Template::new();
    t.add(
        "Bucket",
        s3::Bucket::new().unmodelled_property("BrandNewProperty", serde_json::json!(true)),
    );
    assert_clean(&t);
}

#[test]
fn retention_needs_both_policies() {
    let mut t = Template::new();
    t.add_with(
        "Bucket",
        s3::Bucket::new(),
        Attributes::new().deletion_policy(DeletionPolicy::Retain),
    );
    let w = warnings(&t);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].path, "Resources/Bucket");
    assert!(w[0].message.contains("UpdateReplacePolicy"));

    let mut t = Template::new();
    t.add_with("Bucket", s3::Bucket::new(), Attributes::new().retain());
    assert_clean(&t);
}

#[test]
fn redundant_depends_on_is_a_warning() {
    let mut t = Template::new();
    let b = t.add("Bucket", s3::Bucket::new());
    t.add_with(
        "Probe",
        ssm::Parameter::new(ssm::parameter::Type::String, b.to_ref()),
        Attributes::new().depends_on(b),
    );
    let w = warnings(&t);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].path, "Resources/Probe/DependsOn");
    assert!(w[0].message.contains("`Bucket` is redundant"));

    let mut t = Template::new();
    let b = t.add("Bucket", s3::Bucket::new());
    t.add_with(
        "Probe",
        ssm::Parameter::new(ssm::parameter::Type::String, "x"),
        Attributes::new().depends_on(b),
    );
    assert_clean(&t);
}

#[test]
fn and_or_take_two_to_ten_conditions() {
    let mut t = Template::new();
    let p = t.add_parameter("Stage", Parameter::<Str>::new());
    let c = t.add_condition("Lonely", and([equals(p, "a")]));
    t.add_with("Logs", log_group(), Attributes::new().condition(c));
    assert_one_error(&t, "Conditions/Lonely", &["Fn::And", "2 to 10", "not 1"]);

    let mut t = Template::new();
    let p = t.add_parameter("Stage", Parameter::<Str>::new());
    let c = t.add_condition("Many", or((0..11).map(|i| equals(p, format!("s{i}")))));
    t.add_with("Logs", log_group(), Attributes::new().condition(c));
    assert_one_error(&t, "Conditions/Many", &["Fn::Or", "not 11"]);

    let mut t = Template::new();
    let p = t.add_parameter("Stage", Parameter::<Str>::new());
    let c = t.add_condition("Pair", or([equals(p, "a"), equals(p, "b")]));
    t.add_with("Logs", log_group(), Attributes::new().condition(c));
    assert_clean(&t);
}

#[test]
fn parameter_constraints_are_consistent() {
    let mut t = Template::new();
    let p = t.add_parameter(
        "Stage",
        Parameter::<Str>::new()
            .allowed_values(["dev", "prod"])
            .default_value("qa"),
    );
    t.add("Logs", logs::LogGroup::new().log_group_name(p));
    assert_one_error(&t, "Parameters/Stage", &["`qa`", "allowed values"]);

    let mut t = Template::new();
    let p = t.add_parameter("Size", Parameter::<Integer>::new().min_value(10.0).max_value(5.0));
    t.add("Logs", logs::LogGroup::new().retention_in_days(p));
    assert_one_error(&t, "Parameters/Size", &["MinValue 10", "MaxValue 5"]);

    let mut t = Template::new();
    let p = t.add_parameter(
        "Size",
        Parameter::<Integer>::new().min_value(10.0).default_value(3),
    );
    t.add("Logs", logs::LogGroup::new().retention_in_days(p));
    assert_one_error(&t, "Parameters/Size", &["default 3", "MinValue/MaxValue"]);

    let mut t = Template::new();
    let p = t.add_parameter(
        "Name",
        Parameter::<Str>::new().max_length(3).default_value("toolong"),
    );
    t.add("Logs", logs::LogGroup::new().log_group_name(p));
    assert_one_error(&t, "Parameters/Name", &["`toolong`", "MaxLength"]);

    let mut t = Template::new();
    let p = t.add_parameter(
        "Secret",
        Parameter::<Str>::new().no_echo().default_value("hunter2"),
    );
    t.add("Logs", logs::LogGroup::new().log_group_name(p));
    let w = warnings(&t);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].message.contains("NoEcho"));

    let mut t = Template::new();
    let p = t.add_parameter(
        "Stage",
        Parameter::<Str>::new()
            .allowed_values(["dev", "prod"])
            .default_value("dev"),
    );
    t.add("Logs", logs::LogGroup::new().log_group_name(p));
    assert_clean(&t);
}

#[test]
fn signal_timeouts_are_at_most_twelve_hours() {
    let mut t = Template::new();
    t.add_with(
        "Logs",
        log_group(),
        Attributes::new().creation_policy(CreationPolicy::signals(1, IsoDuration::hours(13))),
    );
    assert_one_error(&t, "Resources/Logs/CreationPolicy", &["PT13H", "PT12H"]);

    let mut t = Template::new();
    t.add_with(
        "Logs",
        log_group(),
        Attributes::new().creation_policy(CreationPolicy::signals(1, IsoDuration::hours(12))),
    );
    assert_clean(&t);
}

#[test]
fn import_value_cannot_depend_on_a_resource_of_the_same_stack() {
    let mut t = Template::new();
    let b = t.add("Bucket", s3::Bucket::new());
    ssm_value(&mut t, "Probe", fns::import_value(Sub::new("${Bucket}-x")));
    let _ = b;
    assert_one_error(
        &t,
        "Resources/Probe/Properties/Value",
        &["Fn::ImportValue", "`Bucket`"],
    );

    let mut t = Template::new();
    ssm_value(
        &mut t,
        "Probe",
        fns::import_value(Sub::new("${AWS::StackName}-x")),
    );
    assert_clean(&t);
}

#[test]
fn mapping_keys_and_values_are_checked() {
    use std::collections::BTreeMap;
    let mut t = Template::new();
    let m = t.add_mapping(
        "Sizes",
        BTreeMap::from([("bad key".to_owned(), BTreeMap::from([("v".to_owned(), "1")]))]),
    );
    ssm_value(&mut t, "Probe", fns::find_in_map(m, "bad key", "v"));
    assert_one_error(&t, "Mappings/Sizes", &["`bad key`"]);

    let mut t = Template::new();
    let m = t.add_mapping(
        "Sizes",
        BTreeMap::from([(
            "dev".to_owned(),
            BTreeMap::from([("v".to_owned(), cfn::pseudo::region())]),
        )]),
    );
    ssm_value(&mut t, "Probe", fns::find_in_map(m, "dev", "v"));
    assert_one_error(&t, "Mappings/Sizes/dev/v", &["literals"]);
}

#[test]
fn a_template_needs_a_resource() {
    let t = Template::new();
    assert_one_error(&t, "template", &["at least one resource"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut t = Template::new();
    t.add("Bad-Id", log_group());
    ssm_value(&mut t, "Probe", Sub::new("${Missing}"));
    t.add("Probe", log_group());
    let e = t.synth(Format::Yaml).unwrap_err();
    assert_eq!(e.errors().count(), 3, "{e}");
    let text = e.to_string();
    assert!(text.starts_with("the template has 3 errors"), "{text}");
    for needle in ["Resources/Bad-Id", "${Missing}", "`Probe` is used twice"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn a_declared_resource_must_be_defined_once() {
    let mut t = Template::new();
    let _never: cfn::Res<s3::Bucket> = t.declare("Bucket");
    t.add("Logs", log_group());
    assert_one_error(
        &t,
        "Resources/Bucket",
        &["`Bucket` is declared but never defined"],
    );

    let mut t = Template::new();
    let b = t.declare::<s3::Bucket>("Bucket");
    t.define(b, s3::Bucket::new(), Attributes::new());
    t.define(b, s3::Bucket::new(), Attributes::new());
    assert_one_error(&t, "template", &["`Bucket` is defined twice"]);
}

#[test]
fn logical_name_names_without_depending() {
    // The launch template's UserData names the group that references the launch template: with a Ref
    // that would be a cycle; the name alone is not.
    let mut t = Template::new();
    let group = t.declare::<ssm::Parameter>("Group");
    let first = t.add(
        "First",
        ssm::Parameter::new(
            ssm::parameter::Type::String,
            Sub::new("signal ${G}").var("G", group.logical_name()),
        ),
    );
    t.define(
        group,
        ssm::Parameter::new(ssm::parameter::Type::String, first.to_ref()),
        Attributes::new(),
    );
    assert_clean(&t);
    let json: serde_json::Value = serde_json::from_str(&t.synth(Format::Json).unwrap().body).unwrap();
    assert_eq!(json["Resources"]["First"]["Properties"]["Value"], "signal Group");

    // The same with a Ref is the cycle it avoids.
    let mut t = Template::new();
    let group = t.declare::<ssm::Parameter>("Group");
    let first = t.add(
        "First",
        ssm::Parameter::new(ssm::parameter::Type::String, group.to_ref()),
    );
    t.define(
        group,
        ssm::Parameter::new(ssm::parameter::Type::String, first.to_ref()),
        Attributes::new(),
    );
    assert_one_error(
        &t,
        "Resources/Group",
        &["dependency cycle: Group -> First -> Group"],
    );
}
