//! Each point the seed article made, asserted on the synthesized templates.

use cfn::Format;
use pipeline_model::{Stack, artifacts, build_output, container, service_params};
use serde_json::{Value, json};

fn template(stack: Stack) -> Value {
    let t = infra::template(stack, Format::Yaml);
    let s = t.synth(Format::Yaml).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    s.to_json_value()
}

fn resource<'a>(t: &'a Value, id: &str) -> &'a Value {
    let r = &t["Resources"][id];
    assert!(r.is_object(), "no resource {id}");
    r
}

#[test]
fn instances_admit_only_the_load_balancer_on_the_dynamic_port_range() {
    let t = template(Stack::Service);
    let ingress = resource(&t, "InstanceSecurityGroup")["Properties"]["SecurityGroupIngress"]
        .as_array()
        .unwrap();
    assert_eq!(ingress.len(), 1, "{ingress:#?}");
    let rule = &ingress[0];
    assert_eq!(
        rule["SourceSecurityGroupId"],
        json!({"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]})
    );
    assert_eq!(
        (rule["FromPort"].as_i64(), rule["ToPort"].as_i64()),
        (Some(32768), Some(65535))
    );
    assert!(rule.get("CidrIp").is_none() && rule.get("CidrIpv6").is_none());

    let alb_ingress = resource(&t, "LoadBalancerSecurityGroup")["Properties"]["SecurityGroupIngress"]
        .as_array()
        .unwrap();
    assert_eq!(alb_ingress[0]["CidrIp"], "0.0.0.0/0");
    assert_eq!(
        (
            alb_ingress[0]["FromPort"].as_i64(),
            alb_ingress[0]["ToPort"].as_i64()
        ),
        (Some(443), Some(443))
    );
    assert_eq!(alb_ingress.len(), 1);
    // Port 80 only with the redirect.
    let http = resource(&t, "LoadBalancerHttpIngress");
    assert_eq!(http["Condition"], "RedirectHttp");
    assert_eq!(http["Properties"]["FromPort"], 80);
    assert_eq!(
        http["Properties"]["GroupId"],
        json!({"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]})
    );
    assert_eq!(resource(&t, "HttpRedirectListener")["Condition"], "RedirectHttp");
}

#[test]
fn tasks_use_bridge_mode_and_dynamic_host_ports_checked_on_the_traffic_port() {
    let t = template(Stack::Service);
    let task = &resource(&t, "TaskDefinition")["Properties"];
    assert_eq!(task["NetworkMode"], "bridge");
    let c = &task["ContainerDefinitions"][0];
    assert_eq!(c["Name"], container::NAME);
    assert_eq!(
        c["PortMappings"],
        json!([{"ContainerPort": container::PORT, "HostPort": 0, "Protocol": "tcp"}])
    );
    assert_eq!(
        c["Ulimits"],
        json!([{"HardLimit": 65535, "Name": "nofile", "SoftLimit": 65535}])
    );
    assert_eq!(c["Memory"], json!({"Ref": service_params::TASK_MEMORY}));
    let tg = &resource(&t, "TargetGroup")["Properties"];
    assert_eq!(tg["HealthCheckPort"], "traffic-port");
    assert_eq!(tg["HealthCheckPath"], container::HEALTH_CHECK_PATH);
    assert_eq!(tg["TargetType"], "instance");
}

#[test]
fn the_service_is_spread_over_zones_and_instances_behind_the_listener() {
    let t = template(Stack::Service);
    let service = resource(&t, "Service");
    assert_eq!(
        service["Properties"]["PlacementStrategies"],
        json!([
            {"Field": "attribute:ecs.availability-zone", "Type": "spread"},
            {"Field": "instanceId", "Type": "spread"},
        ])
    );
    assert_eq!(service["DependsOn"][0], "HttpsListener");
    assert_eq!(
        service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"],
        json!({"Enable": true, "Rollback": true})
    );
    let lb = &service["Properties"]["LoadBalancers"][0];
    assert_eq!(
        (lb["ContainerName"].as_str(), lb["ContainerPort"].as_i64()),
        (Some(container::NAME), Some(8080))
    );
}

#[test]
fn the_root_volume_type_is_explicit() {
    let t = template(Stack::Service);
    let data = &resource(&t, "LaunchTemplate")["Properties"]["LaunchTemplateData"];
    let ebs = &data["BlockDeviceMappings"][0]["Ebs"];
    assert_eq!(ebs["VolumeType"], "gp3");
    assert_eq!(ebs["Encrypted"], true);
    assert_eq!(data["MetadataOptions"]["HttpTokens"], "required");
    // Launch templates, not the retired launch configurations.
    let types: Vec<&str> = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    assert!(!types.contains(&"AWS::AutoScaling::LaunchConfiguration"));
}

#[test]
fn instances_signal_the_group_whose_creation_and_update_policies_wait_for_them() {
    let t = template(Stack::Service);
    let user_data = &resource(&t, "LaunchTemplate")["Properties"]["LaunchTemplateData"]["UserData"];
    let script = user_data["Fn::Base64"]["Fn::Sub"]
        .as_str()
        .expect("UserData is Base64 of a Sub");
    assert!(script.contains("ECS_CLUSTER=${Cluster}"), "{script}");
    assert!(
        script.contains(
            "cfn-signal --success \"$success\" --id \"$id\" --stack ${AWS::StackName} --resource AutoScalingGroup "
        ),
        "{script}"
    );
    // Any failing step signals failure at once, with its reason, instead of timing out.
    assert!(
        script.starts_with("#!/bin/bash\nset -Eeuo pipefail\n"),
        "{script}"
    );
    assert!(script.contains("trap 'berth_signal FAILURE"), "{script}");
    // Not inside UserData (the agent starts after cloud-init): a separate unit waits and signals.
    assert!(
        script.contains("systemd-run --unit berth-ready --no-block"),
        "{script}"
    );
    let group = resource(&t, "AutoScalingGroup");
    let min = json!({"Ref": service_params::MIN_SIZE});
    assert_eq!(
        group["CreationPolicy"],
        json!({"ResourceSignal": {"Count": min, "Timeout": "PT15M"}})
    );
    // The seed's WillReplace is gone: one instance at a time, each new one gated by its signal.
    let rolling = &group["UpdatePolicy"]["AutoScalingRollingUpdate"];
    assert_eq!(rolling["WaitOnResourceSignals"], json!(true));
    assert_eq!(rolling["MaxBatchSize"], json!(1));
    assert_eq!(rolling["MinInstancesInService"], min);
    assert!(group["UpdatePolicy"].get("AutoScalingReplacingUpdate").is_none());
    // ECS sizes the group; a template value would be put back by every update.
    assert!(group["Properties"].get("DesiredCapacity").is_none());
    assert_eq!(
        group["Properties"]["NewInstancesProtectedFromScaleIn"],
        json!(true)
    );
}

#[test]
fn a_capacity_provider_scales_protects_and_drains_the_instances_and_places_the_tasks() {
    let t = template(Stack::Service);
    let provider = &resource(&t, "CapacityProvider")["Properties"]["AutoScalingGroupProvider"];
    assert_eq!(
        provider["AutoScalingGroupArn"],
        json!({"Ref": "AutoScalingGroup"})
    );
    assert_eq!(provider["ManagedDraining"], "ENABLED");
    assert_eq!(provider["ManagedTerminationProtection"], "ENABLED");
    assert_eq!(provider["ManagedScaling"]["Status"], "ENABLED");
    let association = &resource(&t, "CapacityProviderAssociation")["Properties"];
    assert_eq!(association["Cluster"], json!({"Ref": "Cluster"}));
    assert_eq!(
        association["DefaultCapacityProviderStrategy"][0]["CapacityProvider"],
        json!({"Ref": "CapacityProvider"})
    );
    let service = resource(&t, "Service");
    assert!(
        service["Properties"].get("LaunchType").is_none(),
        "placed through the capacity provider"
    );
    assert_eq!(
        service["Properties"]["CapacityProviderStrategy"][0]["CapacityProvider"],
        json!({"Ref": "CapacityProvider"})
    );
    assert_eq!(
        service["DependsOn"],
        json!(["HttpsListener", "CapacityProviderAssociation"])
    );
}

#[test]
fn the_load_balancer_and_the_instances_have_their_own_subnets() {
    let t = template(Stack::Service);
    assert_eq!(
        resource(&t, "LoadBalancer")["Properties"]["Subnets"],
        json!({"Ref": service_params::LOAD_BALANCER_SUBNET_IDS})
    );
    assert_eq!(
        resource(&t, "AutoScalingGroup")["Properties"]["VPCZoneIdentifier"],
        json!({"Ref": service_params::INSTANCE_SUBNET_IDS})
    );
    // The AMI is the pinned one unless the stage opts into a parameter.
    let data = &resource(&t, "LaunchTemplate")["Properties"]["LaunchTemplateData"];
    assert_eq!(
        data["ImageId"],
        json!({"Fn::If": ["AmiFromParameter", {"Ref": service_params::AMI_PARAMETER}, {"Ref": service_params::IMAGE_ID}]})
    );
    assert_eq!(t["Parameters"][service_params::IMAGE_ID]["Type"], "String");
    assert_eq!(data["NetworkInterfaces"]["Fn::If"][0], "PublicInstances");
}

fn stage_actions<'a>(t: &'a Value, stage: &str) -> &'a Vec<Value> {
    let stages = resource(t, "Pipeline")["Properties"]["Stages"]
        .as_array()
        .unwrap();
    stages
        .iter()
        .find(|s| s["Name"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage}"))["Actions"]
        .as_array()
        .unwrap()
}

/// An action, looking through the `Fn::If` that makes it optional or chooses its provider.
fn action<'a>(actions: &'a [Value], name: &str) -> &'a Value {
    actions
        .iter()
        .map(|a| {
            if a.get("Fn::If").is_some() {
                &a["Fn::If"][1]
            } else {
                a
            }
        })
        .find(|a| a["Name"] == name)
        .unwrap_or_else(|| panic!("no action {name}"))
}

#[test]
fn two_sources_feed_the_pipeline() {
    let t = template(Stack::Pipeline);
    let source = stage_actions(&t, "Source");
    assert_eq!(source.len(), 2);
    for name in [artifacts::APP_SOURCE, artifacts::INFRA_SOURCE] {
        let a = action(source, name);
        assert_eq!(a["ActionTypeId"]["Provider"], "CodeStarSourceConnection");
        assert_eq!(a["OutputArtifacts"], json!([{"Name": name}]));
        assert_eq!(
            a["Configuration"]["ConnectionArn"],
            json!({"Ref": "ConnectionArn"})
        );
    }
    // Both always on the connection: the 2017 GitHub (OAuth) source, which never started without a
    // webhook, is gone.
    assert!(source.iter().all(|a| a.get("Fn::If").is_none()), "{source:?}");
    assert!(!t.to_string().contains("OAuthToken"));
    assert_eq!(resource(&t, "Pipeline")["Properties"]["PipelineType"], "V2");
}

#[test]
fn the_deploy_stage_replaces_then_executes_a_change_set_with_the_built_tag() {
    let t = template(Stack::Pipeline);
    let deploy = stage_actions(&t, "Deploy");
    let replace = action(deploy, "CreateChangeSet");
    let execute = action(deploy, "ExecuteChangeSet");
    let c = &replace["Configuration"];
    assert_eq!(c["ActionMode"], "CHANGE_SET_REPLACE");
    assert_eq!(
        c["TemplatePath"],
        format!("{}::infra/cfn/service.yaml", artifacts::INFRA_SOURCE)
    );
    assert_eq!(
        c["TemplateConfiguration"],
        json!({"Fn::Sub": format!("{}::infra/cfn/${{StageName}}/service.json", artifacts::INFRA_SOURCE)})
    );
    assert_eq!(c["Capabilities"], "CAPABILITY_NAMED_IAM");
    assert_eq!(c["RoleArn"], json!({"Fn::GetAtt": ["DeployRole", "Arn"]}));
    let overrides: Value = serde_json::from_str(c["ParameterOverrides"].as_str().unwrap()).unwrap();
    assert_eq!(
        overrides,
        json!({service_params::IMAGE_TAG: {"Fn::GetParam": [artifacts::BUILD, build_output::FILE_NAME, build_output::TAG_KEY]}})
    );
    let inputs: Vec<&str> = replace["InputArtifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, [artifacts::INFRA_SOURCE, artifacts::BUILD]);
    assert_eq!(execute["Configuration"]["ActionMode"], "CHANGE_SET_EXECUTE");
    assert_eq!(execute["Configuration"]["ChangeSetName"], c["ChangeSetName"]);
    assert_eq!(execute["Configuration"]["StackName"], c["StackName"]);
    assert!(replace["RunOrder"].as_i64() < execute["RunOrder"].as_i64());
    // The optional approval comes after the change set exists and before it is executed.
    let approve = deploy
        .iter()
        .find(|a| a["Fn::If"][1]["Name"] == "Approve")
        .map(|a| &a["Fn::If"])
        .expect("an optional approval");
    assert_eq!(approve[0], "RequireApproval");
    assert!(replace["RunOrder"].as_i64() < approve[1]["RunOrder"].as_i64());
    assert!(approve[1]["RunOrder"].as_i64() < execute["RunOrder"].as_i64());
}

#[test]
fn the_key_keeps_the_account_as_administrator_and_lets_the_build_decrypt() {
    let t = template(Stack::Pipeline);
    let key = resource(&t, "Key");
    let statements = key["Properties"]["KeyPolicy"]["Statement"].as_array().unwrap();
    let admin = statements
        .iter()
        .find(|s| s["Sid"] == "AccountAdministersKey")
        .unwrap();
    assert_eq!(
        admin["Principal"]["AWS"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"})
    );
    assert_eq!(admin["Action"], "kms:*");
    let build = statements
        .iter()
        .find(|s| s["Sid"] == "BuildDecryptsSecrets")
        .unwrap();
    assert_eq!(
        build["Principal"]["AWS"],
        json!({"Fn::GetAtt": ["BuildRole", "Arn"]})
    );
    assert_eq!(build["Action"], json!(["kms:Decrypt", "kms:DescribeKey"]));
    let tasks = statements
        .iter()
        .find(|s| s["Sid"] == "TasksDecryptSecrets")
        .unwrap();
    assert_eq!(
        tasks["Condition"]["ArnEquals"]["aws:PrincipalArn"]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppName}-${StageName}-svc-task-execution"
    );
    // CloudWatch Logs, for the build's log group only.
    let logs = statements
        .iter()
        .find(|s| s["Sid"] == "LogsEncryptBuildLogs")
        .unwrap();
    assert_eq!(
        logs["Principal"]["Service"],
        json!({"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"})
    );
    assert_eq!(
        logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"],
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/codebuild/${AppName}-${StageName}"
    );
    // Nobody else, and no wildcard principal.
    assert_eq!(statements.len(), 4);
    assert!(statements.iter().all(|s| s["Principal"] != "*"));
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    assert_eq!(key["DeletionPolicy"], "Retain");
}

#[test]
fn stored_things_are_kept_and_locked_down() {
    let t = template(Stack::Pipeline);
    for id in ["ArtifactBucket", "Repository", "Key"] {
        assert_eq!(resource(&t, id)["DeletionPolicy"], "Retain", "{id}");
    }
    let bucket = &resource(&t, "ArtifactBucket")["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(
        bucket["PublicAccessBlockConfiguration"],
        json!({"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true})
    );
    let sse =
        &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
    assert_eq!(sse["KMSMasterKeyID"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
    let policy = &resource(&t, "ArtifactBucketPolicy")["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(policy["Effect"], "Deny");
    assert_eq!(
        policy["Condition"],
        json!({"Bool": {"aws:SecureTransport": "false"}})
    );
    let repo = &resource(&t, "Repository")["Properties"];
    assert_eq!(repo["ImageTagMutability"], "IMMUTABLE");
    assert_eq!(repo["ImageScanningConfiguration"]["ScanOnPush"], true);
}

#[test]
fn no_policy_grants_every_action() {
    // Which actions may take `Resource: "*"` is judged against the Service Authorization Reference in
    // xtask/tests/permissions.rs.
    for stack in Stack::ALL {
        let t = template(stack);
        for (id, r) in t["Resources"].as_object().unwrap() {
            let docs: Vec<&Value> = match r["Type"].as_str().unwrap() {
                "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => vec![&r["Properties"]["PolicyDocument"]],
                _ => continue,
            };
            for doc in docs {
                for s in doc["Statement"].as_array().unwrap() {
                    let s = if s.get("Fn::If").is_some() {
                        &s["Fn::If"][1]
                    } else {
                        s
                    };
                    let actions: Vec<&str> = match &s["Action"] {
                        Value::String(a) => vec![a.as_str()],
                        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    assert!(!actions.is_empty(), "{id}: a statement without actions");
                    assert!(
                        !actions.iter().any(|a| *a == "*" || a.ends_with(":*")),
                        "{id}: every action of a service: {actions:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn both_templates_name_everything_after_the_stage_through_parameters() {
    // Stage-independent: no stage's value appears in a template. (The Mappings and the condition made
    // from them are AWS's own tables, by region: every region is there.)
    for stack in Stack::ALL {
        let mut value = template(stack);
        value.as_object_mut().unwrap().remove("Mappings");
        if let Some(c) = value["Conditions"].as_object_mut() {
            c.remove("ElbLogsByAccount");
        }
        let text = value.to_string();
        for literal in ["sample", "vpc-0", "subnet-0", "123456789012", "ap-northeast-1"] {
            assert!(
                !text.contains(literal),
                "{stack} template contains the stage value `{literal}`"
            );
        }
    }
}

#[test]
fn secrets_reach_the_container_at_run_time_from_exactly_their_parameters() {
    // The seed baked the password into the image with --build-arg. Here ECS reads each declared
    // runtime secret from Parameter Store when the task starts, and the execution role may read
    // exactly those parameters and decrypt with exactly the stage key.
    let arn = |name: &str| {
        json!({"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/berth/${{AppName}}/${{StageName}}/{name}"
        )})
    };
    let declared: Vec<&str> = pipeline_model::secrets::runtime().map(|s| s.name).collect();
    assert!(!declared.is_empty(), "the sample app declares a runtime secret");

    let service = template(Stack::Service);
    let container = &resource(&service, "TaskDefinition")["Properties"]["ContainerDefinitions"][0];
    let secrets = container["Secrets"].as_array().expect("the container's secrets");
    let expected: Vec<Value> = declared
        .iter()
        .map(|n| json!({"Name": n, "ValueFrom": arn(n)}))
        .collect();
    assert_eq!(secrets, &expected);
    let env = container["Environment"].as_array().unwrap();
    assert!(
        env.iter()
            .all(|e| !declared.contains(&e["Name"].as_str().unwrap_or_default())),
        "a secret is not a plain environment variable: {env:#?}"
    );

    let pipeline = template(Stack::Pipeline);
    let statements = resource(&pipeline, "TaskExecutionPolicy")["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}: {statements:#?}"))
    };
    let read = by_sid("ReadSecrets");
    assert_eq!(read["Action"], "ssm:GetParameters");
    let resources: Vec<Value> = match &read["Resource"] {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    assert_eq!(resources, declared.iter().map(|n| arn(n)).collect::<Vec<_>>());
    let decrypt = by_sid("DecryptSecrets");
    assert_eq!(decrypt["Action"], "kms:Decrypt");
    assert_eq!(decrypt["Resource"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
    // Nothing else in the policy touches SSM or KMS.
    for s in statements {
        let actions = s["Action"].to_string();
        if actions.contains("ssm:") || actions.contains("kms:") {
            assert!(s["Sid"] == "ReadSecrets" || s["Sid"] == "DecryptSecrets", "{s:#}");
        }
    }
}

#[test]
fn access_logs_land_in_the_stages_log_bucket() {
    let pipeline = template(Stack::Pipeline);
    let service = template(Stack::Service);
    let bucket_name = json!({"Fn::Sub": "${AppName}-${StageName}-log-${AWS::AccountId}-${AWS::Region}"});
    let logs = resource(&pipeline, "LogBucket");
    assert_eq!(logs["Properties"]["BucketName"], bucket_name);
    assert_eq!(logs["DeletionPolicy"], "Retain");
    // Log delivery writes to SSE-S3 buckets only.
    assert_eq!(
        logs["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "AES256"
    );
    // The artifact bucket logs its accesses there.
    let artifacts = resource(&pipeline, "ArtifactBucket");
    assert_eq!(
        artifacts["Properties"]["LoggingConfiguration"],
        json!({"DestinationBucketName": {"Ref": "LogBucket"}, "LogFilePrefix": "artifact-bucket/"})
    );
    // The load balancer too, into the same bucket by its contract name.
    let attributes = resource(&service, "LoadBalancer")["Properties"]["LoadBalancerAttributes"]
        .as_array()
        .unwrap();
    let attr = |k: &str| {
        attributes
            .iter()
            .find(|a| a["Key"] == k)
            .map(|a| a["Value"].clone())
    };
    assert_eq!(attr("access_logs.s3.enabled"), Some(json!("true")));
    assert_eq!(attr("access_logs.s3.bucket"), Some(bucket_name));
    assert_eq!(attr("access_logs.s3.prefix"), Some(json!("load-balancer")));
    // ...which lets Elastic Load Balancing write there: by account in the older regions, by service
    // principal in the newer ones, one of them by condition.
    let statements = resource(&pipeline, "LogBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let by_account = statements
        .iter()
        .find(|s| s["Fn::If"][0] == "ElbLogsByAccount")
        .expect("the by-account statement");
    assert_eq!(
        by_account["Fn::If"][1]["Principal"]["AWS"],
        json!({"Fn::FindInMap": ["ElbLogDeliveryAccounts", {"Ref": "AWS::Region"}, "AccountId"]})
    );
    assert_eq!(
        pipeline["Mappings"]["ElbLogDeliveryAccounts"]["ap-northeast-1"]["AccountId"],
        "582318560864"
    );
    let by_service = statements
        .iter()
        .find(|s| s["Fn::If"][0] == "ElbLogsByService")
        .expect("by service");
    assert_eq!(
        by_service["Fn::If"][1]["Principal"]["Service"],
        "logdelivery.elasticloadbalancing.amazonaws.com"
    );
    // The build's log group is encrypted with the stage key.
    assert_eq!(
        resource(&pipeline, "BuildLogGroup")["Properties"]["KmsKeyId"],
        json!({"Fn::GetAtt": ["Key", "Arn"]})
    );
}

#[test]
fn the_build_runs_on_the_instances_architecture() {
    let t = template(Stack::Pipeline);
    let env = &resource(&t, "BuildProject")["Properties"]["Environment"];
    assert_eq!(
        env["Type"],
        json!({"Fn::If": ["BuildOnArm", "ARM_CONTAINER", "LINUX_CONTAINER"]})
    );
    assert_eq!(env["Image"]["Fn::If"][1], json!(infra::pipeline::BUILD_IMAGE_ARM));
    assert_eq!(
        t["Conditions"]["BuildOnArm"],
        json!({"Fn::Equals": [{"Ref": pipeline_model::pipeline_params::BUILD_ARCHITECTURE}, "arm64"]})
    );
}

#[test]
fn the_service_scales_and_rolls_back_on_what_users_see() {
    let t = template(Stack::Service);
    let target = &resource(&t, "ScalableTarget")["Properties"];
    assert_eq!(target["MinCapacity"], json!({"Ref": service_params::MIN_COUNT}));
    assert_eq!(target["MaxCapacity"], json!({"Ref": service_params::MAX_COUNT}));
    assert_eq!(target["ScalableDimension"], "ecs:service:DesiredCount");
    let service = resource(&t, "Service");
    assert!(
        service["Properties"].get("DesiredCount").is_none(),
        "service auto scaling sets the count; a template value would be put back by every update"
    );
    for (policy, metric) in [
        ("CpuScalingPolicy", "ECSServiceAverageCPUUtilization"),
        ("RequestsScalingPolicy", "ALBRequestCountPerTarget"),
    ] {
        let c = &resource(&t, policy)["Properties"]["TargetTrackingScalingPolicyConfiguration"];
        assert_eq!(c["PredefinedMetricSpecification"]["PredefinedMetricType"], metric);
    }
    let label = &resource(&t, "RequestsScalingPolicy")["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        ["PredefinedMetricSpecification"]["ResourceLabel"];
    assert_eq!(
        label["Fn::Sub"],
        "${LoadBalancer.LoadBalancerFullName}/${TargetGroup.TargetGroupFullName}"
    );
    let alarms = &service["Properties"]["DeploymentConfiguration"]["Alarms"];
    assert_eq!(
        alarms,
        &json!({"AlarmNames": [{"Ref": "TargetErrorsAlarm"}, {"Ref": "UnhealthyTargetsAlarm"}], "Enable": true, "Rollback": true})
    );
    assert_eq!(
        resource(&t, "TargetErrorsAlarm")["Properties"]["MetricName"],
        "HTTPCode_Target_5XX_Count"
    );
    assert_eq!(
        resource(&t, "UnhealthyTargetsAlarm")["Properties"]["MetricName"],
        "UnHealthyHostCount"
    );
    // A task role of its own, apart from the execution role; ECS Exec only by the stage's choice.
    let task = &resource(&t, "TaskDefinition")["Properties"];
    assert_eq!(task["TaskRoleArn"], json!({"Fn::GetAtt": ["TaskRole", "Arn"]}));
    assert_eq!(
        task["ExecutionRoleArn"],
        json!({"Fn::GetAtt": ["TaskExecutionRole", "Arn"]})
    );
    assert_eq!(
        service["Properties"]["EnableExecuteCommand"]["Fn::If"][0],
        "ExecEnabled"
    );
    assert_eq!(
        resource(&t, "TaskRole")["Properties"]["ManagedPolicyArns"]["Fn::If"][0],
        "ExecEnabled"
    );
}
