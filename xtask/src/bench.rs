//! `cargo xtask bench`: how fast synth is, in process and as the command people run (`--deploy`:
//! how fast a deploy is, in [`crate::bench_deploy`]).
//!
//! Figures, not assertions: the numbers go in notes and reviews, never into tests.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cli::BenchArgs;
use environment::{Environment, Inputs};

use crate::util;

struct Stats {
    min: Duration,
    median: Duration,
    p90: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        min: samples[0],
        median: at(0.5),
        p90: at(0.9),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

#[allow(clippy::print_stdout, reason = "the command's output")]
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.deploy {
        return crate::bench_deploy::run(args.deploy_runs, args.localstack);
    }
    let root = util::project_root();
    let profile = if cfg!(debug_assertions) {
        "dev profile, as `cargo xtask` builds it"
    } else {
        "release"
    };
    println!(
        "berth synth benchmark ({profile}; {} logical CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // In process: (a) both templates built, validated and rendered; (b) everything synth computes,
    // through the one gate: the stage files read and validated, the templates, every stage's
    // parameter files checked against them, the buildspec, berth's rules. Nothing written.
    let inputs = Inputs::new(&root);
    let n_stages = Environment::load(&inputs)?.stages().len();
    let templates = || -> Result<()> {
        for stack in pipeline_model::Stack::ALL {
            let t = infra::template(stack, cfn::Format::Yaml);
            std::hint::black_box(t.synth(cfn::Format::Yaml).map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        Ok(())
    };
    for _ in 0..5 {
        Environment::load(&inputs)?;
    }
    let mut gated = Vec::with_capacity(args.runs);
    let mut render_only = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let t = Instant::now();
        let env = Environment::load(&inputs)?;
        gated.push(t.elapsed());
        std::hint::black_box(env);
        let t = Instant::now();
        templates()?;
        render_only.push(t.elapsed());
    }
    let (a, b) = (stats(render_only), stats(gated));
    println!(
        "\nin process, 2 templates + {n_stages} stages x 2 parameter files ({} runs):",
        args.runs
    );
    println!(
        "  (a) the 2 templates: build + validate + render  min {}  median {}  p90 {}",
        ms(a.min),
        ms(a.median),
        ms(a.p90)
    );
    println!(
        "  (b) the whole gate (stage files to checked files) min {}  median {}  p90 {}",
        ms(b.min),
        ms(b.median),
        ms(b.p90)
    );
    if let Some(kib) = peak_rss_kib_self() {
        println!("  peak RSS of this process: {:.1} MiB", kib as f64 / 1024.0);
    }

    // The command, warm: what a developer runs after an edit-free build.
    let cargo_runs = 10;
    util::run(util::cargo().args(["build", "--quiet", "--package", "xtask"]))?;
    let mut warm = Vec::new();
    for _ in 0..cargo_runs {
        let t = Instant::now();
        let out = util::cargo().args(["xtask", "synth"]).output()?;
        warm.push(t.elapsed());
        if !out.status.success() {
            bail!(
                "cargo xtask synth failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let w = stats(warm);
    println!("\n`cargo xtask synth`, warm ({cargo_runs} runs, cargo's freshness check included):");
    println!("  min {}  median {}  p90 {}", ms(w.min), ms(w.median), ms(w.p90));
    let binary = util::target_dir().join("debug/xtask");
    let mut alone = Vec::new();
    for _ in 0..cargo_runs {
        let t = Instant::now();
        Command::new(&binary).arg("synth").current_dir(&root).output()?;
        alone.push(t.elapsed());
    }
    let b = stats(alone);
    println!("  the binary alone: min {}  median {}", ms(b.min), ms(b.median));
    if let Some(kib) = peak_rss_kib(&binary, &["synth"], &root) {
        println!("  peak RSS of `xtask synth`: {:.1} MiB", kib as f64 / 1024.0);
    }

    if args.cold {
        let tmp = tempfile::tempdir()?;
        let clone = tmp.path().join("berth");
        util::run(
            Command::new("git")
                .args(["clone", "--quiet"])
                .arg(&root)
                .arg(&clone),
        )?;
        let t = Instant::now();
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["xtask", "synth"])
            .current_dir(&clone)
            .env("CARGO_TARGET_DIR", tmp.path().join("target"))
            .status()
            .context("running cargo xtask synth in the fresh clone")?;
        let cold = t.elapsed();
        if !status.success() {
            bail!("the cold `cargo xtask synth` failed");
        }
        println!(
            "\n`cargo xtask synth` on a fresh clone, empty target directory: {:.1} s",
            cold.as_secs_f64()
        );
        let aws = std::fs::read_dir(tmp.path().join("target/debug/deps"))?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("libaws_sdk"))
            .count();
        println!("  AWS SDK crates compiled on the way: {aws}");
    }
    Ok(())
}

/// VmHWM of this process, in KiB (Linux).
fn peak_rss_kib_self() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Peak RSS (KiB) of a command, through GNU time when it is installed.
fn peak_rss_kib(program: &Path, args: &[&str], dir: &Path) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}
