//! Every rule: a template (or buildspec) that triggers it, and the same with the fix, which does not.

/// The codes a template raises.
fn codes(text: &str) -> Vec<&'static str> {
    let (_, report) = lint::lint_text(text);
    let mut c: Vec<&str> = report.findings.iter().map(|f| f.code()).collect();
    c.dedup();
    c
}

/// `bad` raises `code` (and its message mentions `says`); `good` raises nothing at all.
#[track_caller]
fn check(code: &str, says: &str, bad: &str, good: &str) {
    let (_, report) = lint::lint_text(bad);
    let hit: Vec<&lint::Finding> = report.findings.iter().filter(|f| f.code() == code).collect();
    assert!(!hit.is_empty(), "{code} not raised; got {:?}", codes(bad));
    assert!(
        hit.iter().any(|f| f.message.contains(says)),
        "{code}: no message mentions `{says}`: {:?}",
        hit.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
    assert!(lint::rule(code).is_some());
    let clean = codes(good);
    assert!(clean.is_empty(), "the fixed template still raises {clean:?}");
}

fn sg(ingress: &str) -> String {
    format!(
        "Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: x
      SecurityGroupIngress:
{ingress}"
    )
}

#[test]
fn bl101_inverted_port_range() {
    check(
        "BL101",
        "FromPort 443 is above ToPort 80",
        &sg("        - {IpProtocol: tcp, FromPort: 443, ToPort: 80, CidrIp: 10.0.0.0/8}\n"),
        &sg("        - {IpProtocol: tcp, FromPort: 80, ToPort: 443, CidrIp: 10.0.0.0/8}\n"),
    );
}

#[test]
fn bl102_open_to_the_world() {
    check(
        "BL102",
        "opens port 22 to the whole internet",
        &sg("        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}\n"),
        &sg("        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}\n"),
    );
    check(
        "BL102",
        "opens every port of every protocol to the whole internet",
        &sg("        - {IpProtocol: '-1', CidrIpv6: '::/0'}\n"),
        &sg("        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIpv6: '::/0'}\n"),
    );
    // Port 80 only with a redirecting listener.
    let port80 = "        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 0.0.0.0/0}\n";
    let listener = "  Http:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/x/1
      Port: 80
      Protocol: HTTP
      DefaultActions:
        - Type: redirect
          RedirectConfig: {Protocol: HTTPS, Port: '443', StatusCode: HTTP_301}
";
    // The load balancer's group: the listener names it by its ARN.
    let alb = "  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      SecurityGroups: [!Ref Sg]
      Subnets: [subnet-1, subnet-2]
";
    check(
        "BL102",
        "without a listener that redirects",
        &(sg(port80) + alb),
        &(sg(port80) + alb + listener),
    );
}

/// An ECS cluster, an ALB group, an instance group used by a launch template, and one more ingress
/// rule.
fn alb_and_instances(rule: &str) -> String {
    format!(
        "Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  AlbSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: alb
  InstanceSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: instances
  FromAlb:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt InstanceSg.GroupId
      SourceSecurityGroupId: !GetAtt AlbSg.GroupId
{rule}
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      SecurityGroups: [!GetAtt AlbSg.GroupId]
      Subnets: [subnet-1, subnet-2]
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        SecurityGroupIds: [!GetAtt InstanceSg.GroupId]
        MetadataOptions: {{HttpTokens: required}}
"
    )
}

#[test]
fn bl103_instances_admit_more_than_the_dynamic_ports() {
    // The seed: every port from the ALB's group.
    check(
        "BL103",
        "admits tcp ports 0-65535 from the load balancer's group AlbSg",
        &alb_and_instances("      IpProtocol: tcp\n      FromPort: 0\n      ToPort: 65535"),
        &alb_and_instances("      IpProtocol: tcp\n      FromPort: 32768\n      ToPort: 65535"),
    );
}

fn task_and_service(
    network_mode: &str,
    host_port: &str,
    health_port: &str,
    target_type: &str,
    extra: &str,
) -> String {
    format!(
        "Resources:
  Td:
    Type: AWS::ECS::TaskDefinition
    Properties:
      {network_mode}
      ContainerDefinitions:
        - Name: app
          Image: x
          Memory: 512
          PortMappings:
            - ContainerPort: 8080
              {host_port}
  Tg:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Port: 80
      Protocol: HTTP
      VpcId: vpc-1
      {health_port}
      {target_type}
  Svc:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: !Ref Td
      DesiredCount: 1
      LoadBalancers:
        - ContainerName: app
          ContainerPort: 8080
          TargetGroupArn: !Ref Tg
{extra}"
    )
}

#[test]
fn bl201_host_port_zero_outside_bridge_mode() {
    check(
        "BL201",
        "HostPort 0 in awsvpc network mode",
        &task_and_service("NetworkMode: awsvpc", "HostPort: 0", "", "", ""),
        &task_and_service("NetworkMode: bridge", "HostPort: 0", "", "", ""),
    );
}

#[test]
fn bl202_dynamic_ports_need_the_traffic_port_health_check() {
    check(
        "BL202",
        "checks port 8080",
        &task_and_service(
            "NetworkMode: bridge",
            "HostPort: 0",
            "HealthCheckPort: '8080'",
            "",
            "",
        ),
        &task_and_service(
            "NetworkMode: bridge",
            "HostPort: 0",
            "HealthCheckPort: traffic-port",
            "",
            "",
        ),
    );
}

#[test]
fn bl203_ip_targets_with_bridge_mode() {
    check(
        "BL203",
        "TargetType ip",
        &task_and_service("NetworkMode: bridge", "HostPort: 0", "", "TargetType: ip", ""),
        &task_and_service(
            "NetworkMode: bridge",
            "HostPort: 0",
            "",
            "TargetType: instance",
            "",
        ),
    );
}

#[test]
fn bl204_a_service_of_several_tasks_is_spread() {
    let service = |strategies: &str| {
        format!(
            "Parameters:
  Count: {{Type: Number, Default: 2}}
Resources:
  Svc:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: arn:aws:ecs:ap-northeast-1:123456789012:task-definition/x:1
      DesiredCount: !Ref Count
      LaunchType: EC2
{strategies}"
        )
    };
    check(
        "BL204",
        "no spread placement strategy",
        &service(""),
        &service("      PlacementStrategies:\n        - {Type: spread, Field: instanceId}\n"),
    );
}

#[test]
fn bl205_containers_on_ec2_have_memory() {
    let td = |memory: &str| {
        format!(
            "Resources:
  Td:
    Type: AWS::ECS::TaskDefinition
    Properties:
      RequiresCompatibilities: [EC2]
      ContainerDefinitions:
        - Name: app
          Image: x
{memory}"
        )
    };
    check(
        "BL205",
        "container `app` has neither",
        &td(""),
        &td("          MemoryReservation: 256\n"),
    );
}

fn launch_template(data: &str) -> String {
    format!(
        "Resources:
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
{data}"
    )
}

#[test]
fn bl301_user_data_is_base64() {
    check(
        "BL301",
        "not wrapped in Fn::Base64",
        &launch_template(
            "        MetadataOptions: {HttpTokens: required}\n        UserData: !Sub \"#!/bin/bash\\necho ${AWS::Region}\"\n",
        ),
        &launch_template(
            "        MetadataOptions: {HttpTokens: required}\n        UserData: !Base64 {\"Fn::Sub\": \"#!/bin/bash\\necho ${AWS::Region}\"}\n",
        ),
    );
}

fn group_and_template(policy: &str, user_data: &str, desired: &str) -> String {
    format!(
        "Resources:
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions: {{HttpTokens: required}}
        UserData: !Base64 {{\"Fn::Sub\": \"{user_data}\"}}
  Asg:
    Type: AWS::AutoScaling::AutoScalingGroup
{policy}
    Properties:
      MinSize: '1'
      MaxSize: '4'
      DesiredCapacity: '{desired}'
      VPCZoneIdentifier: [subnet-1]
      LaunchTemplate:
        LaunchTemplateId: !Ref Lt
        Version: !GetAtt Lt.LatestVersionNumber
"
    )
}

const SIGNAL: &str =
    "/opt/aws/bin/cfn-signal -e 0 --stack ${AWS::StackName} --resource Asg --region ${AWS::Region}";
const WAIT: &str = "    CreationPolicy:\n      ResourceSignal: {Count: 2, Timeout: PT15M}";

#[test]
fn bl302_signals_are_sent_and_awaited() {
    check(
        "BL302",
        "never runs cfn-signal",
        &group_and_template(WAIT, "echo hi", "2"),
        &group_and_template(WAIT, SIGNAL, "2"),
    );
    check(
        "BL302",
        "no CreationPolicy waiting for it",
        &group_and_template("", SIGNAL, "2"),
        &group_and_template(WAIT, SIGNAL, "2"),
    );
}

#[test]
fn bl303_durations_are_iso8601() {
    let bad = WAIT.replace("PT15M", "15m");
    check(
        "BL303",
        "`15m` is not an ISO-8601 duration",
        &group_and_template(&bad, SIGNAL, "2"),
        &group_and_template(WAIT, SIGNAL, "2"),
    );
}

#[test]
fn bl304_no_more_signals_than_instances() {
    check(
        "BL304",
        "waits for 2 signals; at most 1 instances start",
        &group_and_template(WAIT, SIGNAL, "1"),
        &group_and_template(WAIT, SIGNAL, "2"),
    );
}

#[test]
fn bl305_ebs_volumes_name_their_type() {
    let bdm = |ebs: &str| {
        launch_template(&format!(
            "        MetadataOptions: {{HttpTokens: required}}\n        BlockDeviceMappings:\n          - DeviceName: /dev/xvda\n            Ebs: {{VolumeSize: 30{ebs}}}\n"
        ))
    };
    check(
        "BL305",
        "volume /dev/xvda has no VolumeType",
        &bdm(""),
        &bdm(", VolumeType: gp3"),
    );
}

#[test]
fn bl306_no_launch_configurations() {
    check(
        "BL306",
        "launch configurations are retired",
        "Resources:
  Lc:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:
      ImageId: ami-12345678
      InstanceType: t3.small
      MetadataOptions: {HttpTokens: required}
",
        &launch_template("        ImageId: ami-12345678\n        MetadataOptions: {HttpTokens: required}\n"),
    );
}

#[test]
fn bl307_imdsv2_is_required() {
    check(
        "BL307",
        "answer IMDSv1",
        &launch_template("        MetadataOptions: {HttpTokens: optional}\n"),
        &launch_template("        MetadataOptions: {HttpTokens: required}\n"),
    );
}

/// An ECS container-instance group: its launch template joins a cluster under `set -e` and signals
/// (`trap` lines in `script` come first), with the given update policy, the AMI `image_id`, and
/// `extra` resources.
fn ecs_group(policy: &str, script: &str, image_id: &str, extra: &str) -> String {
    format!(
        "Parameters:
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id
Resources:
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: {image_id}
        MetadataOptions: {{HttpTokens: required}}
        UserData: !Base64 {{\"Fn::Sub\": \"#!/bin/bash\\nset -euo pipefail\\n{script}echo ECS_CLUSTER=x >> /etc/ecs/ecs.config\\n{SIGNAL}\"}}
  Asg:
    Type: AWS::AutoScaling::AutoScalingGroup
{WAIT}
{policy}
    Properties:
      MinSize: '2'
      MaxSize: '4'
      VPCZoneIdentifier: [subnet-1, subnet-2]
      NewInstancesProtectedFromScaleIn: true
      LaunchTemplate:
        LaunchTemplateId: !Ref Lt
        Version: !GetAtt Lt.LatestVersionNumber
{extra}"
    )
}

const TRAP: &str = "trap '/opt/aws/bin/cfn-signal -e 1 --stack ${AWS::StackName} --resource Asg' ERR\\n";
const ROLLING: &str = "    UpdatePolicy:\n      AutoScalingRollingUpdate: {MaxBatchSize: 1, MinInstancesInService: 2, WaitOnResourceSignals: true, PauseTime: PT15M}";
const DRAINING: &str = "  Cp:
    Type: AWS::ECS::CapacityProvider
    Properties:
      AutoScalingGroupProvider:
        AutoScalingGroupArn: !Ref Asg
        ManagedDraining: ENABLED
        ManagedTerminationProtection: ENABLED
        ManagedScaling: {Status: ENABLED, TargetCapacity: 100}
";

#[test]
fn bl308_ecs_instances_are_drained_before_they_go() {
    let replacing = "    UpdatePolicy:\n      AutoScalingReplacingUpdate: {WillReplace: true}";
    check(
        "BL308",
        "creates a new group and deletes this one without draining ECS",
        &ecs_group(replacing, TRAP, "ami-12345678", DRAINING),
        &ecs_group(ROLLING, TRAP, "ami-12345678", DRAINING),
    );
    check(
        "BL308",
        "no capacity provider manages this group",
        &ecs_group(ROLLING, TRAP, "ami-12345678", ""),
        &ecs_group(ROLLING, TRAP, "ami-12345678", DRAINING),
    );
    check(
        "BL308",
        "its capacity provider Cp does not set ManagedDraining: ENABLED",
        &ecs_group(
            ROLLING,
            TRAP,
            "ami-12345678",
            &DRAINING.replace("ManagedDraining: ENABLED", "ManagedDraining: DISABLED"),
        ),
        &ecs_group(ROLLING, TRAP, "ami-12345678", DRAINING),
    );
}

#[test]
fn bl309_no_ssm_ami_on_a_group_replaced_on_update() {
    check(
        "BL309",
        "the instances' AMI is the SSM parameter Ami, resolved again on every stack update",
        &ecs_group(ROLLING, TRAP, "!Ref Ami", DRAINING),
        &ecs_group(ROLLING, TRAP, "ami-12345678", DRAINING),
    );
    // An opt-in behind a condition is the AMI whenever the condition holds.
    check(
        "BL309",
        "the instances' AMI is the SSM parameter Ami, resolved again on every stack update",
        &ecs_group(ROLLING, TRAP, "!If [Follow, !Ref Ami, ami-12345678]", DRAINING),
        &ecs_group(
            ROLLING,
            TRAP,
            "!If [Follow, ami-87654321, ami-12345678]",
            DRAINING,
        ),
    );
}

#[test]
fn bl310_user_data_signals_its_failures() {
    check(
        "BL310",
        "signals only success: a failure sends nothing",
        &ecs_group(ROLLING, "", "ami-12345678", DRAINING),
        &ecs_group(ROLLING, TRAP, "ami-12345678", DRAINING),
    );
}

#[test]
fn bl311_instances_keep_out_of_the_load_balancers_public_subnets() {
    let alb = |subnets: &str| {
        format!(
            "  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Scheme: internet-facing
      Subnets: {subnets}
"
        )
    };
    let shared = format!("{DRAINING}{}", alb("[subnet-1, subnet-2]"));
    let own = format!("{DRAINING}{}", alb("[subnet-3, subnet-4]"));
    check(
        "BL311",
        "the instances use the subnets of the internet-facing load balancer Alb (public)",
        &ecs_group(ROLLING, TRAP, "ami-12345678", &shared),
        &ecs_group(ROLLING, TRAP, "ami-12345678", &own),
    );
}

fn key(statements: &str) -> String {
    format!(
        "Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Version: '2012-10-17'
        Statement:
{statements}"
    )
}

const ADMIN: &str = "          - Effect: Allow
            Principal: {AWS: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root'}
            Action: kms:*
            Resource: '*'
";

#[test]
fn bl401_the_account_administers_every_key() {
    let user = "          - Effect: Allow
            Principal: {AWS: arn:aws:iam::123456789012:role/app}
            Action: [kms:Decrypt]
            Resource: '*'
";
    check(
        "BL401",
        "no statement allows kms:* to the account",
        &key(user),
        &key(&(ADMIN.to_owned() + user)),
    );
}

#[test]
fn bl402_no_wildcard_principal_without_a_condition() {
    let anyone = "          - Effect: Allow
            Principal: '*'
            Action: [kms:Decrypt]
            Resource: '*'
";
    let scoped = "          - Effect: Allow
            Principal: '*'
            Action: [kms:Decrypt]
            Resource: '*'
            Condition: {StringEquals: {'kms:CallerAccount': '123456789012'}}
";
    check(
        "BL402",
        "any AWS principal",
        &key(&(ADMIN.to_owned() + anyone)),
        &key(&(ADMIN.to_owned() + scoped)),
    );
}

fn role_policy(statement: &str) -> String {
    format!(
        "Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
{statement}"
    )
}

#[test]
fn bl403_no_action_wildcard() {
    check(
        "BL403",
        "allows every action",
        &role_policy("          - {Effect: Allow, Action: '*', Resource: arn:aws:s3:::bucket/*}\n"),
        &role_policy(
            "          - {Effect: Allow, Action: 's3:GetObject', Resource: arn:aws:s3:::bucket/*}\n",
        ),
    );
}

#[test]
fn bl404_resource_wildcard_only_where_aws_requires_it() {
    check(
        "BL404",
        "allows s3:GetObject on every resource",
        &role_policy(
            "          - {Effect: Allow, Action: [ecr:GetAuthorizationToken, s3:GetObject], Resource: '*'}\n",
        ),
        &role_policy(
            "          - {Effect: Allow, Action: [ecr:GetAuthorizationToken, ec2:DescribeSubnets], Resource: '*'}\n",
        ),
    );
}

#[test]
fn bl405_arns_where_arns_are_required() {
    let td = |role: &str| {
        format!(
            "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {{Version: '2012-10-17', Statement: []}}
  Td:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ExecutionRoleArn: {role}
      ContainerDefinitions:
        - {{Name: app, Image: x, Memory: 256}}
"
        )
    };
    check(
        "BL405",
        "Ref Role gives the AWS::IAM::Role's name",
        &td("!Ref Role"),
        &td("!GetAtt Role.Arn"),
    );
    check(
        "BL405",
        "`ecsTaskExecutionRole` is not an ARN",
        &td("ecsTaskExecutionRole"),
        &td("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
    );
}

/// A pipeline: the two sources, a build and a deploy stage built from `deploy` (an action).
fn pipeline(sources: &str, deploy: &str) -> String {
    format!(
        "Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/pipeline
      ArtifactStore: {{Type: S3, Location: bucket}}
      Stages:
        - Name: Source
          Actions:
{sources}
        - Name: Build
          Actions:
            - Name: Build
              ActionTypeId: {{Category: Build, Owner: AWS, Provider: CodeBuild, Version: '1'}}
              Configuration: {{ProjectName: build}}
              InputArtifacts: [{{Name: AppSource}}]
              OutputArtifacts: [{{Name: Build}}]
        - Name: Deploy
          Actions:
{deploy}
"
    )
}

fn source(name: &str, conf: &str) -> String {
    format!(
        "            - Name: {name}
              ActionTypeId: {{Category: Source, Owner: AWS, Provider: CodeStarSourceConnection, Version: '1'}}
              Configuration: {{FullRepositoryId: o/r, BranchName: main{conf}}}
              OutputArtifacts: [{{Name: {name}}}]"
    )
}

fn sources() -> String {
    let conn = ", ConnectionArn: arn:aws:codeconnections:ap-northeast-1:123456789012:connection/x";
    format!("{}\n{}", source("AppSource", conn), source("InfraSource", conn))
}

fn deploy_action(mode: &str, inputs: &str, template_path: &str, overrides: &str) -> String {
    format!(
        "            - Name: CreateChangeSet
              ActionTypeId: {{Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: '1'}}
              Configuration:
                ActionMode: {mode}
                StackName: app-dev-service
                ChangeSetName: app-dev-deploy
                RoleArn: arn:aws:iam::123456789012:role/deploy
                TemplatePath: {template_path}
                ParameterOverrides: '{overrides}'
              InputArtifacts: [{inputs}]"
    )
}

const GETPARAM: &str = r#"{"ImageTag": {"Fn::GetParam": ["Build", "build.json", "tag"]}}"#;

fn good_deploy() -> String {
    deploy_action(
        "CHANGE_SET_REPLACE",
        "{Name: InfraSource}, {Name: Build}",
        "InfraSource::service.yaml",
        GETPARAM,
    )
}

#[test]
fn bl501_action_modes_are_known() {
    check(
        "BL501",
        "`CHANGESET_REPLACE` is no ActionMode",
        &pipeline(
            &sources(),
            &deploy_action(
                "CHANGESET_REPLACE",
                "{Name: InfraSource}, {Name: Build}",
                "InfraSource::service.yaml",
                GETPARAM,
            ),
        ),
        &pipeline(&sources(), &good_deploy()),
    );
}

#[test]
fn bl502_providers_are_known() {
    let bad = good_deploy().replace("Provider: CloudFormation", "Provider: Cloudformation");
    check(
        "BL502",
        "Deploy has no AWS provider `Cloudformation`",
        &pipeline(&sources(), &bad),
        &pipeline(&sources(), &good_deploy()),
    );
}

#[test]
fn bl503_sources_have_their_connection() {
    let conn = ", ConnectionArn: arn:aws:codeconnections:ap-northeast-1:123456789012:connection/x";
    let without = format!("{}\n{}", source("AppSource", ""), source("InfraSource", conn));
    check(
        "BL503",
        "source action AppSource has no ConnectionArn",
        &pipeline(&without, &good_deploy()),
        &pipeline(&sources(), &good_deploy()),
    );
}

#[test]
fn bl504_what_an_action_reads_is_among_its_inputs() {
    check(
        "BL504",
        "TemplatePath reads artifact `InfraSource`, which is not among its InputArtifacts [Build]",
        &pipeline(
            &sources(),
            &deploy_action(
                "CHANGE_SET_REPLACE",
                "{Name: Build}",
                "InfraSource::service.yaml",
                GETPARAM,
            ),
        ),
        &pipeline(&sources(), &good_deploy()),
    );
    let reads_other = GETPARAM.replace("\"Build\"", "\"Built\"");
    check(
        "BL504",
        "ParameterOverrides (Fn::GetParam) reads artifact `Built`",
        &pipeline(
            &sources(),
            &deploy_action(
                "CHANGE_SET_REPLACE",
                "{Name: InfraSource}, {Name: Build}",
                "InfraSource::service.yaml",
                &reads_other,
            ),
        ),
        &pipeline(&sources(), &good_deploy()),
    );
}

#[test]
fn bl505_inputs_are_produced_earlier() {
    check(
        "BL505",
        "reads `Source`, which no earlier action outputs",
        &pipeline(
            &sources(),
            &deploy_action(
                "CHANGE_SET_REPLACE",
                "{Name: Source}, {Name: Build}",
                "Source::service.yaml",
                GETPARAM,
            ),
        ),
        &pipeline(&sources(), &good_deploy()),
    );
}

#[test]
fn bl506_artifact_names_are_unique() {
    let conn = ", ConnectionArn: arn:aws:codeconnections:ap-northeast-1:123456789012:connection/x";
    let twice = format!(
        "{}\n{}\n{}",
        source("AppSource", conn),
        source("InfraSource", conn),
        source("AppSource", conn).replace("- Name: AppSource", "- Name: AppSource2")
    );
    check(
        "BL506",
        "2 actions output an artifact named `AppSource`",
        &pipeline(&twice, &good_deploy()),
        &pipeline(&sources(), &good_deploy()),
    );
}

#[test]
fn bl507_both_sources_are_there() {
    let conn = ", ConnectionArn: arn:aws:codeconnections:ap-northeast-1:123456789012:connection/x";
    let one = source("AppSource", conn);
    let deploy = deploy_action(
        "CHANGE_SET_REPLACE",
        "{Name: AppSource}, {Name: Build}",
        "AppSource::service.yaml",
        GETPARAM,
    );
    check(
        "BL507",
        "no source action outputs InfraSource",
        &pipeline(&one, &deploy),
        &pipeline(&sources(), &good_deploy()),
    );
}

fn buildspec(build: &str, post: &str) -> String {
    format!(
        "version: 0.2
env:
  parameter-store:
    DB_PASS: /app/db
phases:
  build:
    commands:
      - {build}
  post_build:
    commands:
      - {post}
artifacts:
  files: [build.json]
"
    )
}

const BUILD_JSON: &str = r#"printf '{"tag":"%s"}' "$IMAGE_TAG" > build.json"#;

#[test]
fn bl601_no_secret_through_build_args() {
    check(
        "BL601",
        "--build-arg DB_PASS",
        &buildspec("docker build --build-arg DB_PASS=$DB_PASS -t x .", BUILD_JSON),
        &buildspec("docker build --secret id=db_pass,env=DB_PASS -t x .", BUILD_JSON),
    );
    check(
        "BL601",
        "--build-arg NPM_TOKEN",
        &buildspec("docker build --build-arg NPM_TOKEN -t x .", BUILD_JSON),
        &buildspec(
            "docker build --build-arg GIT_SHA=$CODEBUILD_RESOLVED_SOURCE_VERSION -t x .",
            BUILD_JSON,
        ),
    );
}

#[test]
fn bl602_build_json_has_the_contracts_shape() {
    check(
        "BL602",
        "keys [image_tag]",
        &buildspec(
            "docker build -t x .",
            r#"printf '{"image_tag":"%s"}' "$IMAGE_TAG" > build.json"#,
        ),
        &buildspec("docker build -t x .", BUILD_JSON),
    );
    check(
        "BL602",
        "not among the artifacts",
        &buildspec("docker build -t x .", BUILD_JSON).replace("files: [build.json]", "files: [other.txt]"),
        &buildspec("docker build -t x .", BUILD_JSON),
    );
}

#[test]
fn bl001_a_file_that_does_not_parse_says_where() {
    let (_, report) =
        lint::lint_text("Resources:\n  A:\n    Type: AWS::SNS::Topic\n  A:\n    Type: AWS::SNS::Topic\n");
    let f = &report.findings[0];
    assert_eq!(f.code(), "BL001");
    assert_eq!(f.location.as_ref().map(|l| l.line), Some(4), "{f:?}");
    assert!(f.message.contains("duplicate"), "{f:?}");
    assert!(codes("Resources:\n  A:\n    Type: AWS::SNS::Topic\n").is_empty());
}

#[test]
fn bl002_bl003_suppressions_need_a_reason_and_a_real_rule() {
    let with = |meta: &str| {
        format!(
            "Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Metadata:
      berth-lint:
{meta}
    Properties:
      GroupDescription: x
      SecurityGroupIngress:
        - {{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}}
"
        )
    };
    // A reason: the finding is suppressed (and reported as such).
    let (_, report) = lint::lint_text(&with(
        "        - {rule: BL102, reason: a bastion for the break-glass procedure}",
    ));
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.suppressed.len(), 1);
    assert_eq!(report.suppressed[0].1, "a bastion for the break-glass procedure");
    // No reason: not suppressed, and BL002.
    check(
        "BL002",
        "suppresses `BL102` without a reason",
        &with("        - {rule: BL102}"),
        &sg("        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}\n"),
    );
    assert!(codes(&with("        - {rule: BL102, reason: ''}")).contains(&"BL102"));
    // Another resource's suppression does not count.
    check(
        "BL003",
        "`BL999`, which is no rule",
        &with("        - {rule: BL999, reason: typo}"),
        &sg("        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}\n"),
    );
}

#[test]
fn every_rule_is_tested_here() {
    let source = include_str!("rules.rs");
    for r in lint::rules() {
        let name = format!("fn {}_", r.code.to_ascii_lowercase());
        let shared = format!("_{}_", r.code.to_ascii_lowercase());
        assert!(
            source.contains(&name) || source.contains(&shared),
            "no test for {}",
            r.code
        );
    }
}

/// The deploy stage's actions, each (name, category/provider, mode, run order).
fn deploy_stage(actions: &[(&str, &str, Option<&str>, u32)]) -> String {
    actions
        .iter()
        .map(|(name, kind, mode, order)| {
            let (category, provider) = kind.split_once('/').unwrap();
            let conf = match mode {
                Some(mode) => format!(
                    "
              Configuration:
                ActionMode: {mode}
                StackName: app-dev-service
                ChangeSetName: app-dev-deploy
                RoleArn: arn:aws:iam::123456789012:role/deploy
                TemplatePath: InfraSource::service.yaml
              InputArtifacts: [{{Name: InfraSource}}]"
                ),
                None => String::new(),
            };
            format!(
                "            - Name: {name}
              ActionTypeId: {{Category: {category}, Owner: AWS, Provider: {provider}, Version: '1'}}
              RunOrder: {order}{conf}"
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn bl508_the_approval_comes_after_the_change_set_it_guards() {
    let create = (
        "CreateChangeSet",
        "Deploy/CloudFormation",
        Some("CHANGE_SET_REPLACE"),
    );
    let execute = (
        "ExecuteChangeSet",
        "Deploy/CloudFormation",
        Some("CHANGE_SET_EXECUTE"),
    );
    let approve = ("Approve", "Approval/Manual", None);
    let at = |a: (&'static str, &'static str, Option<&'static str>), order| (a.0, a.1, a.2, order);
    // The 2017 order (berth's own until issue 13): approve, create, execute.
    check(
        "BL508",
        "approval Approve (stage 3, RunOrder 1) runs before CreateChangeSet (stage 3, RunOrder 2) creates the change set that ExecuteChangeSet (stage 3, RunOrder 3) executes",
        &pipeline(
            &sources(),
            &deploy_stage(&[at(approve, 1), at(create, 2), at(execute, 3)]),
        ),
        &pipeline(
            &sources(),
            &deploy_stage(&[at(create, 1), at(approve, 2), at(execute, 3)]),
        ),
    );
    // Run in parallel with the creation: still before it exists.
    check(
        "BL508",
        "approval Approve (stage 3, RunOrder 1) runs before CreateChangeSet (stage 3, RunOrder 1)",
        &pipeline(
            &sources(),
            &deploy_stage(&[at(create, 1), at(approve, 1), at(execute, 2)]),
        ),
        &pipeline(
            &sources(),
            &deploy_stage(&[at(create, 1), at(approve, 2), at(execute, 3)]),
        ),
    );
    // An approval after the execution guards nothing of it.
    let after = pipeline(
        &sources(),
        &deploy_stage(&[at(create, 1), at(execute, 2), at(approve, 3)]),
    );
    assert!(!codes(&after).contains(&"BL508"), "{:?}", codes(&after));
}

// Other people's templates: the false positives and the false negative found on them, each fixed.

/// An instance with a wait condition handle and its wait condition; `policy` is the instance's
/// CreationPolicy (or nothing), `user_data` its UserData.
fn instance_and_handle(policy: &str, user_data: &str) -> String {
    format!(
        "Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
  Wait:
    Type: AWS::CloudFormation::WaitCondition
    Properties:
      Handle: !Ref Handle
      Timeout: '300'
  Server:
    Type: AWS::EC2::Instance
{policy}
    Properties:
      ImageId: ami-12345678
      UserData:
{user_data}
"
    )
}

/// The WaitConditionHandle pattern, as aws-cloudformation-templates writes it (Fn::Join) and as
/// Fn::Sub does.
const TO_HANDLE_JOIN: &str = "        Fn::Base64: !Join
          - ''
          - - \"#!/bin/bash\\n\"
            - \"/opt/aws/bin/cfn-signal -e 0 -r 'setup complete' '\"
            - !Ref Handle
            - \"'\\n\"";
const TO_HANDLE_SUB: &str =
    "        Fn::Base64: !Sub \"#!/bin/bash -x\\n/opt/aws/bin/cfn-signal -e $? -d done '${Handle}'\\n\"";
const INSTANCE_WAITS: &str = "    CreationPolicy:\n      ResourceSignal: {Timeout: PT15M}";

#[test]
fn bl302_a_wait_condition_handle_is_signalled_through_its_url() {
    for to_handle in [TO_HANDLE_JOIN, TO_HANDLE_SUB] {
        // The instance does not wait: the wait condition does, and the signal goes to its handle.
        check(
            "BL302",
            "goes to the wait condition handle Handle, not to Server",
            &instance_and_handle(INSTANCE_WAITS, to_handle),
            &instance_and_handle("", to_handle),
        );
    }
    // The same for a group's launch template.
    let to_handle = "/opt/aws/bin/cfn-signal -e 0 '${Handle}'";
    assert!(codes(&group_and_template("", to_handle, "2")).is_empty());
    check(
        "BL302",
        "goes to a wait condition handle",
        &group_and_template(WAIT, to_handle, "2"),
        &group_and_template(WAIT, SIGNAL, "2"),
    );
}

#[test]
fn bl302_user_data_that_another_tool_writes_is_not_judged() {
    // `rain pkg` embeds the script; a parameter holds it: berth cannot read it.
    for elsewhere in [
        "        Fn::Base64: {Fn::Sub: !Rain::Embed server.sh}",
        "        Fn::Base64: {\"Rain::Embed\": server.sh}",
        "        Fn::Base64: !Ref Script",
    ] {
        let text = instance_and_handle(INSTANCE_WAITS, elsewhere) + "Parameters:\n  Script: {Type: String}\n";
        assert!(codes(&text).is_empty(), "{elsewhere}: {:?}", codes(&text));
    }
    check(
        "BL302",
        "never runs cfn-signal",
        &instance_and_handle(INSTANCE_WAITS, "        Fn::Base64: \"#!/bin/bash\\necho hi\\n\""),
        &instance_and_handle("", "        Fn::Base64: \"#!/bin/bash\\necho hi\\n\""),
    );
}

#[test]
fn bl101_bl102_icmp_has_types_not_ports() {
    // Every ICMP type (-1), and echo request (type 8, code 0): neither an open port nor an inverted
    // range.
    for icmp in [
        "        - {IpProtocol: icmp, FromPort: -1, ToPort: -1, CidrIp: 0.0.0.0/0}\n",
        "        - {IpProtocol: icmp, FromPort: 8, ToPort: 0, CidrIp: 0.0.0.0/0}\n",
        "        - {IpProtocol: '1', FromPort: 8, ToPort: -1, CidrIp: 0.0.0.0/0}\n",
        "        - {IpProtocol: icmpv6, FromPort: -1, ToPort: -1, CidrIpv6: '::/0'}\n",
    ] {
        assert!(codes(&sg(icmp)).is_empty(), "{icmp}: {:?}", codes(&sg(icmp)));
    }
    check(
        "BL102",
        "opens every port of every protocol to the whole internet",
        &sg("        - {IpProtocol: '-1', FromPort: -1, ToPort: -1, CidrIp: 0.0.0.0/0}\n"),
        &sg("        - {IpProtocol: icmp, FromPort: -1, ToPort: -1, CidrIp: 0.0.0.0/0}\n"),
    );
    check(
        "BL102",
        "opens udp port 53 to the whole internet",
        &sg("        - {IpProtocol: udp, FromPort: 53, ToPort: 53, CidrIp: 0.0.0.0/0}\n"),
        &sg("        - {IpProtocol: udp, FromPort: 53, ToPort: 53, CidrIp: 10.0.0.0/8}\n"),
    );
}

/// A load balancer with its group `AlbSg` and a port-80 listener that redirects, and an instance
/// group `InstanceSg` with `ingress`.
fn redirecting_alb_and_instance_group(alb_ingress: &str, instance_ingress: &str) -> String {
    format!(
        "Resources:
  AlbSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: alb
      SecurityGroupIngress:
{alb_ingress}
  InstanceSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: instances
      SecurityGroupIngress:
{instance_ingress}
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      SecurityGroups: [!GetAtt AlbSg.GroupId]
      Subnets: [subnet-1, subnet-2]
  Http:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: 80
      Protocol: HTTP
      DefaultActions:
        - Type: redirect
          RedirectConfig: {{Protocol: HTTPS, Port: '443', StatusCode: HTTP_301}}
"
    )
}

#[test]
fn bl102_the_redirect_lets_only_the_load_balancers_group_open_80() {
    let port80 = "        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 0.0.0.0/0}";
    let port443 = "        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}";
    // The instances' group: port 80 is open to the world, redirect or not, and nothing is said of
    // a redirect.
    let text = redirecting_alb_and_instance_group(port443, port80);
    let (_, report) = lint::lint_text(&text);
    let found: Vec<&lint::Finding> = report.findings.iter().filter(|f| f.code() == "BL102").collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].resource.as_deref(), Some("InstanceSg"));
    assert_eq!(found[0].message, "opens port 80 to the whole internet");
    // The load balancer's own group: port 80 with the redirect is fine.
    assert!(
        codes(&redirecting_alb_and_instance_group(
            port80,
            port443.replace("0.0.0.0/0", "10.0.0.0/8").as_str()
        ))
        .is_empty()
    );
    // A group nobody uses, in a template without a load balancer: nothing about a redirect either.
    let (_, report) = lint::lint_text(&sg(&format!("{port80}\n")));
    assert_eq!(report.findings[0].message, "opens port 80 to the whole internet");
}

#[test]
fn bl103_every_protocol_is_said_in_words() {
    check(
        "BL103",
        "admits every port of every protocol from the load balancer's group AlbSg",
        &alb_and_instances("      IpProtocol: '-1'"),
        &alb_and_instances("      IpProtocol: tcp\n      FromPort: 32768\n      ToPort: 65535"),
    );
}

/// The seed's pair without the load balancer: a group attached to instances admitting every port
/// from another group. `attach` attaches `InstanceSg` to instances.
fn instances_admitting(rule: &str, attach: &str) -> String {
    format!(
        "Resources:
  OtherSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: other
  InstanceSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: instances
      SecurityGroupIngress:
        - SourceSecurityGroupId: !Ref OtherSg
{rule}
{attach}
"
    )
}

const BY_LAUNCH_TEMPLATE: &str = "  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        SecurityGroupIds: [!GetAtt InstanceSg.GroupId]
        MetadataOptions: {HttpTokens: required}";
const BY_INSTANCE: &str = "  Server:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-12345678
      SecurityGroupIds: [!Ref InstanceSg]";

#[test]
fn bl103_instances_admitting_every_port_from_another_group_without_a_load_balancer() {
    for attach in [BY_LAUNCH_TEMPLATE, BY_INSTANCE] {
        check(
            "BL103",
            "admits every tcp port (0-65535) from the security group OtherSg",
            &instances_admitting(
                "          IpProtocol: tcp\n          FromPort: 0\n          ToPort: 65535",
                attach,
            ),
            &instances_admitting(
                "          IpProtocol: tcp\n          FromPort: 8080\n          ToPort: 8080",
                attach,
            ),
        );
        check(
            "BL103",
            "admits every port of every protocol from the security group OtherSg",
            &instances_admitting("          IpProtocol: '-1'", attach),
            &instances_admitting(
                "          IpProtocol: tcp\n          FromPort: 8080\n          ToPort: 8080",
                attach,
            ),
        );
    }
    // A group that is not the instances' (a database's, say) is another matter; and a group
    // admitting itself is a cluster talking to itself.
    let unattached = instances_admitting("          IpProtocol: '-1'", "");
    assert!(codes(&unattached).is_empty(), "{:?}", codes(&unattached));
    let own = instances_admitting("          IpProtocol: '-1'", BY_INSTANCE).replace(
        "SourceSecurityGroupId: !Ref OtherSg",
        "SourceSecurityGroupId: !Ref InstanceSg",
    );
    assert!(codes(&own).is_empty(), "{:?}", codes(&own));
}

#[test]
fn bl103_dynamic_host_ports_concern_ecs_instances_only() {
    // A web server behind the load balancer (no ECS in the template) serves on its own port.
    let cluster = "  Cluster:\n    Type: AWS::ECS::Cluster\n";
    let port80 = alb_and_instances("      IpProtocol: tcp\n      FromPort: 80\n      ToPort: 80");
    let web = port80.replace(cluster, "");
    assert!(codes(&web).is_empty(), "{:?}", codes(&web));
    check(
        "BL103",
        "admits tcp ports 80-80 from the load balancer's group AlbSg",
        &port80,
        &alb_and_instances("      IpProtocol: tcp\n      FromPort: 32768\n      ToPort: 65535"),
    );
}

#[test]
fn bl401_an_administrator_other_than_the_account_administers_the_key() {
    // AWS's "Allow access for Key Administrators" statement, to a role.
    let administrators = "          - Effect: Allow
            Principal: {AWS: !Sub 'arn:aws:iam::${AWS::AccountId}:role/Admin'}
            Action: [kms:Create*, kms:Describe*, kms:Enable*, kms:List*, kms:Put*, kms:Update*, kms:Revoke*,
                     kms:Disable*, kms:Get*, kms:Delete*, kms:ScheduleKeyDeletion, kms:CancelKeyDeletion]
            Resource: '*'
";
    let user = "          - Effect: Allow
            Principal: {AWS: arn:aws:iam::123456789012:role/app}
            Action: [kms:Decrypt, kms:DescribeKey]
            Resource: '*'
";
    check(
        "BL401",
        "no statement allows kms:* to the account or to an administrator",
        &key(user),
        &key(&(administrators.to_owned() + user)),
    );
    // kms:* to a role is an administrator too; a service is not.
    let role_star = "          - {Effect: Allow, Principal: {AWS: arn:aws:iam::123456789012:role/Admin}, Action: 'kms:*', Resource: '*'}\n";
    assert!(codes(&key(role_star)).is_empty(), "{:?}", codes(&key(role_star)));
    let service = "          - {Effect: Allow, Principal: {Service: logs.amazonaws.com}, Action: 'kms:*', Resource: '*'}\n";
    assert_eq!(codes(&key(service)), ["BL401"]);
}

#[test]
fn bl404_what_the_service_reference_does_not_cover_is_not_judged() {
    // Services outside the vendored Service Authorization Reference: berth cannot tell whether
    // AWS scopes their actions (config:PutEvaluations and ds:DescribeDirectories take no resource).
    check(
        "BL404",
        "allows s3:GetObject on every resource",
        &role_policy(
            "          - {Effect: Allow, Action: [s3:GetObject, config:PutEvaluations], Resource: '*'}\n",
        ),
        &role_policy(
            "          - {Effect: Allow, Action: [config:PutEvaluations, ds:DescribeDirectories], Resource: '*'}\n",
        ),
    );
}

#[test]
fn bl404_a_topic_or_queue_policy_grants_on_its_own_topics_or_queues() {
    // "*" in a topic (queue) policy is the topics (queues) it is attached to, not every resource.
    let topic = "Resources:
  Topic:
    Type: AWS::SNS::Topic
  TopicPolicy:
    Type: AWS::SNS::TopicPolicy
    Properties:
      Topics: [!Ref Topic]
      PolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: config.amazonaws.com}, Action: SNS:Publish, Resource: '*'}
";
    assert!(codes(topic).is_empty(), "{:?}", codes(topic));
    let queue = topic
        .replace("AWS::SNS::Topic", "AWS::SQS::Queue")
        .replace("AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy")
        .replace("Topics:", "Queues:")
        .replace("SNS:Publish", "sqs:SendMessage");
    assert!(codes(&queue).is_empty(), "{:?}", codes(&queue));
}

#[test]
fn bl405_codebuild_takes_its_service_role_by_name_or_arn() {
    let with = |ty: &str, property: &str| {
        format!(
            "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {{Version: '2012-10-17', Statement: []}}
  Project:
    Type: {ty}
    Properties:
      {property}: !Ref Role
"
        )
    };
    check(
        "BL405",
        "Ref Role gives the AWS::IAM::Role's name",
        &with("AWS::Lambda::Function", "Role"),
        &with("AWS::CodeBuild::Project", "ServiceRole"),
    );
}

#[test]
fn bl507_a_pipeline_without_the_contracts_sources_is_not_berths() {
    // One source, named as its authors like: not berth's pipeline, nothing to say.
    let conn = ", ConnectionArn: arn:aws:codeconnections:ap-northeast-1:123456789012:connection/x";
    let text = pipeline(&source("Source", conn), &good_deploy())
        .replace("{Name: AppSource}", "{Name: Source}")
        .replace("{Name: InfraSource}", "{Name: Source}")
        .replace("InfraSource::service.yaml", "Source::service.yaml");
    assert!(codes(&text).is_empty(), "{:?}", codes(&text));
}

/// A group whose launch template's UserData is an Fn::Join of `parts` (YAML flow items), as the
/// JSON templates of aws-cloudformation-templates write it.
fn group_with_joined_script(parts: &str) -> String {
    format!(
        "Resources:
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions: {{HttpTokens: required}}
        UserData: {{\"Fn::Base64\": {{\"Fn::Join\": ['', [{parts}]]}}}}
  Asg:
    Type: AWS::AutoScaling::AutoScalingGroup
{WAIT}
    Properties:
      MinSize: '2'
      MaxSize: '4'
      VPCZoneIdentifier: [subnet-1]
      LaunchTemplate:
        LaunchTemplateId: !Ref Lt
        Version: !GetAtt Lt.LatestVersionNumber
"
    )
}

#[test]
fn bl302_a_script_without_line_breaks_is_its_shebang_line() {
    // AutoScaling/AutoScalingScheduledAction.json upstream: the parts have no "\n", so the whole
    // script is its `#!` line and nothing runs.
    let parts = |nl: &str| {
        format!(
            "\"#!/bin/bash -x {nl}\", \"yum update -y aws-cfn-bootstrap {nl}\", \"/opt/aws/bin/cfn-signal -e $? --stack \", !Ref 'AWS::StackName', \" --resource Asg {nl}\""
        )
    };
    check(
        "BL302",
        "the UserData of Lt has cfn-signal only on its `#!` line (the script has no line break before it)",
        &group_with_joined_script(&parts("")),
        &group_with_joined_script(&parts("\\n")),
    );
}

#[test]
fn bl310_a_script_joined_from_parts_is_read_whole() {
    // `set -e` in one part, cfn-signal in another: the instance runs them as one script.
    let parts = |trap: &str| {
        format!(
            "\"#!/bin/bash\\n\", \"set -e\\n\", \"{trap}\", \"yum install -y aws-cfn-bootstrap\\n\", \"/opt/aws/bin/cfn-signal -e 0 --stack \", !Ref 'AWS::StackName', \" --resource Asg\\n\""
        )
    };
    check(
        "BL310",
        "signals only success",
        &group_with_joined_script(&parts("")),
        &group_with_joined_script(&parts(
            "trap '/opt/aws/bin/cfn-signal -e 1 --stack x --resource Asg' ERR\\n",
        )),
    );
}

#[test]
fn bl310_the_trap_comes_before_the_first_step_that_can_fail() {
    // The trap is there, but after a step: a failed install would still send nothing.
    let late = format!("echo ECS_CLUSTER=x >> /etc/ecs/ecs.config\\n{TRAP}");
    check(
        "BL310",
        "runs `echo ECS_CLUSTER=x >> /etc/ecs/ecs.config` (script line 3) before it sets its failure trap",
        &ecs_group(ROLLING, &late, "ami-12345678", DRAINING),
        &ecs_group(ROLLING, TRAP, "ami-12345678", DRAINING),
    );
    // A function the trap calls may be defined first: its body runs only when called.
    let function = format!(
        "fail() {{\\n  /opt/aws/bin/cfn-signal -e 1 --stack x --resource Asg\\n}}\\n{}",
        "trap 'fail' ERR\\n"
    );
    check(
        "BL310",
        "runs `yum install -y aws-cfn-bootstrap` (script line 3) before it sets its failure trap",
        &group_with_joined_script(&format!(
            "\"#!/bin/bash\\n\", \"set -e\\n\", \"yum install -y aws-cfn-bootstrap\\n\", \"{TRAP}\", \"/opt/aws/bin/cfn-signal -e 0 --stack \", !Ref 'AWS::StackName', \" --resource Asg\\n\""
        )),
        &ecs_group(ROLLING, &function, "ami-12345678", DRAINING),
    );
}
