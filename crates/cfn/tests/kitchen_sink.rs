//! One template that uses every feature of the language, rendered to YAML and JSON: the two forms
//! agree, rendering is byte-identical run to run, and cfn-lint finds nothing in either.

use std::collections::BTreeMap;

use cfn::actions::{ArtifactPath, Capability, CloudFormation, CodeStarSource, GetParam, ParameterOverrides};
use cfn::fns::{self, Sub, and, equals, not, or};
use cfn::params::{CommaDelimitedList, Integer, IntegerList, Number, NumberList, SsmValue, Str, aws};
use cfn::policy::{PolicyDocument, Principal, Statement};
use cfn::resources::{autoscaling, codepipeline, ec2, iam, kms, logs, s3, ssm};
use cfn::{
    Attributes, CreationPolicy, Format, IsoDuration, Output, Parameter, Template, UpdatePolicy, dynamic,
    pseudo,
};

fn kitchen_sink() -> Template {
    let mut t = Template::new();
    t.set_description("berth kitchen sink: every feature of the template language");
    t.add_metadata(
        "Purpose",
        serde_json::json!({"test": "kitchen sink", "quoted": ["yes", "on", "2010-09-09"]}),
    );

    // Parameters of every kind.
    let stage = t.add_parameter(
        "Stage",
        Parameter::<Str>::new()
            .description("Stage name")
            .allowed_values(["dev", "prod"])
            .default_value("dev")
            .min_length(2)
            .max_length(8)
            .allowed_pattern("^[a-z]+$")
            .constraint_description("lowercase letters"),
    );
    let size = t.add_parameter(
        "VolumeSize",
        Parameter::<Integer>::new()
            .description("Root volume size")
            .default_value(30)
            .min_value(8.0)
            .max_value(200.0),
    );
    let ratio = t.add_parameter(
        "SpotRatio",
        Parameter::<Number>::new()
            .default_value(0.5)
            .min_value(0.0)
            .max_value(1.0),
    );
    let cidrs = t.add_parameter(
        "AdminCidrs",
        Parameter::<CommaDelimitedList>::new().default_value(vec!["10.0.0.0/8".to_owned()]),
    );
    let ports = t.add_parameter(
        "ExtraPorts",
        Parameter::<IntegerList>::new().default_value(vec!["8080".to_owned(), "8443".to_owned()]),
    );
    let weights = t.add_parameter(
        "Weights",
        Parameter::<NumberList>::new().default_value(vec!["0.25".to_owned(), "0.75".to_owned()]),
    );
    let vpc = t.add_parameter("VpcId", Parameter::<aws::VpcId>::new().description("The VPC"));
    let vpc_cidr = t.add_parameter("VpcCidr", Parameter::<Str>::new().default_value("10.0.0.0/16"));
    let subnets = t.add_parameter("SubnetIds", Parameter::<aws::SubnetIds>::new());
    let ami = t.add_parameter(
        "ImageId",
        Parameter::<SsmValue<aws::ImageId>>::new()
            .default_value("/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"),
    );
    let network_stack = t.add_parameter("NetworkStack", Parameter::<Str>::new().default_value("network"));
    let connection = t.add_parameter(
        "ConnectionArn",
        Parameter::<Str>::new().allowed_pattern("^arn:aws[a-z-]*:(codeconnections|codestar-connections):.+$"),
    );

    // Conditions: Equals, Not, And, Or, and a condition used inside another.
    let is_prod = t.add_condition("IsProd", equals(stage, "prod"));
    let not_prod = t.add_condition("IsNotProd", not(is_prod));
    let big = t.add_condition("IsBigProd", and([is_prod.into(), not(equals(size, 30))]));
    let any = t.add_condition("IsProdOrBig", or([is_prod, big]));
    let has_network = t.add_condition("HasNetworkStack", not(equals(network_stack, "")));

    // A mapping and Fn::FindInMap.
    let sizes = t.add_mapping(
        "InstanceTypes",
        BTreeMap::from([
            (
                "dev".to_owned(),
                BTreeMap::from([("Type".to_owned(), "t3.small")]),
            ),
            (
                "prod".to_owned(),
                BTreeMap::from([("Type".to_owned(), "m6i.large")]),
            ),
        ]),
    );

    let key = t.add_with(
        "Key",
        kms::Key::new()
            .description("kitchen sink key")
            .enable_key_rotation(true)
            .key_policy(
                PolicyDocument::new().statement(
                    Statement::allow()
                        .sid("AccountAdministers")
                        .principal(Principal::Aws(vec![
                            Sub::new("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").into(),
                        ]))
                        .actions(["kms:*"])
                        .resource("*"),
                ),
            ),
        Attributes::new().retain(),
    );
    let bucket = t.add_with(
        "Bucket",
        s3::Bucket::new()
            .bucket_encryption(s3::bucket::BucketEncryption::new(vec![
                s3::bucket::ServerSideEncryptionRule::new().server_side_encryption_by_default(
                    s3::bucket::ServerSideEncryptionByDefault::new(s3::bucket::SSEAlgorithm::AwsKms)
                        .kms_master_key_id(key.arn()),
                ),
            ]))
            .tags(vec![
                s3::bucket::Tag::new("Zone", fns::select(0, fns::get_azs())),
                s3::bucket::Tag::new("Network", fns::import_value(Sub::new("${NetworkStack}-VpcId"))),
                s3::bucket::Tag::new(
                    "FirstCidr",
                    fns::select(0, fns::split(",", fns::join(",", cidrs))),
                ),
                s3::bucket::Tag::new("Release", dynamic::ssm("/berth/kitchen-sink/release", Some(1))),
                s3::bucket::Tag::new(
                    "Owner",
                    dynamic::secrets_manager("berth/owner", Some("name"), None),
                ),
                s3::bucket::Tag::new("Size", fns::find_in_map(sizes, stage, "Type")),
                s3::bucket::Tag::new("Ratio", fns::join(":", vec![Sub::new("${SpotRatio}")])),
                s3::bucket::Tag::new("Weight", fns::select(1, weights).into_string()),
            ]),
        Attributes::new()
            .retain()
            .metadata("Comment", serde_json::json!("the artifact bucket")),
    );
    let _ = ratio;
    let log_group = t.add_with(
        "Logs",
        logs::LogGroup::new().retention_in_days(fns::if_(is_prod, 365, 14)),
        Attributes::new().depends_on(bucket),
    );
    let sg = t.add(
        "InstanceSecurityGroup",
        ec2::SecurityGroup::new("instances")
            .vpc_id(vpc)
            .security_group_ingress(vec![
                ec2::security_group::Ingress::new("tcp")
                    .cidr_ip(fns::select(1, fns::cidr(vpc_cidr, 4, 8)))
                    .from_port(fns::select(0, ports))
                    .to_port(fns::select(1, ports)),
            ]),
    );
    let role = t.add(
        "InstanceRole",
        iam::Role::new(
            PolicyDocument::new().statement(
                Statement::allow()
                    .service("ec2.amazonaws.com")
                    .actions(["sts:AssumeRole"]),
            ),
        )
        .managed_policy_arns(vec![Sub::new(
            "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        )])
        .policies(vec![iam::role::Policy::new(
            PolicyDocument::new().statement(
                Statement::allow()
                    .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
                    .resource(log_group.arn()),
            ),
            "logs",
        )]),
    );
    let profile = t.add("InstanceProfile", iam::InstanceProfile::new(vec![role.to_ref()]));
    let user_data = Sub::new(
        "#!/bin/bash\nset -euo pipefail\necho \"stage=${Stage} region=${AWS::Region}\" > /etc/berth\n\
         /opt/aws/bin/cfn-signal -e 0 --stack ${AWS::StackName} --resource Group --region ${AWS::Region}\n",
    );
    let lt = t.add(
        "LaunchTemplate",
        ec2::LaunchTemplate::new(
            ec2::launch_template::LaunchTemplateData::new()
                .image_id(ami)
                .instance_type(fns::find_in_map(sizes, stage, "Type"))
                .iam_instance_profile(ec2::launch_template::IamInstanceProfile::new().arn(profile.arn()))
                .security_group_ids(vec![sg.group_id()])
                .metadata_options(
                    ec2::launch_template::MetadataOptions::new()
                        .http_tokens(ec2::launch_template::HttpTokens::Required),
                )
                .block_device_mappings(vec![
                    ec2::launch_template::BlockDeviceMapping::new()
                        .device_name("/dev/xvda")
                        .ebs(
                            ec2::launch_template::Ebs::new()
                                .volume_type(ec2::launch_template::VolumeType::Gp3)
                                .volume_size(size)
                                .encrypted(true),
                        ),
                ])
                .user_data(fns::base64(user_data)),
        ),
    );
    let group = t.add_with(
        "Group",
        autoscaling::AutoScalingGroup::new("3", fns::if_(any, "2", "1"))
            .desired_capacity(fns::if_(any, "2", "1"))
            .vpc_zone_identifier(subnets)
            .launch_template(
                autoscaling::auto_scaling_group::LaunchTemplateSpecification::new(lt.latest_version_number())
                    .launch_template_id(lt.to_ref()),
            ),
        Attributes::new()
            .creation_policy(CreationPolicy::signals(1, IsoDuration::minutes(15)))
            .update_policy(UpdatePolicy::replacing_update(true)),
    );
    let param = t.add_with(
        "ReleaseNote",
        ssm::Parameter::new(
            ssm::parameter::Type::String,
            Sub::new("group ${Group} in ${AWS::Region}"),
        )
        .description(fns::if_(has_network, "with a network stack", pseudo::no_value())),
        Attributes::new().condition(not_prod),
    );
    let pipeline_role = t.add(
        "PipelineRole",
        iam::Role::new(
            PolicyDocument::new().statement(
                Statement::allow()
                    .service("codepipeline.amazonaws.com")
                    .actions(["sts:AssumeRole"]),
            ),
        ),
    );
    let source = CodeStarSource::new(connection, "acme/app", "main").action("AppSource", "AppSource");
    let deploy = CloudFormation::change_set_replace(
        Sub::new("${AWS::StackName}-service"),
        "Deploy",
        ArtifactPath::new("AppSource", "infra/cfn/service.yaml"),
    )
    .template_configuration(ArtifactPath::new(
        "AppSource",
        Sub::new("infra/cfn/${Stage}/service.json"),
    ))
    .parameter_overrides(
        ParameterOverrides::new()
            .get_param("ImageTag", GetParam::new("AppSource", "build.json", "tag"))
            .value("Stage", stage)
            .value("Literal", "${NotAVariable}"),
    )
    .capability(Capability::NamedIam)
    .role_arn(pipeline_role.arn())
    .action("CreateChangeSet", &["AppSource"]);
    let pipeline = t.add(
        "Pipeline",
        codepipeline::Pipeline::new(
            pipeline_role.arn(),
            vec![
                codepipeline::pipeline::StageDeclaration::new(vec![source], "Source"),
                codepipeline::pipeline::StageDeclaration::new(vec![deploy], "Deploy"),
            ],
        )
        .pipeline_type(codepipeline::pipeline::PipelineType::V2)
        .artifact_store(
            codepipeline::pipeline::ArtifactStore::new(
                bucket.to_ref(),
                codepipeline::pipeline::ArtifactStoreType::S3,
            )
            .encryption_key(codepipeline::pipeline::EncryptionKey::new(key.arn(), "KMS")),
        ),
    );

    t.add_output(
        "BucketName",
        Output::new(bucket.to_ref())
            .description("The bucket")
            .export(Sub::new("${AWS::StackName}-Bucket")),
    );
    t.add_output("PipelineName", Output::new(pipeline.to_ref()));
    t.add_output("ReleaseNoteName", Output::new(param.to_ref()).condition(not_prod));
    t.add_output(
        "GroupName",
        Output::new(fns::join(
            "/",
            vec![group.to_ref(), pseudo::stack_name(), pseudo::url_suffix()],
        )),
    );
    t.add_output(
        "Account",
        Output::new(Sub::new("${AWS::AccountId}/${AWS::StackId}/${Alias}").var("Alias", log_group.to_ref())),
    );
    t
}

#[test]
fn yaml_and_json_say_the_same_thing() {
    let t = kitchen_sink();
    let yaml = t.synth(Format::Yaml).unwrap_or_else(|e| panic!("{e}"));
    let json = t.synth(Format::Json).unwrap_or_else(|e| panic!("{e}"));
    assert!(yaml.warnings.is_empty(), "{:?}", yaml.warnings);
    let from_yaml = cfn::raw::parse_template(&yaml.body).unwrap_or_else(|e| panic!("{e}"));
    let from_json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(from_yaml, from_json);
    assert_eq!(from_json, yaml.to_json_value());
    // Short forms in YAML, long forms in JSON.
    assert!(yaml.body.starts_with("AWSTemplateFormatVersion: '2010-09-09'\n"));
    assert!(yaml.body.contains("!GetAtt Key.Arn"));
    assert!(yaml.body.contains("Fn::Base64: !Sub |\n"));
    assert!(json.body.contains("\"Fn::GetAtt\": [\n"));
}

#[test]
fn rendering_is_byte_identical() {
    for format in [Format::Yaml, Format::Json] {
        let a = kitchen_sink().synth(format).unwrap().body;
        let b = kitchen_sink().synth(format).unwrap().body;
        assert_eq!(a, b);
    }
}

#[test]
fn the_rendered_template_is_reviewed_as_a_snapshot() {
    let yaml = kitchen_sink().synth(Format::Yaml).unwrap().body;
    insta::assert_snapshot!("kitchen_sink.yaml", yaml);
}

#[test]
fn cfn_lint_finds_nothing_in_either_form() {
    let t = kitchen_sink();
    let (_dy, yaml) = test_support::temp_file("kitchen-sink.yaml", &t.synth(Format::Yaml).unwrap().body);
    let (_dj, json) = test_support::temp_file("kitchen-sink.json", &t.synth(Format::Json).unwrap().body);
    if let Err(report) = test_support::cfn_lint(&[&yaml, &json]) {
        panic!("{report}");
    }
}
