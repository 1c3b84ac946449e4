//! Typed CodePipeline actions.
//!
//! The resource schema leaves an action's `Configuration` free-form JSON, so cfn-lint checks nothing
//! inside it: an unknown `ActionMode`, a missing connection, a `TemplatePath` on an artifact that
//! does not exist all deploy and fail later. Here each provider's configuration is a type, and
//! `Fn::GetParam` exists only inside [`ParameterOverrides`].

use crate::node::Node;
use crate::resources::codepipeline::pipeline::{
    ActionDeclaration, ActionTypeId, Category, InputArtifact, OutputArtifact,
};
use crate::val::{Json, Val};

/// A file inside a pipeline artifact: `Artifact::path`.
#[derive(Clone, Debug, PartialEq)]
pub struct ArtifactPath {
    artifact: String,
    path: Val<String>,
}

impl ArtifactPath {
    pub fn new(artifact: &str, path: impl Into<Val<String>>) -> Self {
        ArtifactPath {
            artifact: artifact.to_owned(),
            path: path.into(),
        }
    }

    pub fn artifact(&self) -> &str {
        &self.artifact
    }

    fn to_val(&self) -> Val<String> {
        match self.path.as_literal_str() {
            Some(p) => format!("{}::{p}", self.artifact).into(),
            None => crate::fns::Sub::new(format!("{}::${{Path}}", self.artifact))
                .var("Path", self.path.clone())
                .into(),
        }
    }
}

/// CodePipeline's `Fn::GetParam`: a value read from a JSON file in an input artifact when the action
/// runs (e.g. the image tag the build wrote to `build.json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetParam {
    pub artifact: String,
    pub file: String,
    pub key: String,
}

impl GetParam {
    pub fn new(artifact: &str, file: &str, key: &str) -> Self {
        GetParam {
            artifact: artifact.to_owned(),
            file: file.to_owned(),
            key: key.to_owned(),
        }
    }
}

/// `ParameterOverrides` of a CloudFormation action: parameter values, literal, from the pipeline
/// stack's own values, or read from an artifact with [`GetParam`]. Rendered as the JSON text the
/// action expects (through `Fn::Sub` when a value is an intrinsic).
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct ParameterOverrides(Vec<(String, Node)>);

impl ParameterOverrides {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn value(mut self, parameter: &str, value: impl Into<Val<String>>) -> Self {
        self.0.push((parameter.to_owned(), value.into().node));
        self
    }

    pub fn get_param(mut self, parameter: &str, p: GetParam) -> Self {
        self.0
            .push((parameter.to_owned(), Node::GetParam(p.artifact, p.file, p.key)));
        self
    }

    /// The `Fn::GetParam` overrides: (parameter, artifact, file, key).
    pub fn get_params(&self) -> impl Iterator<Item = (&str, &str, &str, &str)> {
        self.0.iter().filter_map(|(name, n)| match n {
            Node::GetParam(a, f, k) => Some((name.as_str(), a.as_str(), f.as_str(), k.as_str())),
            _ => None,
        })
    }

    /// The overrides as a JSON value: only the pipeline action's `Configuration` takes it.
    pub fn into_json(self) -> Val<Json> {
        Val::new(Node::JsonString(Box::new(Node::Map(self.0))))
    }
}

/// `ActionMode` of a CloudFormation deploy action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionMode {
    ChangeSetReplace,
    ChangeSetExecute,
    CreateUpdate,
    DeleteOnly,
    ReplaceOnFailure,
}

impl ActionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionMode::ChangeSetReplace => "CHANGE_SET_REPLACE",
            ActionMode::ChangeSetExecute => "CHANGE_SET_EXECUTE",
            ActionMode::CreateUpdate => "CREATE_UPDATE",
            ActionMode::DeleteOnly => "DELETE_ONLY",
            ActionMode::ReplaceOnFailure => "REPLACE_ON_FAILURE",
        }
    }
}

/// A CloudFormation capability the stack needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Capability {
    Iam,
    NamedIam,
    AutoExpand,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Iam => "CAPABILITY_IAM",
            Capability::NamedIam => "CAPABILITY_NAMED_IAM",
            Capability::AutoExpand => "CAPABILITY_AUTO_EXPAND",
        }
    }
}

/// Builds `Configuration` maps: every value a string, as CodePipeline stores them.
#[derive(Default)]
struct Config(Vec<(String, Node)>);

impl Config {
    fn set(&mut self, key: &str, value: impl Into<Val<String>>) {
        self.0.push((key.to_owned(), value.into().node));
    }

    fn set_json(&mut self, key: &str, value: Val<Json>) {
        self.0.push((key.to_owned(), value.node));
    }

    fn into_json(self) -> Val<Json> {
        Val::new(Node::Map(self.0))
    }
}

fn action_type(category: Category, owner: &str, provider: &str) -> ActionTypeId {
    ActionTypeId::new(category, owner, provider, "1")
}

fn artifacts_in(names: &[&str]) -> Val<crate::val::List<InputArtifact>> {
    names
        .iter()
        .map(|n| InputArtifact::new(*n))
        .collect::<Vec<_>>()
        .into()
}

fn artifacts_out(names: &[&str]) -> Val<crate::val::List<OutputArtifact>> {
    names
        .iter()
        .map(|n| OutputArtifact::new(*n))
        .collect::<Vec<_>>()
        .into()
}

/// A source action on a CodeConnections (CodeStar) connection: GitHub, GitLab, Bitbucket.
#[derive(Clone, Debug)]
#[must_use]
pub struct CodeStarSource {
    pub connection_arn: Val<String>,
    /// `owner/repository`.
    pub full_repository_id: Val<String>,
    pub branch_name: Val<String>,
    /// `CODEBUILD_CLONE_REF` gives the build a git clone (for `git describe` and such); default `CODE_ZIP`.
    pub full_clone: bool,
    /// Start the pipeline on a push (leave on unless a V2 trigger filters pushes).
    pub detect_changes: bool,
}

impl CodeStarSource {
    pub fn new(
        connection_arn: impl Into<Val<String>>,
        full_repository_id: impl Into<Val<String>>,
        branch_name: impl Into<Val<String>>,
    ) -> Self {
        CodeStarSource {
            connection_arn: connection_arn.into(),
            full_repository_id: full_repository_id.into(),
            branch_name: branch_name.into(),
            full_clone: false,
            detect_changes: true,
        }
    }

    pub fn action(self, name: &str, output: &str) -> ActionDeclaration {
        let mut c = Config::default();
        c.set("BranchName", self.branch_name);
        c.set("ConnectionArn", self.connection_arn);
        c.set(
            "DetectChanges",
            if self.detect_changes { "true" } else { "false" },
        );
        c.set("FullRepositoryId", self.full_repository_id);
        c.set(
            "OutputArtifactFormat",
            if self.full_clone {
                "CODEBUILD_CLONE_REF"
            } else {
                "CODE_ZIP"
            },
        );
        ActionDeclaration::new(
            action_type(Category::Source, "AWS", "CodeStarSourceConnection"),
            name,
        )
        .configuration(c.into_json())
        .output_artifacts(artifacts_out(&[output]))
        .run_order(1)
    }
}

/// The 2017 GitHub (version 1) source with an OAuth token: legacy, kept for existing setups only.
/// The token should come from a dynamic reference ([`crate::dynamic`]), never a template parameter.
#[derive(Clone, Debug)]
#[must_use]
pub struct GitHubOAuthSource {
    pub owner: Val<String>,
    pub repo: Val<String>,
    pub branch: Val<String>,
    pub oauth_token: Val<String>,
}

impl GitHubOAuthSource {
    pub fn action(self, name: &str, output: &str) -> ActionDeclaration {
        let mut c = Config::default();
        c.set("Branch", self.branch);
        c.set("OAuthToken", self.oauth_token);
        c.set("Owner", self.owner);
        c.set("PollForSourceChanges", "false");
        c.set("Repo", self.repo);
        ActionDeclaration::new(action_type(Category::Source, "ThirdParty", "GitHub"), name)
            .configuration(c.into_json())
            .output_artifacts(artifacts_out(&[output]))
            .run_order(1)
    }
}

/// A CodeBuild build action.
#[derive(Clone, Debug)]
#[must_use]
pub struct CodeBuild {
    pub project_name: Val<String>,
    /// Plain-text environment variables of the build, by name.
    pub environment_variables: Vec<(String, Val<String>)>,
    /// The namespace of the variables the build exports (`#{Namespace.VAR}` in later actions).
    pub namespace: Option<String>,
}

impl CodeBuild {
    pub fn new(project_name: impl Into<Val<String>>) -> Self {
        CodeBuild {
            project_name: project_name.into(),
            environment_variables: Vec::new(),
            namespace: None,
        }
    }

    /// Sets a plain-text environment variable of the build.
    pub fn env(mut self, name: &str, value: impl Into<Val<String>>) -> Self {
        self.environment_variables.push((name.to_owned(), value.into()));
        self
    }

    /// Exports the build's variables under `namespace`.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    pub fn action(self, name: &str, inputs: &[&str], outputs: &[&str]) -> ActionDeclaration {
        let mut c = Config::default();
        c.set("ProjectName", self.project_name);
        if inputs.len() > 1 {
            c.set("PrimarySource", inputs[0]);
        }
        if !self.environment_variables.is_empty() {
            // The action takes them as JSON text: [{"name", "value", "type"}].
            let list = self
                .environment_variables
                .into_iter()
                .map(|(n, v)| {
                    Node::Map(vec![
                        ("name".to_owned(), Node::Str(n)),
                        ("type".to_owned(), Node::Str("PLAINTEXT".to_owned())),
                        ("value".to_owned(), v.node),
                    ])
                })
                .collect();
            c.set_json(
                "EnvironmentVariables",
                Val::new(Node::JsonString(Box::new(Node::List(list)))),
            );
        }
        let mut a = ActionDeclaration::new(action_type(Category::Build, "AWS", "CodeBuild"), name)
            .configuration(c.into_json())
            .input_artifacts(artifacts_in(inputs))
            .output_artifacts(artifacts_out(outputs))
            .run_order(1);
        if let Some(ns) = self.namespace {
            a = a.namespace(ns);
        }
        a
    }
}

/// A CloudFormation deploy action.
#[derive(Clone, Debug)]
#[must_use]
pub struct CloudFormation {
    pub mode: ActionMode,
    pub stack_name: Val<String>,
    pub change_set_name: Option<Val<String>>,
    pub template_path: Option<ArtifactPath>,
    pub template_configuration: Option<ArtifactPath>,
    pub parameter_overrides: Option<ParameterOverrides>,
    pub capabilities: Vec<Capability>,
    /// The role CloudFormation assumes to change the stack.
    pub role_arn: Option<Val<String>>,
}

impl CloudFormation {
    /// `CHANGE_SET_REPLACE`: create (or replace) a change set from a template in an artifact.
    pub fn change_set_replace(
        stack_name: impl Into<Val<String>>,
        change_set_name: impl Into<Val<String>>,
        template_path: ArtifactPath,
    ) -> Self {
        CloudFormation {
            mode: ActionMode::ChangeSetReplace,
            stack_name: stack_name.into(),
            change_set_name: Some(change_set_name.into()),
            template_path: Some(template_path),
            template_configuration: None,
            parameter_overrides: None,
            capabilities: Vec::new(),
            role_arn: None,
        }
    }

    /// `CHANGE_SET_EXECUTE`: execute the change set a `CHANGE_SET_REPLACE` action prepared.
    pub fn change_set_execute(
        stack_name: impl Into<Val<String>>,
        change_set_name: impl Into<Val<String>>,
    ) -> Self {
        CloudFormation {
            mode: ActionMode::ChangeSetExecute,
            stack_name: stack_name.into(),
            change_set_name: Some(change_set_name.into()),
            template_path: None,
            template_configuration: None,
            parameter_overrides: None,
            capabilities: Vec::new(),
            role_arn: None,
        }
    }

    pub fn template_configuration(mut self, path: ArtifactPath) -> Self {
        self.template_configuration = Some(path);
        self
    }

    pub fn parameter_overrides(mut self, overrides: ParameterOverrides) -> Self {
        self.parameter_overrides = Some(overrides);
        self
    }

    pub fn capability(mut self, c: Capability) -> Self {
        if !self.capabilities.contains(&c) {
            self.capabilities.push(c);
            self.capabilities.sort();
        }
        self
    }

    pub fn role_arn(mut self, arn: impl Into<Val<String>>) -> Self {
        self.role_arn = Some(arn.into());
        self
    }

    pub fn action(self, name: &str, inputs: &[&str]) -> ActionDeclaration {
        let mut c = Config::default();
        c.set("ActionMode", self.mode.as_str());
        if !self.capabilities.is_empty() {
            let caps: Vec<&str> = self.capabilities.iter().map(|c| c.as_str()).collect();
            c.set("Capabilities", caps.join(","));
        }
        if let Some(n) = self.change_set_name {
            c.set("ChangeSetName", n);
        }
        if let Some(p) = self.parameter_overrides {
            c.set_json("ParameterOverrides", p.into_json());
        }
        if let Some(r) = self.role_arn {
            c.set("RoleArn", r);
        }
        c.set("StackName", self.stack_name);
        if let Some(p) = self.template_configuration {
            c.set("TemplateConfiguration", p.to_val());
        }
        if let Some(p) = self.template_path {
            c.set("TemplatePath", p.to_val());
        }
        let mut a = ActionDeclaration::new(action_type(Category::Deploy, "AWS", "CloudFormation"), name)
            .configuration(c.into_json())
            .run_order(1);
        if !inputs.is_empty() {
            a = a.input_artifacts(artifacts_in(inputs));
        }
        a
    }
}

/// A manual approval.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ManualApproval {
    /// What the approver reads (at most 500 characters once variables are resolved).
    pub custom_data: Option<Val<String>>,
    pub notification_arn: Option<Val<String>>,
    /// A link the approver follows to review.
    pub external_entity_link: Option<Val<String>>,
}

impl ManualApproval {
    pub fn action(self, name: &str) -> ActionDeclaration {
        let mut c = Config::default();
        if let Some(d) = self.custom_data {
            c.set("CustomData", d);
        }
        if let Some(n) = self.notification_arn {
            c.set("NotificationArn", n);
        }
        if let Some(l) = self.external_entity_link {
            c.set("ExternalEntityLink", l);
        }
        let mut a =
            ActionDeclaration::new(action_type(Category::Approval, "AWS", "Manual"), name).run_order(1);
        if !c.0.is_empty() {
            a = a.configuration(c.into_json());
        }
        a
    }
}
