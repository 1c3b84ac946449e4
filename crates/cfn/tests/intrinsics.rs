//! Every intrinsic function: its long form (JSON) and short form (YAML). The cases each function
//! must reject are in `validation.rs` (synth errors) and `ui/` (compile errors).

use std::collections::BTreeMap;

use cfn::actions::{GetParam, ParameterOverrides};
use cfn::fns::{self, Sub, and, equals, not, or};
use cfn::params::{CommaDelimitedList, Integer, Str};
use cfn::resources::{s3, ssm};
use cfn::{Format, Parameter, Template, Val, dynamic, pseudo};
use serde_json::{Value, json};

/// Puts the value built by `f` into a probe resource's `Value` and returns its long form and the
/// YAML line(s) it renders to.
fn check(f: impl FnOnce(&mut Template) -> Val<String>, long: Value, short: &str) {
    let mut t = Template::new();
    let v = f(&mut t);
    t.add("Probe", ssm::Parameter::new(ssm::parameter::Type::String, v));
    let json = t.synth(Format::Json).unwrap_or_else(|e| panic!("{e}"));
    let value: Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(value["Resources"]["Probe"]["Properties"]["Value"], long);
    let yaml = t.synth(Format::Yaml).unwrap().body;
    let rendered = yaml.split("      Value:").nth(1).unwrap_or_default();
    assert!(
        rendered.starts_with(short),
        "expected `Value:{short}`, got:\n{yaml}"
    );
    // The YAML reads back to the same long form.
    let back = cfn::raw::parse_template(&yaml).unwrap();
    assert_eq!(back["Resources"]["Probe"]["Properties"]["Value"], long);
}

fn bucket(t: &mut Template) -> cfn::Res<s3::Bucket> {
    t.add("Bucket", s3::Bucket::new())
}

fn param(t: &mut Template) -> cfn::Param<Str> {
    t.add_parameter("Name", Parameter::<Str>::new())
}

#[test]
fn ref_to_resource_parameter_and_pseudo_parameter() {
    check(|t| bucket(t).to_ref(), json!({"Ref": "Bucket"}), " !Ref Bucket\n");
    check(|t| param(t).to_ref(), json!({"Ref": "Name"}), " !Ref Name\n");
    check(|t| param(t).into(), json!({"Ref": "Name"}), " !Ref Name\n");
    for (v, name) in [
        (pseudo::account_id(), "AWS::AccountId"),
        (pseudo::partition(), "AWS::Partition"),
        (pseudo::region(), "AWS::Region"),
        (pseudo::stack_id(), "AWS::StackId"),
        (pseudo::stack_name(), "AWS::StackName"),
        (pseudo::url_suffix(), "AWS::URLSuffix"),
    ] {
        check(|_| v, json!({"Ref": name}), &format!(" !Ref {name}\n"));
    }
    check(
        |_| fns::join(",", pseudo::notification_arns()),
        json!({"Fn::Join": [",", {"Ref": "AWS::NotificationARNs"}]}),
        " !Join\n        - ','\n        - !Ref AWS::NotificationARNs\n",
    );
}

#[test]
fn get_att_is_short_and_typed() {
    check(
        |t| bucket(t).arn(),
        json!({"Fn::GetAtt": ["Bucket", "Arn"]}),
        " !GetAtt Bucket.Arn\n",
    );
    check(
        |t| bucket(t).regional_domain_name(),
        json!({"Fn::GetAtt": ["Bucket", "RegionalDomainName"]}),
        " !GetAtt Bucket.RegionalDomainName\n",
    );
}

#[test]
fn sub_inlines_what_it_can_and_binds_the_rest() {
    // Names checked against the template.
    check(
        |t| {
            bucket(t);
            Sub::new("${Bucket.Arn}/*").into()
        },
        json!({"Fn::Sub": "${Bucket.Arn}/*"}),
        " !Sub ${Bucket.Arn}/*\n",
    );
    // A typed variable bound to a Ref is written as the logical ID.
    check(
        |t| {
            let b = bucket(t);
            Sub::new("s3://${B}/key").var("B", b.to_ref()).into()
        },
        json!({"Fn::Sub": "s3://${Bucket}/key"}),
        " !Sub s3://${Bucket}/key\n",
    );
    // A variable that cannot be inlined stays bound.
    check(
        |_| {
            Sub::new("zone ${Az}")
                .var("Az", fns::select(0, fns::get_azs()))
                .into()
        },
        json!({"Fn::Sub": ["zone ${Az}", {"Az": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}}]}),
        " !Sub\n        - zone ${Az}\n        - Az: !Select\n",
    );
    // Only escapes: a plain string.
    check(
        |_| Sub::new("${!Literal}").into(),
        json!("${Literal}"),
        " ${Literal}\n",
    );
    // Exactly one variable: a Ref.
    check(
        |t| {
            param(t);
            Sub::new("${Name}").into()
        },
        json!({"Ref": "Name"}),
        " !Ref Name\n",
    );
}

#[test]
fn join_select_split() {
    check(
        |t| {
            let b = bucket(t);
            fns::join("-", vec![Val::from("a"), b.to_ref()])
        },
        json!({"Fn::Join": ["-", ["a", {"Ref": "Bucket"}]]}),
        " !Join\n        - '-'\n        - - a\n          - !Ref Bucket\n",
    );
    check(
        |t| {
            let l = t.add_parameter("Items", Parameter::<CommaDelimitedList>::new());
            fns::select(2, l)
        },
        json!({"Fn::Select": [2, {"Ref": "Items"}]}),
        " !Select\n        - 2\n        - !Ref Items\n",
    );
    check(
        |t| fns::select(0, fns::split("/", param(t))),
        json!({"Fn::Select": [0, {"Fn::Split": ["/", {"Ref": "Name"}]}]}),
        " !Select\n        - 0\n        - !Split\n",
    );
}

#[test]
fn get_azs_base64_import_value() {
    check(
        |_| fns::select(0, fns::get_azs_in(pseudo::region())),
        json!({"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}),
        " !Select\n        - 0\n        - Fn::GetAZs: !Ref AWS::Region\n",
    );
    check(
        |_| fns::base64("hello"),
        json!({"Fn::Base64": "hello"}),
        " !Base64 hello\n",
    );
    check(
        |_| fns::base64(Sub::new("echo ${AWS::Region}\n")),
        json!({"Fn::Base64": {"Fn::Sub": "echo ${AWS::Region}\n"}}),
        "\n        Fn::Base64: !Sub |\n          echo ${AWS::Region}\n",
    );
    check(
        |_| fns::import_value("network-VpcId"),
        json!({"Fn::ImportValue": "network-VpcId"}),
        " !ImportValue network-VpcId\n",
    );
}

#[test]
fn find_in_map_and_cidr() {
    check(
        |t| {
            let m = t.add_mapping(
                "Sizes",
                BTreeMap::from([(
                    "dev".to_owned(),
                    BTreeMap::from([("Type".to_owned(), "t3.small")]),
                )]),
            );
            fns::find_in_map(m, "dev", "Type")
        },
        json!({"Fn::FindInMap": ["Sizes", "dev", "Type"]}),
        " !FindInMap\n        - Sizes\n        - dev\n        - Type\n",
    );
    check(
        |_| fns::select(0, fns::cidr("10.0.0.0/16", 4, 8)),
        json!({"Fn::Select": [0, {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}]}),
        " !Select\n        - 0\n        - !Cidr\n          - '10.0.0.0/16'\n          - 4\n          - 8\n",
    );
}

#[test]
fn conditions_and_if() {
    let mut t = Template::new();
    let stage = t.add_parameter("Stage", Parameter::<Str>::new());
    let size = t.add_parameter("Size", Parameter::<Integer>::new());
    let prod = t.add_condition("IsProd", equals(stage, "prod"));
    let dev = t.add_condition("IsDev", not(prod));
    let big = t.add_condition("IsBig", and([prod.into(), equals(size, 10)]));
    let any = t.add_condition("IsAny", or([dev, big]));
    t.add(
        "Probe",
        ssm::Parameter::new(ssm::parameter::Type::String, fns::if_(any, "yes", "no")).description(fns::if_(
            dev,
            Val::from("dev"),
            pseudo::no_value(),
        )),
    );
    let json: Value = serde_json::from_str(&t.synth(Format::Json).unwrap().body).unwrap();
    assert_eq!(
        json["Conditions"],
        json!({
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
            "IsBig": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "Size"}, 10]}]},
            "IsAny": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsBig"}]},
        })
    );
    assert_eq!(
        json["Resources"]["Probe"]["Properties"]["Value"],
        json!({"Fn::If": ["IsAny", "yes", "no"]})
    );
    assert_eq!(
        json["Resources"]["Probe"]["Properties"]["Description"],
        json!({"Fn::If": ["IsDev", "dev", {"Ref": "AWS::NoValue"}]})
    );
    let yaml = t.synth(Format::Yaml).unwrap().body;
    assert!(
        yaml.contains("  IsDev: !Not\n    - !Condition IsProd\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("Value: !If\n        - IsAny\n        - 'yes'\n        - 'no'\n"),
        "{yaml}"
    );
}

#[test]
fn dynamic_references() {
    check(
        |_| dynamic::ssm("/berth/dev/x", None),
        json!("{{resolve:ssm:/berth/dev/x}}"),
        " '{{resolve:ssm:/berth/dev/x}}'\n",
    );
    check(
        |_| dynamic::ssm_secure("/berth/dev/x", Some(3)),
        json!("{{resolve:ssm-secure:/berth/dev/x:3}}"),
        " '{{resolve:ssm-secure:/berth/dev/x:3}}'\n",
    );
    check(
        |_| dynamic::secrets_manager("db", Some("password"), Some("AWSCURRENT")),
        json!("{{resolve:secretsmanager:db:SecretString:password:AWSCURRENT}}"),
        " '{{resolve:secretsmanager:db:SecretString:password:AWSCURRENT}}'\n",
    );
    // A name built from a parameter: a Sub around the reference.
    check(
        |t| dynamic::ssm(Sub::new("/berth/${Name}/x").var("Name", param(t)), None),
        json!({"Fn::Sub": "{{resolve:ssm:/berth/${Name}/x}}"}),
        " !Sub '{{resolve:ssm:/berth/${Name}/x}}'\n",
    );
}

#[test]
fn parameter_overrides_render_as_json_text() {
    // Literal values only: a plain string, no Fn::Sub.
    let o = ParameterOverrides::new()
        .get_param("ImageTag", GetParam::new("Build", "build.json", "tag"))
        .value("A", "b");
    assert_eq!(
        o.get_params().collect::<Vec<_>>(),
        vec![("ImageTag", "Build", "build.json", "tag")]
    );
}
