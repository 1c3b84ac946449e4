//! The environment as a picture: both stacks, their references, the pipeline's flow.

use std::collections::BTreeMap;

use infra::Stage;
use pipeline_model::{Names, Stack};

use crate::Template;

/// The picture's notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

/// The graph of the templates, named after `stage` when given.
pub(crate) fn render(templates: &[Template], stage: Option<&Stage>, format: GraphFormat) -> String {
    let mut vars = BTreeMap::new();
    let names = match stage {
        Some(st) => {
            for s in Stack::ALL {
                for (k, v) in st.parameters(s) {
                    vars.insert(k.to_owned(), v);
                }
            }
            st.names()
        }
        None => Names::template(),
    };
    let stacks: Vec<lint::graph::Stack<'_>> = templates
        .iter()
        .map(|t| lint::graph::Stack {
            key: t.stack.suffix(),
            name: names.stack(t.stack),
            template: &t.value,
        })
        .collect();
    let format = match format {
        GraphFormat::Mermaid => lint::graph::Format::Mermaid,
        GraphFormat::Dot => lint::graph::Format::Dot,
    };
    lint::graph::render(&stacks, &vars, format)
}
