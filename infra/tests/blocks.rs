//! Each building block on its own: added to an empty template with just the inputs it takes, it
//! synthesizes, and its resources say what the block promises.

use cfn::fns::{Sub, equals};
use cfn::params::{CommaDelimitedList, Integer, SsmValue, Str, aws};
use cfn::{Format, Parameter, Template};
use infra::blocks::*;
use infra::naming::StageNames;
use pipeline_model::Stack;
use serde_json::{Value, json};

/// A condition for a block's input that the test does not look at.
fn placeholder_condition(t: &mut Template) -> cfn::Cond {
    let p = t.add_parameter("Arch", Parameter::<Str>::new());
    t.add_condition("OnArm", equals(p, "arm64"))
}

/// The template as long-form JSON, after cfn's own validation.
fn synth(t: &Template) -> Value {
    t.synth(Format::Json)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_json_value()
}

fn resource<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["Resources"]
        .get(id)
        .unwrap_or_else(|| panic!("no {id} in {}", v["Resources"]))
}

/// The logical IDs of the template's resources, sorted.
fn ids(v: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = v["Resources"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    ids.sort_unstable();
    ids
}

fn with_names() -> (Template, StageNames) {
    let mut t = Template::new();
    let n = StageNames::add(&mut t, "AppName", "StageName");
    (t, n)
}

fn load_balancer(t: &mut Template) -> LoadBalancer {
    let vpc = t.add_parameter("Vpc", Parameter::<aws::VpcId>::new());
    let subnets = t.add_parameter("Subnets", Parameter::<aws::SubnetIds>::new());
    let certificate = t.add_parameter("Certificate", Parameter::<Str>::new());
    let redirect = t.add_parameter("Redirect", Parameter::<Str>::new());
    let redirect_http = t.add_condition("RedirectHttp", equals(redirect, "true"));
    LoadBalancer::add(
        t,
        LoadBalancerProps {
            vpc,
            subnets,
            certificate,
            redirect_http,
            access_log_bucket: Sub::new("logs"),
        },
    )
}

#[test]
fn the_load_balancer_admits_its_targets_on_the_dynamic_ports_only() {
    let mut t = Template::new();
    load_balancer(&mut t);
    let v = synth(&t);
    assert_eq!(
        ids(&v),
        [
            "HttpRedirectListener",
            "HttpsListener",
            "InstanceSecurityGroup",
            "LoadBalancer",
            "LoadBalancerHttpIngress",
            "LoadBalancerSecurityGroup",
            "TargetGroup",
        ]
    );
    let ingress = &resource(&v, "InstanceSecurityGroup")["Properties"]["SecurityGroupIngress"];
    assert_eq!(ingress.as_array().unwrap().len(), 1);
    assert_eq!(ingress[0]["FromPort"], json!(DYNAMIC_PORTS.0));
    assert_eq!(ingress[0]["ToPort"], json!(DYNAMIC_PORTS.1));
    assert_eq!(
        ingress[0]["SourceSecurityGroupId"],
        json!({"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]})
    );
    let tg = &resource(&v, "TargetGroup")["Properties"];
    assert_eq!(
        tg["HealthCheckPort"], "traffic-port",
        "dynamic host ports are checked on the traffic port"
    );
    assert_eq!(
        tg["TargetType"], "instance",
        "bridge-mode tasks are instance targets"
    );
    let https = &resource(&v, "HttpsListener")["Properties"];
    assert_eq!(
        (https["Port"].clone(), https["SslPolicy"].clone()),
        (json!(443), json!(TLS_POLICY))
    );
    for id in ["LoadBalancerHttpIngress", "HttpRedirectListener"] {
        assert_eq!(
            resource(&v, id)["Condition"],
            "RedirectHttp",
            "{id} only with the redirect"
        );
    }
}

#[test]
fn container_instances_signal_their_group_and_wear_the_given_group() {
    let mut t = Template::new();
    let lb = load_balancer(&mut t);
    let n = StageNames::add(&mut t, "AppName", "StageName");
    let int = |t: &mut Template, id: &str| t.add_parameter(id, Parameter::<Integer>::new());
    let props = ContainerInstancesProps {
        names: n,
        subnets: t.add_parameter("InstanceSubnets", Parameter::<aws::SubnetIds>::new()),
        public_ip: {
            let p = t.add_parameter("PublicIp", Parameter::<Str>::new());
            t.add_condition("Public", equals(p, "true"))
        },
        security_group: lb.targets_security_group,
        image_id: t
            .add_parameter("Ami", Parameter::<SsmValue<aws::ImageId>>::new())
            .to_ref(),
        instance_type: t.add_parameter("InstanceType", Parameter::<Str>::new()),
        root_volume_gib: int(&mut t, "Volume"),
        min_size: int(&mut t, "Min"),
        max_size: int(&mut t, "Max"),
    };
    ContainerInstances::add(&mut t, props);
    let v = synth(&t);
    let data = &resource(&v, "LaunchTemplate")["Properties"]["LaunchTemplateData"];
    assert_eq!(data["MetadataOptions"]["HttpTokens"], "required", "IMDSv2 only");
    let ebs = &data["BlockDeviceMappings"][0]["Ebs"];
    assert_eq!(
        (ebs["VolumeType"].clone(), ebs["Encrypted"].clone()),
        (json!("gp3"), json!(true))
    );
    let group_id = json!({"Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"]});
    assert_eq!(data["SecurityGroupIds"]["Fn::If"][2], json!([group_id]));
    assert_eq!(
        data["NetworkInterfaces"]["Fn::If"][1][0]["Groups"],
        json!([group_id])
    );
    let user_data = data["UserData"]["Fn::Base64"]["Fn::Sub"].to_string();
    assert!(user_data.contains("cfn-signal --success"), "{user_data}");
    assert!(
        user_data.contains("--resource AutoScalingGroup "),
        "signals its own group: {user_data}"
    );
    let group = resource(&v, "AutoScalingGroup");
    assert_eq!(
        group["CreationPolicy"]["ResourceSignal"]["Count"],
        json!({"Ref": "Min"})
    );
    assert_eq!(
        group["Properties"]["VPCZoneIdentifier"],
        json!({"Ref": "InstanceSubnets"})
    );
}

#[test]
fn the_service_runs_bridge_tasks_on_dynamic_ports_behind_the_listener() {
    let (mut t, n) = with_names();
    let lb = load_balancer(&mut t);
    let cluster = t.add("Cluster", cfn::resources::ecs::Cluster::new());
    let capacity_provider = t.add("CapacityProvider", cfn::resources::ecs::CapacityProvider::new());
    let capacity_provider_association = t.add(
        "Association",
        cfn::resources::ecs::ClusterCapacityProviderAssociations::new(
            cluster.to_ref(),
            vec![
                cfn::resources::ecs::cluster_capacity_provider_associations::CapacityProviderStrategy::new(
                    capacity_provider.to_ref(),
                ),
            ],
        ),
    );
    let int = |t: &mut Template, id: &str| t.add_parameter(id, Parameter::<Integer>::new());
    let props = EcsServiceProps {
        names: n,
        cluster,
        capacity_provider,
        capacity_provider_association,
        target_group: lb.target_group,
        listener: lb.https_listener,
        image_tag: t.add_parameter("Tag", Parameter::<Str>::new()),
        load_balancer: lb.alb,
        min_count: int(&mut t, "MinCount"),
        max_count: int(&mut t, "MaxCount"),
        target_cpu_percent: int(&mut t, "CpuPercent"),
        target_requests_per_target: int(&mut t, "Requests"),
        rollback_5xx_per_minute: int(&mut t, "Errors"),
        exec: {
            let p = t.add_parameter("Exec", Parameter::<Str>::new());
            t.add_condition("ExecEnabled", equals(p, "true"))
        },
        cpu: int(&mut t, "Cpu"),
        memory: int(&mut t, "Memory"),
        time_zone: t.add_parameter("Tz", Parameter::<Str>::new()),
        log_retention_days: int(&mut t, "Retention"),
        health_check_grace_seconds: int(&mut t, "Grace"),
    };
    EcsService::add(&mut t, props);
    let v = synth(&t);
    let task = &resource(&v, "TaskDefinition")["Properties"];
    assert_eq!(task["NetworkMode"], "bridge");
    let container = &task["ContainerDefinitions"][0];
    assert_eq!(container["PortMappings"][0]["HostPort"], json!(0));
    assert_eq!(container["StopTimeout"], json!(STOP_TIMEOUT_SECONDS));
    let secrets = container["Secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), pipeline_model::secrets::runtime().count());
    for s in secrets {
        assert!(
            s["ValueFrom"]["Fn::Sub"].to_string().contains(":parameter/"),
            "by ARN, never a value: {s}"
        );
    }
    let service = resource(&v, "Service");
    assert_eq!(service["DependsOn"], json!(["HttpsListener", "Association"]));
    let fields: Vec<&Value> = service["Properties"]["PlacementStrategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["Field"])
        .collect();
    assert_eq!(
        fields,
        [&json!("attribute:ecs.availability-zone"), &json!("instanceId")]
    );
    let deployment = &service["Properties"]["DeploymentConfiguration"];
    assert_eq!(
        deployment["MinimumHealthyPercent"],
        json!(MINIMUM_HEALTHY_PERCENT)
    );
    assert_eq!(
        deployment["DeploymentCircuitBreaker"],
        json!({"Enable": true, "Rollback": true})
    );
}

#[test]
fn the_stage_key_is_administered_by_the_account() {
    let (mut t, n) = with_names();
    let role = t.add(
        "BuildRole",
        cfn::resources::iam::Role::new(cfn::policy::PolicyDocument::new()),
    );
    let key = StageKey::add(
        &mut t,
        StageKeyProps {
            names: n,
            build_role: role,
        },
    );
    let v = synth(&t);
    assert_eq!(ids(&v), ["BuildRole", "Key", "KeyAlias"]);
    let policy = &resource(&v, "Key")["Properties"]["KeyPolicy"]["Statement"];
    assert_eq!(policy[0]["Sid"], "AccountAdministersKey");
    assert_eq!(policy[0]["Action"], "kms:*");
    assert_eq!(resource(&v, "Key")["DeletionPolicy"], "Retain");
    assert_eq!(
        resource(&v, "KeyAlias")["Properties"]["TargetKeyId"],
        json!({"Ref": t.logical_id(key.key).unwrap()})
    );
}

#[test]
fn the_buckets_take_tls_only_and_the_log_bucket_takes_the_artifact_logs() {
    let (mut t, n) = with_names();
    let key = t.add("Key", cfn::resources::kms::Key::new());
    let logs = LogBucket::add(&mut t, n);
    let days = t.add_parameter("Days", Parameter::<Integer>::new());
    let store = ArtifactStore::add(&mut t, key, &logs, days);
    logs.allow_deliveries(&mut t, &store);
    let v = synth(&t);
    assert_eq!(
        ids(&v),
        [
            "ArtifactBucket",
            "ArtifactBucketPolicy",
            "Key",
            "LogBucket",
            "LogBucketPolicy"
        ]
    );
    for policy in ["ArtifactBucketPolicy", "LogBucketPolicy"] {
        let first = &resource(&v, policy)["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(first["Sid"], "TlsOnly", "{policy}");
        assert_eq!(first["Effect"], "Deny", "{policy}");
    }
    let logs_policy = resource(&v, "LogBucketPolicy").to_string();
    assert!(
        logs_policy.contains("\"aws:SourceArn\":{\"Fn::GetAtt\":[\"ArtifactBucket\",\"Arn\"]}"),
        "{logs_policy}"
    );
    let encryption = &resource(&v, "ArtifactBucket")["Properties"]["BucketEncryption"];
    assert!(encryption.to_string().contains("aws:kms"), "{encryption}");
    // Current artifacts expire after the stage's days, not only old versions.
    let rules = resource(&v, "ArtifactBucket")["Properties"]["LifecycleConfiguration"]["Rules"].to_string();
    assert!(rules.contains(r#""ExpirationInDays":{"Ref":"Days"}"#), "{rules}");
}

#[test]
fn the_repository_keeps_tags_immutable() {
    let (mut t, n) = with_names();
    let key = t.add("Key", cfn::resources::kms::Key::new());
    ImageRepository::add(&mut t, n, key);
    let v = synth(&t);
    let repo = &resource(&v, "Repository")["Properties"];
    assert_eq!(repo["ImageTagMutability"], "IMMUTABLE");
    let policy: Value =
        serde_json::from_str(repo["LifecyclePolicy"]["LifecyclePolicyText"].as_str().unwrap()).unwrap();
    let rules = policy["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{policy}");
    // The build's dependency images first (a few of them, apart from the app's images): an image
    // a rule selects is never expired by a later rule, so a run of app builds keeps them.
    let (deps, any) = (&rules[0], &rules[1]);
    assert!(
        deps["rulePriority"].as_u64().unwrap() < any["rulePriority"].as_u64().unwrap(),
        "{policy}"
    );
    assert_eq!(
        deps["selection"],
        json!({
            "tagStatus": "tagged",
            "tagPrefixList": [pipeline_model::image::DEPENDENCY_TAG_PREFIX],
            "countType": "imageCountMoreThan",
            "countNumber": ImageRepository::DEPENDENCY_IMAGES_KEPT,
        })
    );
    // Then every image: the `any` rule must be the last.
    assert_eq!(
        any["selection"],
        json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": IMAGES_KEPT})
    );
    for rule in rules {
        assert_eq!(rule["action"], json!({"type": "expire"}));
    }
}

/// The delivery pipeline block on its own, with each condition a parameter of its own.
fn delivery_pipeline() -> Value {
    let (mut t, n) = with_names();
    let role = |t: &mut Template, id: &str| {
        t.add(
            id,
            cfn::resources::iam::Role::new(cfn::policy::PolicyDocument::new()),
        )
    };
    let (pipeline_role, build_role, deploy_role) = (
        role(&mut t, "PipelineRole"),
        role(&mut t, "BuildRole"),
        role(&mut t, "DeployRole"),
    );
    let key = t.add("Key", cfn::resources::kms::Key::new());
    let logs = LogBucket::add(&mut t, n);
    let days = t.add_parameter("Days", Parameter::<Integer>::new());
    let artifacts = ArtifactStore::add(&mut t, key, &logs, days);
    let repository = ImageRepository::add(&mut t, n, key);
    let on_arm = placeholder_condition(&mut t);
    let build = BuildProject::add(
        &mut t,
        BuildProjectProps {
            names: n,
            role: build_role,
            key,
            artifacts: &artifacts,
            repository: repository.repository,
            on_arm,
        },
    );
    let summary = ChangeSetSummary::add(
        &mut t,
        ChangeSetSummaryProps {
            names: n,
            artifacts: &artifacts,
            log_group: build.log_group,
        },
    );
    let str_param = |t: &mut Template, id: &str| t.add_parameter(id, Parameter::<Str>::new());
    let condition = |t: &mut Template, id: &str| {
        let p = str_param(t, &format!("{id}Param"));
        t.add_condition(id, equals(p, "true"))
    };
    let connection = str_param(&mut t, "Connection");
    let source = |t: &mut Template, prefix: &str| GitSource {
        repository: str_param(t, &format!("{prefix}Repo")),
        branch: str_param(t, &format!("{prefix}Branch")),
        paths: t.add_parameter(&format!("{prefix}Paths"), Parameter::<CommaDelimitedList>::new()),
        filtered: condition(t, &format!("{prefix}Filtered")),
    };
    let sources = Sources {
        app: source(&mut t, "App"),
        infra: source(&mut t, "Infra"),
        connection,
    };
    let approval = Approval {
        required: condition(&mut t, "Required"),
        emails: vec![
            (str_param(&mut t, "Email1"), condition(&mut t, "Email1Set")),
            (str_param(&mut t, "Email2"), condition(&mut t, "Email2Set")),
        ],
    };
    let deploy_closed = condition(&mut t, "Closed");
    DeliveryPipeline::add(
        &mut t,
        DeliveryPipelineProps {
            names: n,
            role: pipeline_role,
            deploy_role,
            key,
            artifacts: &artifacts,
            build: build.project,
            summary,
            sources,
            approval,
            deploy_closed,
            template_extension: "yaml",
        },
    );
    synth(&t)
}

/// The deploy stage's actions, each with the condition it is added under (`None`: always).
fn deploy_actions(v: &Value) -> Vec<(Option<String>, Value)> {
    let stages = resource(v, "Pipeline")["Properties"]["Stages"]
        .as_array()
        .unwrap();
    let deploy = stages.iter().find(|s| s["Name"] == DEPLOY_STAGE).unwrap();
    deploy["Actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| match a.get("Fn::If") {
            Some(branches) => {
                assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}), "{a}");
                (
                    Some(branches[0].as_str().unwrap().to_owned()),
                    branches[1].clone(),
                )
            }
            None => (None, a.clone()),
        })
        .collect()
}

#[test]
fn the_pipeline_reads_the_tag_from_the_build_and_deploys_the_service_stack() {
    let v = delivery_pipeline();
    let stages = resource(&v, "Pipeline")["Properties"]["Stages"]
        .as_array()
        .unwrap()
        .clone();
    let names: Vec<&str> = stages.iter().map(|s| s["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Source", "Build", DEPLOY_STAGE]);
    let deploy = stages[2]["Actions"].to_string();
    assert!(
        deploy.contains(r#"{\"ImageTag\": {\"Fn::GetParam\": [\"Build\", \"build.json\", \"tag\"]}}"#),
        "{deploy}"
    );
    assert!(
        deploy.contains("CHANGE_SET_REPLACE") && deploy.contains("CHANGE_SET_EXECUTE"),
        "{deploy}"
    );
    assert!(
        deploy.contains(&pipeline_model::infra_layout::template_path(
            Stack::Service,
            "yaml"
        )),
        "{deploy}"
    );
    assert_eq!(resource(&v, "BuildProject")["DependsOn"], "BuildPolicy");
    assert_eq!(resource(&v, "Pipeline")["DependsOn"], "PipelinePolicy");
}

#[test]
fn the_approver_approves_the_change_set_after_it_exists_and_sees_its_summary() {
    let v = delivery_pipeline();
    let actions = deploy_actions(&v);
    let by_order: Vec<(Option<&str>, &str, u64)> = actions
        .iter()
        .map(|(cond, a)| {
            (
                cond.as_deref(),
                a["Name"].as_str().unwrap(),
                a["RunOrder"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_order,
        [
            (None, "CreateChangeSet", u64::from(CREATE_ORDER)),
            (Some("Required"), "SummarizeChangeSet", u64::from(SUMMARY_ORDER)),
            (Some("Required"), "Approve", u64::from(APPROVE_ORDER)),
            (None, "ExecuteChangeSet", u64::from(EXECUTE_ORDER)),
        ]
    );
    assert!(
        by_order.windows(2).all(|w| w[0].2 < w[1].2),
        "each action waits for the one before: {by_order:?}"
    );

    // The summary build reads the change set the first action created, and exports its variables
    // under the namespace the approval reads.
    let summarize = &actions[1].1;
    assert_eq!(summarize["ActionTypeId"]["Provider"], "CodeBuild");
    assert_eq!(summarize["Namespace"], "ChangeSet");
    let create = &actions[0].1["Configuration"];
    let env = summarize["Configuration"]["EnvironmentVariables"].to_string();
    for (var, value) in [
        ("STACK", &create["StackName"]),
        ("CHANGE_SET", &create["ChangeSetName"]),
    ] {
        assert!(
            env.contains(&format!("\\\"name\\\": \\\"{var}\\\"")),
            "{var} in {env}"
        );
        let value = value.to_string();
        let inner = value
            .trim_start_matches("{\"Fn::Sub\":\"")
            .trim_end_matches("\"}");
        assert!(env.contains(inner), "{var} = {inner} in {env}");
    }
    assert_eq!(
        summarize["Configuration"]["ProjectName"],
        json!({"Ref": "ChangeSetSummaryProject"})
    );
    // What CodeBuild exports: the buildspec's `env.exported-variables`, read back from its YAML.
    let spec: Value = serde_norway::from_str(&change_set_summary::buildspec()).unwrap();
    let exported: Vec<&str> = spec["env"]["exported-variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let approve = &actions[2].1;
    assert_eq!(approve["ActionTypeId"]["Category"], "Approval");
    let custom = approve["Configuration"]["CustomData"].as_str().unwrap();
    let link = approve["Configuration"]["ExternalEntityLink"].as_str().unwrap();
    assert!(custom.contains("#{ChangeSet.SUMMARY}"), "{custom}");
    assert_eq!(link, "#{ChangeSet.LINK}");
    for var in ["SUMMARY", "LINK"] {
        assert!(
            exported.contains(&var),
            "{var} exported by the summary: {exported:?}"
        );
    }
    // Approvals are announced on a topic encrypted with the stage key, to the stage's subscribers.
    assert_eq!(
        approve["Configuration"]["NotificationArn"],
        json!({"Ref": "ApprovalsTopic"})
    );
    let topic = resource(&v, "ApprovalsTopic");
    assert_eq!(topic["Condition"], "Required");
    assert_eq!(
        topic["Properties"]["KmsMasterKeyId"],
        json!({"Fn::GetAtt": ["Key", "Arn"]})
    );
    for (i, cond) in [(1, "Email1Set"), (2, "Email2Set")] {
        let sub = resource(&v, &format!("ApprovalSubscription{i}"));
        assert_eq!(sub["Condition"], cond);
        assert_eq!(sub["Properties"]["Protocol"], "email");
        assert_eq!(sub["Properties"]["Endpoint"], json!({"Ref": format!("Email{i}")}));
        assert_eq!(sub["Properties"]["TopicArn"], json!({"Ref": "ApprovalsTopic"}));
    }
    assert_eq!(
        topic["Properties"]["TopicName"],
        json!({"Fn::Sub": "${AppName}-${StageName}-approvals"})
    );
    let policy = resource(&v, "PipelinePolicy").to_string();
    assert!(
        policy.contains(r#"{"Action":"sns:Publish","Effect":"Allow","Resource":{"Fn::Sub":"arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${AppName}-${StageName}-approvals"}"#),
        "the pipeline may publish to the topic, by its name: {policy}"
    );
}

#[test]
fn the_deploy_stage_is_closed_until_the_stage_is_ready() {
    let v = delivery_pipeline();
    let transitions = &resource(&v, "Pipeline")["Properties"]["DisableInboundStageTransitions"];
    let branches = &transitions["Fn::If"];
    assert_eq!(branches[0], "Closed", "{transitions}");
    assert_eq!(branches[1][0]["StageName"], DEPLOY_STAGE);
    assert!(
        branches[1][0]["Reason"]
            .as_str()
            .unwrap()
            .contains("cargo xtask deploy pipeline")
    );
    assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}));
}

#[test]
fn the_deploy_policy_passes_roles_only_to_ec2_and_ecs_tasks() {
    let (mut t, n) = with_names();
    let role = t.add(
        "DeployRole",
        cfn::resources::iam::Role::new(cfn::policy::PolicyDocument::new()),
    );
    let key = t.add("Key", cfn::resources::kms::Key::new());
    let repo = ImageRepository::add(&mut t, n, key);
    let exec = TaskExecutionPolicy::add(&mut t, n, key, repo.repository);
    let instance_policy = InstancePolicy::add(&mut t, n).policy;
    let exec_policy = ExecPolicy::add(&mut t, n).policy;
    ServiceDeployPolicy::add(
        &mut t,
        ServiceDeployPolicyProps {
            names: n,
            role,
            task_execution_policy: exec.policy,
            instance_policy,
            exec_policy,
        },
    );
    let v = synth(&t);
    let statements = resource(&v, "DeployPolicy")["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let pass = statements
        .iter()
        .find(|s| s["Sid"] == "PassServiceRoles")
        .unwrap();
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        json!(["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"])
    );
    let exec_policy = resource(&v, "TaskExecutionPolicy").to_string();
    for s in pipeline_model::secrets::runtime() {
        assert!(
            exec_policy.contains(&format!("/{}", s.name)),
            "{} readable: {exec_policy}",
            s.name
        );
    }
}

#[test]
fn each_bound_is_the_one_the_stage_file_and_the_template_parameter_hold_to() {
    use infra::bounds;
    use pipeline_model::service_params as sp;
    let v = synth(&infra::service::template());
    for (parameter, bound) in [
        (sp::ROOT_VOLUME_SIZE, bounds::ROOT_VOLUME_GIB),
        (sp::MIN_SIZE, bounds::INSTANCES_MIN),
        (sp::MAX_SIZE, bounds::INSTANCES_MAX),
        (sp::MIN_COUNT, bounds::MIN_COUNT),
        (sp::MAX_COUNT, bounds::MAX_COUNT),
        (sp::TARGET_CPU_PERCENT, bounds::TARGET_CPU_PERCENT),
        (sp::TARGET_REQUESTS_PER_TARGET, bounds::TARGET_REQUESTS_PER_TARGET),
        (sp::ROLLBACK_5XX_PER_MINUTE, bounds::ROLLBACK_5XX_PER_MINUTE),
        (sp::TASK_CPU, bounds::TASK_CPU),
        (sp::TASK_MEMORY, bounds::TASK_MEMORY),
        (sp::HEALTH_CHECK_GRACE_SECONDS, bounds::HEALTH_CHECK_GRACE_SECONDS),
    ] {
        let p = &v["Parameters"][parameter];
        assert_eq!(
            (p["MinValue"].as_f64(), p["MaxValue"].as_f64()),
            (Some(f64::from(bound.min)), Some(f64::from(bound.max))),
            "{parameter}"
        );
        assert!(bound.check(bound.min).is_ok() && bound.check(bound.max).is_ok());
        assert!(bound.check(bound.max + 1).is_err(), "{parameter}");
    }
}
