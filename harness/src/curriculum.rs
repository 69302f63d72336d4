//! `curriculum.toml`: the ordered list of modules and exercises.
//!
//! These serde types are the contract between the manifest, the grader and the CLI.
//! Validation (with file, line and field in every message) lives in this module too.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The manifest format this build understands.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Curriculum {
    pub format: u32,
    #[serde(default)]
    pub modules: Vec<Module>,
    #[serde(default)]
    pub exercises: Vec<Exercise>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    pub id: String,
    pub title: String,
    pub intro: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseKind {
    Cuda,
    Rust,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub name: String,
    pub module: String,
    /// Path relative to both `exercises/` and `solutions/`.
    pub file: String,
    pub kind: ExerciseKind,
    /// Hints in levels: the first nudges, the last nearly tells.
    pub hints: Vec<String>,
    /// The name of the check (a function in the grader's registry) that grades this exercise.
    pub check: String,
    /// Problem sizes for the correctness cases; their meaning belongs to the check.
    #[serde(default)]
    pub sizes: Vec<Vec<usize>>,
    #[serde(default)]
    pub tolerance: Option<Tolerance>,
    #[serde(default)]
    pub speed: Option<SpeedBar>,
    /// Seconds the watchdog allows when `--timeout` is not given, where the backend's default
    /// is too short: timed cases whose references and checks take long (module 06's 8192^2).
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// `|out - ref| <= atol + rtol * |ref|`, element by element.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// What the learner's kernel is timed against, measured in the same run.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Device-to-device memcpy: the bandwidth a memory-bound kernel can hope for.
    Copy,
    /// cuBLAS SGEMM on the same shapes.
    Cublas,
    /// The harness's own naive kernel for the same problem.
    Naive,
    /// A CPU exercise's naive Rust version, timed in the same process.
    CpuNaive,
}

/// A speed bar: the learner passes when `ratio >= bar`, where `ratio` is
/// baseline_time / learner_time (so 0.85 against `copy` means 85% of copy bandwidth).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpeedBar {
    pub baseline: Baseline,
    pub bar: f64,
    /// Problem size for the timed case.
    pub size: Vec<usize>,
    /// The step's idea in one line, shown with a near miss ("look at ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idea: Option<String>,
    /// Further bars, each against a baseline the check times beside the first one (e.g. a
    /// causal kernel against the harness's non-causal one); every bar must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<AlsoBar>,
}

/// A second bar of one exercise, against the baseline the check names `against`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlsoBar {
    pub against: String,
    pub bar: f64,
}

/// The manifest's file name, at the repository root.
pub const FILE_NAME: &str = "curriculum.toml";

impl Curriculum {
    /// Reads and validates `root/curriculum.toml`. `checks` are the names the grader knows. Every problem found is reported at once, each with its line.
    pub fn load(root: &Path, checks: &[&str]) -> anyhow::Result<Curriculum> {
        let path = root.join(FILE_NAME);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Curriculum::parse(&text, &path, root, checks)
    }

    /// `path` only names the manifest in messages; files are looked up under `root`.
    pub fn parse(
        text: &str,
        path: &Path,
        root: &Path,
        checks: &[&str],
    ) -> anyhow::Result<Curriculum> {
        let curriculum: Curriculum = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let source = text.lines().nth(line - 1).unwrap_or("").trim();
            let field = key_of(source)
                .map(|k| format!("field `{k}`: "))
                .unwrap_or_default();
            anyhow!(
                "{}:{line}: {field}{}\n    {line} | {source}",
                path.display(),
                e.message().trim_end()
            )
        })?;
        let spans: Spans =
            toml::from_str(text).context("re-reading curriculum for line numbers")?;
        let problems = curriculum.problems(&spans, text, root, checks);
        if problems.is_empty() {
            return Ok(curriculum);
        }
        let list: Vec<String> = problems
            .iter()
            .map(|p| format!("{}:{}: {}", path.display(), p.line, p.message))
            .collect();
        bail!(
            "{} has {} problem{}:\n{}",
            path.display(),
            list.len(),
            if list.len() == 1 { "" } else { "s" },
            list.join("\n")
        )
    }

    pub fn exercise(&self, name: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|e| e.name == name)
    }

    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.id == id)
    }

    fn problems(&self, spans: &Spans, text: &str, root: &Path, checks: &[&str]) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.format != FORMAT_VERSION {
            out.push(Problem {
                line: spans.format.as_ref().map_or(1, |s| line_of(text, s.span().start)),
                message: format!(
                    "field `format`: version {} is not supported; this kernlings reads format {FORMAT_VERSION}",
                    self.format
                ),
            });
        }
        let mut module_ids = HashSet::new();
        for (i, module) in self.modules.iter().enumerate() {
            let at = |field: &str| entry_line(text, &spans.modules, i, field);
            if !module_ids.insert(module.id.as_str()) {
                out.push(Problem::new(
                    at("id"),
                    format!("module `{}`: field `id`: duplicate module id", module.id),
                ));
            }
        }
        let mut names = HashSet::new();
        for (i, ex) in self.exercises.iter().enumerate() {
            let at = |field: &str| entry_line(text, &spans.exercises, i, field);
            let who = format!("exercise `{}`", ex.name);
            if ex.name.is_empty()
                || !ex
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push(Problem::new(
                    at("name"),
                    format!("{who}: field `name`: use letters, digits, `_` or `-`"),
                ));
            }
            if !names.insert(ex.name.as_str()) {
                out.push(Problem::new(
                    at("name"),
                    format!("{who}: field `name`: duplicate exercise name"),
                ));
            }
            if !module_ids.contains(ex.module.as_str()) {
                let known: Vec<&str> = self.modules.iter().map(|m| m.id.as_str()).collect();
                out.push(Problem::new(
                    at("module"),
                    format!(
                        "{who}: field `module`: unknown module `{}` (modules: {})",
                        ex.module,
                        known.join(", ")
                    ),
                ));
            }
            if ex.hints.is_empty() || ex.hints.iter().any(|h| h.trim().is_empty()) {
                out.push(Problem::new(
                    at("hints"),
                    format!("{who}: field `hints`: give at least one hint, and no empty ones"),
                ));
            }
            if !checks.contains(&ex.check.as_str()) {
                out.push(Problem::new(
                    at("check"),
                    format!(
                        "{who}: field `check`: no check named `{}` in the grader (checks: {})",
                        ex.check,
                        checks.join(", ")
                    ),
                ));
            }
            if let Some(problem) = file_problem(ex, root) {
                out.push(Problem::new(
                    at("file"),
                    format!("{who}: field `file`: {problem}"),
                ));
            }
            let bars = ex
                .speed
                .iter()
                .flat_map(|s| std::iter::once(s.bar).chain(s.also.iter().map(|a| a.bar)));
            if let Some(speed) = &ex.speed {
                let names: Vec<&str> = speed.also.iter().map(|a| a.against.as_str()).collect();
                if let Some(dup) = names
                    .iter()
                    .enumerate()
                    .find(|(i, n)| names[..*i].contains(n))
                {
                    out.push(Problem::new(
                        at("speed"),
                        format!(
                            "{who}: field `speed`: two `also` bars against \"{}\"",
                            dup.1
                        ),
                    ));
                }
            }
            for bar in bars.filter(|b| !(*b > 0.0 && b.is_finite())) {
                out.push(Problem::new(
                    at("speed"),
                    format!("{who}: field `speed`: the bar is a ratio to the baseline and must be above 0, not {bar}"),
                ));
            }
            if let Some(t) = ex.tolerance.filter(|t| !(t.rtol >= 0.0 && t.atol >= 0.0)) {
                out.push(Problem::new(
                    at("tolerance"),
                    format!(
                        "{who}: field `tolerance`: rtol and atol must be 0 or more, not {} and {}",
                        t.rtol, t.atol
                    ),
                ));
            }
        }
        out
    }
}

/// The learner's copy of an exercise.
pub fn exercise_path(root: &Path, ex: &Exercise) -> PathBuf {
    root.join("exercises").join(&ex.file)
}

/// The reference solution, at the mirror path.
pub fn solution_path(root: &Path, ex: &Exercise) -> PathBuf {
    root.join("solutions").join(&ex.file)
}

fn file_problem(ex: &Exercise, root: &Path) -> Option<String> {
    let rel = Path::new(&ex.file);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Some(format!(
            "`{}` must be a plain path relative to exercises/ and solutions/",
            ex.file
        ));
    }
    let wanted = match ex.kind {
        ExerciseKind::Cuda => "cu",
        ExerciseKind::Rust => "rs",
    };
    if rel.extension().and_then(|e| e.to_str()) != Some(wanted) {
        return Some(
            format!(
                "`{}` must end in .{wanted} for a {:?} exercise",
                ex.file, ex.kind
            )
            .to_lowercase(),
        );
    }
    // A learner may have deleted their copy (`reset` restores it); a path in neither tree is a typo.
    if !exercise_path(root, ex).exists() && !solution_path(root, ex).exists() {
        return Some(format!(
            "`{}` exists in neither exercises/ nor solutions/",
            ex.file
        ));
    }
    None
}

struct Problem {
    line: usize,
    message: String,
}

impl Problem {
    fn new(line: usize, message: String) -> Problem {
        Problem { line, message }
    }
}

type Entry = Spanned<BTreeMap<String, Spanned<toml::Value>>>;

/// The manifest read a second time, keeping where each entry and field starts.
#[derive(Deserialize)]
struct Spans {
    format: Option<Spanned<toml::Value>>,
    #[serde(default)]
    modules: Vec<Entry>,
    #[serde(default)]
    exercises: Vec<Entry>,
}

/// The line of `field` in entry `i`, or of the entry itself when the field is absent.
fn entry_line(text: &str, entries: &[Entry], i: usize, field: &str) -> usize {
    let Some(entry) = entries.get(i) else {
        return 1;
    };
    let at = entry
        .get_ref()
        .get(field)
        .map_or(entry.span().start, |v| v.span().start);
    line_of(text, at)
}

/// The key a `key = value` line sets, if it is one.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    plain.then_some(key)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"format = 1

[[modules]]
id = "01"
title = "Threads"
intro = "Every thread finds its element."

[[exercises]]
name = "vector_add"
module = "01"
file = "01/vector_add.cu"
kind = "cuda"
hints = ["one", "two"]
check = "fixture"
"#;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("exercises/01")).unwrap();
        std::fs::write(dir.path().join("exercises/01/vector_add.cu"), "// TODO").unwrap();
        dir
    }

    fn parse(text: &str) -> anyhow::Result<Curriculum> {
        let dir = tree();
        Curriculum::parse(text, Path::new("curriculum.toml"), dir.path(), &["fixture"])
    }

    fn error(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn good_manifest_loads() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.exercises.len(), 1);
        assert_eq!(c.exercise("vector_add").unwrap().hints.len(), 2);
        assert_eq!(c.module("01").unwrap().title, "Threads");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let text = GOOD.replace("kind = \"cuda\"", "kind = cuda");
        let msg = error(&text);
        assert!(
            msg.starts_with("curriculum.toml:12: field `kind`: "),
            "{msg}"
        );
    }

    #[test]
    fn wrong_type_names_line_and_field() {
        let text = GOOD.replace("hints = [\"one\", \"two\"]", "hints = \"one\"");
        let msg = error(&text);
        assert!(
            msg.contains("curriculum.toml:13: field `hints`: invalid type"),
            "{msg}"
        );
        assert!(msg.contains(r#"13 | hints = "one""#), "{msg}");
    }

    #[test]
    fn unknown_field_is_an_error_with_its_line() {
        let text = GOOD.replace("check = \"fixture\"", "check = \"fixture\"\nspeedbar = 3");
        let msg = error(&text);
        assert!(
            msg.contains("curriculum.toml:15: field `speedbar`: unknown field"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_module_points_at_the_field() {
        let msg = error(&GOOD.replace("module = \"01\"", "module = \"07\""));
        assert!(
            msg.contains(
                "curriculum.toml:10: exercise `vector_add`: field `module`: unknown module `07`"
            ),
            "{msg}"
        );
    }

    #[test]
    fn semantic_problems_are_all_reported_with_lines() {
        let text = format!(
            "{GOOD}\n[[exercises]]\nname = \"vector_add\"\nmodule = \"01\"\nfile = \"01/missing.cu\"\nkind = \"cuda\"\nhints = []\ncheck = \"nope\"\n"
        );
        let msg = error(&text);
        assert!(msg.contains("4 problems"), "{msg}");
        assert!(
            msg.contains("curriculum.toml:17: exercise `vector_add`: field `name`: duplicate"),
            "{msg}"
        );
        assert!(msg.contains("curriculum.toml:19: exercise `vector_add`: field `file`: `01/missing.cu` exists in neither"), "{msg}");
        assert!(
            msg.contains("curriculum.toml:21: exercise `vector_add`: field `hints`"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "curriculum.toml:22: exercise `vector_add`: field `check`: no check named `nope`"
            ),
            "{msg}"
        );
    }

    #[test]
    fn speed_bar_and_tolerance_must_make_sense() {
        let text = format!(
            "{GOOD}tolerance = {{ rtol = -1.0, atol = 0.0 }}\nspeed = {{ baseline = \"copy\", bar = 0.0, size = [1] }}\n"
        );
        let msg = error(&text);
        assert!(msg.contains("curriculum.toml:15: exercise `vector_add`: field `tolerance`: rtol and atol must be 0 or more"), "{msg}");
        assert!(
            msg.contains(
                "curriculum.toml:16: exercise `vector_add`: field `speed`: the bar is a ratio"
            ),
            "{msg}"
        );
    }

    #[test]
    fn also_bars_are_checked_like_the_bar_and_named_once() {
        let also = "also = [{ against = \"k\", bar = 1.1 }, { against = \"k\", bar = -1.0 }]";
        let text =
            format!("{GOOD}speed = {{ baseline = \"naive\", bar = 1.0, size = [1], {also} }}\n");
        let msg = error(&text);
        assert!(msg.contains("two `also` bars against \"k\""), "{msg}");
        assert!(msg.contains("must be above 0, not -1"), "{msg}");
    }

    #[test]
    fn bad_format_version() {
        let msg = error(&GOOD.replace("format = 1", "format = 2"));
        assert!(
            msg.contains("curriculum.toml:1: field `format`: version 2 is not supported"),
            "{msg}"
        );
    }

    #[test]
    fn extension_must_match_kind() {
        let msg = error(&GOOD.replace("kind = \"cuda\"", "kind = \"rust\""));
        assert!(msg.contains("curriculum.toml:11: exercise `vector_add`: field `file`: `01/vector_add.cu` must end in .rs"), "{msg}");
    }

    #[test]
    fn paths_may_not_escape_the_trees() {
        let msg = error(&GOOD.replace("01/vector_add.cu", "../../etc/x.cu"));
        assert!(
            msg.contains("curriculum.toml:11:") && msg.contains("plain path"),
            "{msg}"
        );
    }
}
