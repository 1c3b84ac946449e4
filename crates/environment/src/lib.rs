//! The environment, from stage files to checked output: the one gate.
//!
//! Every command that needs the environment comes here: `synth` (which writes what this builds),
//! `lint` (which shows the findings), `graph`, `bench`, and `deploy`/`diff` in `crates/berth-aws` (which
//! send a template from here). [`build`] loads the stage files and builds everything synth writes:
//! both templates, each stage's parameter files, the buildspec; [`Built::gate`] lets through only what
//! passes every check — the templates' own validation, each stage's values against the templates'
//! parameter constraints, one app per repository, the app's trigger paths covering its build inputs
//! ([`triggers`]), berth's rules on the templates and the buildspec.
//! So no command can send what another would refuse, and every one refuses with the same words.
//!
//! No AWS SDK, no writes: files are returned, never written.

mod gate;
mod graph;
mod stages;
pub mod triggers;

use std::path::{Path, PathBuf};

use cfn::Format;
use infra::Stage;
use pipeline_model::{Stack, infra_layout};

pub use gate::Error;
pub use graph::GraphFormat;
pub use stages::{Loaded, load as load_stages};

/// Where the environment comes from.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The repository root: paths in messages are shown relative to it.
    pub root: PathBuf,
    /// The directory of the stage files.
    pub stages_dir: PathBuf,
    /// Only this stage (the other stage files are not read).
    pub only: Option<String>,
    /// The format the templates are rendered in.
    pub format: Format,
}

impl Inputs {
    /// Every stage of `root`'s [`infra::STAGES_DIR`], templates in YAML.
    pub fn new(root: &Path) -> Inputs {
        Inputs {
            root: root.to_owned(),
            stages_dir: root.join(infra::STAGES_DIR),
            only: None,
            format: Format::Yaml,
        }
    }

    /// Read the stage files from `dir` instead.
    pub fn stages_dir(mut self, dir: Option<&Path>) -> Inputs {
        if let Some(d) = dir {
            self.stages_dir = d.to_owned();
        }
        self
    }

    /// Only the stage named (when given).
    pub fn only(mut self, stage: Option<&str>) -> Inputs {
        self.only = stage.map(str::to_owned);
        self
    }

    pub fn format(mut self, format: Format) -> Inputs {
        self.format = format;
        self
    }

    /// `text` with the repository root taken off the paths in it.
    pub(crate) fn relative(&self, text: &str) -> String {
        text.replace(&format!("{}/", self.root.display()), "")
    }
}

/// One file synth writes, relative to the repository root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}

/// A synthesized template: as rendered (what is written and sent) and as data (what the checks read).
#[derive(Clone, Debug)]
pub struct Template {
    pub stack: Stack,
    /// Relative to the repository root, e.g. `infra/cfn/service.yaml`.
    pub path: PathBuf,
    pub body: String,
    pub value: serde_json::Value,
}

/// Everything synth writes, before berth's rules have had their say.
#[derive(Debug)]
pub struct Built {
    pub stages: Vec<Stage>,
    pub templates: Vec<Template>,
    /// Every file, templates first, then each stage's parameter files, then the buildspec.
    pub files: Vec<OutputFile>,
    /// What the templates' validation warns of.
    pub warnings: Vec<String>,
    /// berth's rules on each template and on the buildspec.
    pub lint: Vec<lint::FileReport>,
}

/// The environment, through the gate: what synth writes and deploy sends.
#[derive(Debug)]
pub struct Environment {
    stages: Vec<Stage>,
    templates: Vec<Template>,
    files: Vec<OutputFile>,
    warnings: Vec<String>,
}

/// Loads the stage files and builds everything synth writes; fails on what cannot be built (stage
/// files, templates, parameter values).
pub fn build(inputs: &Inputs) -> Result<Built, Error> {
    gate::build(inputs)
}

impl Built {
    /// berth's rules: an error stops everything; warnings join [`Environment::warnings`].
    pub fn gate(self) -> Result<Environment, Error> {
        gate::rules(self)
    }
}

impl Environment {
    /// [`build`] and [`Built::gate`]: the environment every command works from.
    pub fn load(inputs: &Inputs) -> Result<Environment, Error> {
        build(inputs)?.gate()
    }

    /// The stages read, sorted by name.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage named, when it was read.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name.as_str() == name)
    }

    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// The template of `stack`.
    pub fn template(&self, stack: Stack) -> &Template {
        self.templates
            .iter()
            .find(|t| t.stack == stack)
            .expect("the gate lets through both templates")
    }

    /// Every file synth writes.
    pub fn files(&self) -> &[OutputFile] {
        &self.files
    }

    /// What is worth showing: the templates' validation warnings and berth's rules' warnings.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What a rollout of `stage` depends on: the synthesized service template's timings and policies,
    /// with the stage's values for its parameters, and the stage's counts (tasks per instance from the
    /// capacity check). The input of [`rollout::simulate`].
    pub fn rollout_setup(&self, stage: &Stage) -> rollout::Setup {
        let params: std::collections::BTreeMap<String, String> = stage
            .parameters(Stack::Service)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let (i, s) = (&stage.instances, &stage.service);
        let slots = stage.instance_type().map_or(1, |t| {
            infra::capacity::plan(&t, s.cpu, s.memory, s.max_count, i.max)
                .fit
                .per_instance
        });
        let counts = rollout::Counts {
            tasks: s.min_count,
            max_tasks: s.max_count,
            slots_per_instance: slots,
            min_instances: i.min,
            max_instances: i.max,
        };
        rollout::Setup::from_template(&self.template(Stack::Service).value, &params, counts)
    }

    /// The environment as a picture, named after `stage` when given (else the templates' own
    /// `${AppName}-${StageName}` scheme).
    pub fn graph(&self, stage: Option<&Stage>, format: GraphFormat) -> String {
        graph::render(&self.templates, stage, format)
    }
}

/// The path of `stack`'s template in `format`.
pub(crate) fn template_path(stack: Stack, format: Format) -> PathBuf {
    PathBuf::from(infra_layout::template_path(stack, format.extension()))
}

/// The one stage `inputs` names ([`Inputs::only`]), read and validated, without building the
/// templates: for the commands that need only its names and region (`status`, `secrets`, ...).
pub fn load_stage(inputs: &Inputs) -> Result<Stage, Error> {
    let name = inputs.only.as_deref().unwrap_or_default();
    let stages = stages::load(&inputs.stages_dir, Some(name)).map_err(|errors| {
        Error::StageFiles(errors.iter().map(|e| inputs.relative(&e.to_string())).collect())
    })?;
    Ok(stages
        .stages
        .into_iter()
        .next()
        .expect("a stage file read is a stage"))
}
