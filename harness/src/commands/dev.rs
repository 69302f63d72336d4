//! `kernlings dev new <module>/<name>`: the files of a new exercise, for an instructor to fill.
//!
//! It writes the stub, the solution, a known-wrong template and a curriculum entry, each marked
//! with `SCAFFOLD_MARK` where the lesson is still to be written; `check-solutions` names every
//! mark left (see `scaffold_left`), so an exercise cannot pass the gate half-written. Where an
//! exercise with the same check exists, its stub, solution and sizes are the starting point:
//! they already fit the kernel name and signature the check launches.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use super::Course;
use crate::cli::NewKind;
use crate::curriculum::{self, Exercise, ExerciseKind};
use crate::grade::checks::{self, Check};

/// What `dev new` leaves where the instructor has work to do.
pub const SCAFFOLD_MARK: &str = "TODO(kernlings dev new)";

pub fn new(course: &Course, target: &str, kind: NewKind, check: &str) -> anyhow::Result<ExitCode> {
    let cmd = crate::toolchain::command_name();
    let Some((module, name)) = target.split_once('/') else {
        bail!("name the exercise as <module>/<name>, e.g. 01_basics/saxpy");
    };
    let ok_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !ok_name(name) {
        bail!("`{name}`: an exercise name uses letters, digits, `_` or `-`");
    }
    if course.curriculum.module(module).is_none() {
        let ids: Vec<&str> = course
            .curriculum
            .modules
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        bail!(
            "no module `{module}` in curriculum.toml (it has: {}); add a [[modules]] entry (id, \
             title, intro) first",
            ids.join(", ")
        );
    }
    if course.curriculum.exercise(name).is_some() {
        bail!("curriculum.toml already has an exercise named `{name}`");
    }
    let kind = match kind {
        NewKind::Cuda => ExerciseKind::Cuda,
        NewKind::Rust => ExerciseKind::Rust,
    };
    check_fits(check, kind)?;
    let ext = match kind {
        ExerciseKind::Cuda => "cu",
        ExerciseKind::Rust => "rs",
    };
    let file = format!("{module}/{name}.{ext}");
    let entry = Exercise {
        name: name.to_string(),
        module: module.to_string(),
        file: file.clone(),
        kind,
        hints: Vec::new(),
        check: check.to_string(),
        sizes: Vec::new(),
        tolerance: None,
        speed: None,
        timeout: None,
    };
    let stub = curriculum::exercise_path(&course.root, &entry);
    let solution = curriculum::solution_path(&course.root, &entry);
    let wrong = course
        .root
        .join("harness/wrong")
        .join(name)
        .join(format!("TODO_name_the_mistake.{ext}"));
    for path in [&stub, &solution, &wrong] {
        if path.exists() {
            bail!(
                "{} exists already: nothing was written",
                course.display_path(path)
            );
        }
    }

    let like = course
        .curriculum
        .exercises
        .iter()
        .find(|e| e.check == check && e.kind == kind);
    let read = |path: PathBuf| fs::read_to_string(&path).ok();
    let (stub_text, solution_text) = match like {
        Some(like) => (
            read(curriculum::exercise_path(&course.root, like)),
            read(curriculum::solution_path(&course.root, like)),
        ),
        None => (None, None),
    };
    let start = like.map_or_else(
        || format!("the `{check}` check's kernel"),
        |l| format!("`{}`'s", l.name),
    );
    let what = match kind {
        ExerciseKind::Cuda => "kernel",
        ExerciseKind::Rust => "function",
    };
    let stub_text = comment(&format!(
        "{SCAFFOLD_MARK}: the lesson. Say what this {what} computes, what the learner must \
         write and what to look at; never the answer, and no number the harness does not \
         enforce. It starts as {start} stub; delete these lines when done."
    )) + &stub_text.unwrap_or_else(|| blank(kind, check));
    let solution_text = comment(&format!(
        "{SCAFFOLD_MARK}: the reference solution, graded by `{check}`; it starts as {start} \
         solution. Delete these lines when it is yours."
    )) + &solution_text.unwrap_or_else(|| blank(kind, check));
    let wrong_text = format!(
        "// expect: {SCAFFOLD_MARK} (the words the failure message must contain)\n{}{solution_text}",
        comment(&format!(
            "{SCAFFOLD_MARK}: a known-wrong version: the solution broken the way learners \
             break it (a bound off by one, a missing __syncthreads, idle work on repeated \
             launches). Name the file after the mistake and put its failure's words on the \
             first line."
        ))
    );
    for (path, text) in [
        (&stub, &stub_text),
        (&solution, &solution_text),
        (&wrong, &wrong_text),
    ] {
        let dir = path.parent().expect("a file has a parent");
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    append_entry(
        &course.root.join(curriculum::FILE_NAME),
        &entry,
        like.map(|l| &l.sizes[..]),
    )?;

    let shown = |p: &Path| course.display_path(p);
    let mut out = String::new();
    let _ = writeln!(out, "New exercise `{name}` in module {module}:");
    for (path, what) in [
        (&stub, "the stub the learner edits"),
        (&solution, "the reference solution"),
        (&wrong, "a known-wrong version to rename and write"),
    ] {
        let _ = writeln!(out, "  {:<48} {what}", shown(path));
    }
    let _ = writeln!(
        out,
        "  {:<48} its entry, at the end: move it among module {module}'s",
        curriculum::FILE_NAME
    );
    let _ = writeln!(
        out,
        "\nEach place to fill says {SCAFFOLD_MARK}. Next:\n  \
         1. Write the stub's lesson and TODOs, and the solution.\n  \
         2. In curriculum.toml: hints in levels, sizes with edge cases (1, 31, 32, 33, an odd \
         tail){}.\n  \
         3. Known-wrong versions in harness/wrong/{name}/, one per mistake, each with its \
         `// expect:` words.\n  \
         4. `{cmd} check-solutions --backend cpu --exercise {name}` until it passes: it names \
         every {SCAFFOLD_MARK} left.",
        if kind == ExerciseKind::Cuda {
            ", and `speed = { baseline, bar, size }` if it is timed (uncalibrated until measured \
             on a GPU)"
        } else {
            ""
        }
    );
    if like.is_none() {
        let _ = writeln!(
            out,
            "No exercise uses `{check}` yet: the stub and solution are blanks; the kernel's \
             name and arguments are the ones harness/src/grade/checks/ launches."
        );
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The curriculum rejects a check it does not know, which would break every command: only
/// registered checks of the exercise's kind are taken.
fn check_fits(check: &str, kind: ExerciseKind) -> anyhow::Result<()> {
    let fits = match checks::find(check) {
        None => bail!(
            "no check named `{check}`. A new one is a file in harness/src/grade/checks/ (copy \
             vector_add.rs) and an entry in CHECKS in checks/mod.rs; rebuild, then run this \
             again. Registered: {}",
            checks::names().collect::<Vec<_>>().join(", ")
        ),
        Some(Check::Cuda(_)) => kind == ExerciseKind::Cuda,
        Some(Check::Rust(_)) => kind == ExerciseKind::Rust,
        Some(Check::Source(_)) => true,
    };
    if !fits {
        bail!("`{check}` grades the other kind of exercise: pass the --kind it grades");
    }
    Ok(())
}

/// `text` as `//` comment lines of at most 100 columns.
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("//");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 100 && line.len() > 2 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("//");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A file to start from when no exercise has the check yet.
fn blank(kind: ExerciseKind, check: &str) -> String {
    match kind {
        ExerciseKind::Cuda => format!(
            "// TODO: the kernel `{check}` launches, with the arguments it passes.\n\
             extern \"C\" __global__ void {check}() {{\n}}\n"
        ),
        ExerciseKind::Rust => {
            "// TODO: the function the grader calls, with the signature it calls it with.\n"
                .to_string()
        }
    }
}

/// Appends the entry as TOML; sizes from the exercise it starts from, if any.
fn append_entry(path: &Path, ex: &Exercise, sizes: Option<&[Vec<usize>]>) -> anyhow::Result<()> {
    let mut text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let kind = match ex.kind {
        ExerciseKind::Cuda => "cuda",
        ExerciseKind::Rust => "rust",
    };
    let sizes = match sizes.filter(|s| !s.is_empty()) {
        Some(sizes) => format!(
            "sizes = [{}]\n",
            sizes
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    let _ = write!(
        text,
        "\n[[exercises]]\nname = \"{}\"\nmodule = \"{}\"\nfile = \"{}\"\nkind = \"{kind}\"\n\
         check = \"{}\"\n# {SCAFFOLD_MARK}: sizes with edge cases the check runs; `speed` if \
         timed.\n# Delete these lines when done.\n{sizes}hints = [\n    \"{SCAFFOLD_MARK}: a first \
         hint that nudges.\",\n    \"{SCAFFOLD_MARK}: a last hint that nearly tells.\",\n]\n",
        ex.name, ex.module, ex.file, ex.check
    );
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Where `ex` still holds what `dev new` left to fill, for the check-solutions lint.
pub fn scaffold_left(course: &Course, ex: &Exercise) -> Vec<String> {
    let mut out = Vec::new();
    let mut files = vec![
        curriculum::exercise_path(&course.root, ex),
        curriculum::solution_path(&course.root, ex),
    ];
    if let Ok(dir) = fs::read_dir(course.root.join("harness/wrong").join(&ex.name)) {
        let mut cases: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        cases.sort();
        files.extend(cases);
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        if let Some(i) = text.lines().position(|l| l.contains(SCAFFOLD_MARK)) {
            out.push(format!(
                "{}:{}: {SCAFFOLD_MARK} left: {}",
                course.display_path(&file),
                i + 1,
                what_to_fill(&file, &ex.name)
            ));
        }
    }
    let manifest = course.root.join(curriculum::FILE_NAME);
    if let Ok(text) = fs::read_to_string(&manifest) {
        // The mark within this exercise's entry: from its name line to the next entry.
        let lines: Vec<&str> = text.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.trim() == format!("name = \"{}\"", ex.name));
        if let Some(start) = start {
            let end = lines[start..]
                .iter()
                .position(|l| l.trim_start().starts_with("[["))
                .map_or(lines.len(), |n| start + n);
            if let Some(i) = (start..end).find(|&i| lines[i].contains(SCAFFOLD_MARK)) {
                out.push(format!(
                    "{}:{}: {SCAFFOLD_MARK} left in `{}`'s entry: hints, sizes, speed",
                    curriculum::FILE_NAME,
                    i + 1,
                    ex.name
                ));
            }
        }
    }
    out
}

fn what_to_fill(file: &Path, name: &str) -> &'static str {
    let under = |dir: &str| file.components().any(|c| c.as_os_str() == dir);
    if under("wrong") && file.parent().is_some_and(|p| p.ends_with(name)) {
        "write a known-wrong version and its `// expect:` words"
    } else if under("solutions") {
        "write the reference solution"
    } else {
        "write the stub's lesson"
    }
}
