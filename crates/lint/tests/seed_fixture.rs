//! The seed's own template and buildspec (tests/fixtures), mistakes kept: each mistake raises its rule,
//! and the duplicated `ChangeSetName` key its parse error with line and column.

const TEMPLATE: &str = include_str!("fixtures/seed-mistakes.yaml");
const BUILDSPEC: &str = include_str!("fixtures/seed-buildspec.yml");

/// The 1-based line of the `n`th line containing `needle`.
fn line_of(text: &str, needle: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(n)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("no {needle}"))
}

#[test]
fn the_duplicated_change_set_name_is_a_parse_error_at_the_duplicate() {
    let (kind, report) = lint::lint_text(TEMPLATE);
    assert_eq!(kind, lint::FileKind::Template);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.code(), "BL001");
    assert!(f.message.contains("ChangeSetName"), "{}", f.message);
    let loc = f.location.as_ref().expect("a location");
    assert_eq!(
        loc.line,
        line_of(TEMPLATE, "ChangeSetName: !Ref CFnChangeSetName", 0)
    );
    assert_eq!(loc.column, 17, "the column of the key");
}

#[test]
fn with_the_duplicate_removed_every_other_mistake_raises_its_rule() {
    let duplicate = "                ChangeSetName: !Ref CFnChangeSetName\n";
    // The first one is the duplicate (the execute action has its own, once).
    let (_, report) = lint::lint_text(&TEMPLATE.replacen(duplicate, "", 1));
    let raised = |code: &str, resource: &str, says: &str| {
        assert!(
            report.findings.iter().any(|f| f.code() == code
                && f.resource.as_deref() == Some(resource)
                && f.message.contains(says)),
            "{code} on {resource} ({says}) not raised; found:\n{}",
            report
                .findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    };
    // TemplatePath on `Source`, which no action outputs.
    raised(
        "BL504",
        "Pipeline",
        "TemplatePath reads artifact `Source`, which is not among its InputArtifacts [InfraSource, Build]; no action outputs `Source` at all",
    );
    // Every port open to the ALB's group.
    raised(
        "BL103",
        "EC2SecurityGroup",
        "admits tcp ports 0-65535 from the load balancer's group ALBSecurityGroup",
    );
    // The group replaced whole on update: every task stops at once.
    raised(
        "BL308",
        "AutoScalingGroup",
        "creates a new group and deletes this one without draining ECS",
    );
    // A key nobody administers.
    raised("BL401", "KMSKey", "no statement allows kms:* to the account");
    // The hard-coded AMI in a launch configuration (and its IMDSv1).
    raised("BL306", "LaunchConfig", "launch configurations are retired");
    raised("BL307", "LaunchConfig", "IMDSv1");
    // A role's name where CloudFormation needs its ARN.
    raised(
        "BL405",
        "Pipeline",
        "Ref BuildRole gives the AWS::IAM::Role's name, not its ARN; the action takes an ARN",
    );
    // Every finding points at its resource's line.
    for f in &report.findings {
        let r = f.resource.as_deref().unwrap();
        assert_eq!(
            f.location.as_ref().map(|l| l.line),
            Some(line_of(TEMPLATE, &format!("  {r}:"), 0)),
            "{f}"
        );
    }
}

#[test]
fn the_secret_passed_with_build_arg_is_caught() {
    let (kind, report) = lint::lint_text(BUILDSPEC);
    assert_eq!(kind, lint::FileKind::Buildspec);
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code()).collect();
    assert_eq!(codes, ["BL601"], "{:#?}", report.findings);
    assert_eq!(report.findings[0].path, "phases.build.commands[0]");
    assert!(report.findings[0].message.contains("--build-arg DB_PASSWORD"));
}

#[test]
fn without_the_load_balancer_the_instances_group_still_admits_every_port() {
    let duplicate = "                ChangeSetName: !Ref CFnChangeSetName\n";
    let alb = "  ALB:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      SecurityGroups:
        - !Ref ALBSecurityGroup
      Subnets: [subnet-11111111, subnet-22222222]
";
    assert!(TEMPLATE.contains(alb));
    // The instances' half of the pair, as a template of its own would have it.
    let text = TEMPLATE.replacen(duplicate, "", 1).replace(alb, "");
    let (_, report) = lint::lint_text(&text);
    let found: Vec<&lint::Finding> = report.findings.iter().filter(|f| f.code() == "BL103").collect();
    assert_eq!(found.len(), 1, "{:#?}", report.findings);
    assert_eq!(found[0].resource.as_deref(), Some("EC2SecurityGroup"));
    assert!(
        found[0]
            .message
            .contains("admits every tcp port (0-65535) from the security group ALBSecurityGroup"),
        "{}",
        found[0].message
    );
}
