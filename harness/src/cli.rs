//! The command line: rustlings' verbs, plus the instructor's.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::toolchain::BackendChoice;

/// The watchdog's defaults: long enough for a real kernel, short enough that an endless loop
/// does not feel like a frozen terminal. The CPU backend interprets PTX, so it gets longer.
pub const GPU_TIMEOUT_SECS: f64 = 10.0;
pub const CPU_TIMEOUT_SECS: f64 = 30.0;

#[derive(Debug, Parser)]
#[command(
    name = "kernlings",
    version,
    about = "Learn GPU programming by fixing small CUDA kernels",
    long_about = "Learn GPU programming by fixing small CUDA kernels.\n\
                  Run with no command to start `watch`: it shows the current exercise and grades it on every save."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Replay a grading run with the inputs drawn from this seed (printed after every run).
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// Check correctness only; skip timing against the speed bar.
    #[arg(long, global = true)]
    pub no_speed: bool,
    /// Where kernels run: a real GPU, the CPU driver (PTX interpreter), or whichever is available.
    #[arg(long, global = true, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Seconds before a grading run that has not finished is killed (an endless loop, say)
    /// [default: 10 on a GPU, 30 on the CPU backend]
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// The course directory (holding curriculum.toml); found upward from the current one by default.
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Never download (NVRTC from PyPI): say what to install instead. Also KERNLINGS_OFFLINE=1.
    #[arg(long, global = true)]
    pub offline: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the current exercise and grade it on every save (the default).
    Watch,
    /// Grade every exercise in order, stopping at the first that fails.
    Verify {
        /// Print the outcomes as JSON on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        prebuilt: Prebuilt,
    },
    /// Grade one exercise.
    Run {
        name: String,
        #[command(flatten)]
        prebuilt: Prebuilt,
    },
    /// Show the next hint for an exercise (the current one by default).
    Hint {
        name: Option<String>,
        /// Show every hint level at once.
        #[arg(long)]
        all: bool,
    },
    /// List the exercises and where you are.
    List,
    /// Restore an exercise's original stub (your version is kept in .kernlings/backups/).
    Reset { name: String },
    /// Your progress state's kept copies (moved aside when unreadable): list or restore them.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Write PROGRESS.md: this week's work, progress per module, best speeds, check-in.
    Report,
    /// Show what you changed in an exercise, against its original stub.
    Diff { name: String },
    /// Profile an exercise's kernel: Nsight Compute's counters on a GPU (`ncu` on PATH), the
    /// interpreter's on the CPU backend; saved for PROGRESS.md.
    Profile {
        name: String,
        /// Record a note with this profile, e.g. "naive vs tiled: tiles cut DRAM traffic 8x".
        #[arg(long)]
        note: Option<String>,
    },
    /// Instructor: lint the curriculum, grade every solution, stub and known-wrong kernel.
    CheckSolutions {
        /// Print the results as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Only this module.
        #[arg(long, value_name = "ID")]
        module: Option<String>,
        /// Only this exercise.
        #[arg(long, value_name = "NAME")]
        exercise: Option<String>,
        #[command(flatten)]
        prebuilt: Prebuilt,
    },
    /// Start your server exercise (module 10) on 127.0.0.1 with the fake model, or with
    /// `--model smollm2` the real SmolLM2-135M on the CPU (weights downloaded once), or with
    /// `--model smollm2-gpu` on a GPU with your kernels of modules 03, 06, 08 and 09, to curl it.
    Serve {
        name: String,
        #[arg(long, default_value_t = 8000)]
        port: u16,
        #[arg(long, value_enum, default_value_t = ServeModel::Fake)]
        model: ServeModel,
        /// With smollm2-gpu: instead of serving, compare its greedy tokens with the CPU
        /// model's and load-test it through your server, continuous against static.
        #[arg(long)]
        bench: bool,
        /// With smollm2-gpu: the kernels of solutions/ instead of yours (instructors).
        #[arg(long)]
        solutions: bool,
        /// The server grader, built elsewhere (instructors on a machine without cargo).
        #[arg(long, hide = true, value_name = "FILE")]
        grader: Option<PathBuf>,
    },
    /// Instructor: build the grader binaries of the `.rs` exercises into DIR (for `--prebuilt`).
    BuildGraders { dir: PathBuf },
    /// Instructor and developer tools: scaffolding exercises, the CPU driver's parity fixtures
    /// (not a learner's; see README "Instructors").
    #[command(hide = true)]
    Dev {
        #[command(subcommand)]
        action: DevAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevAction {
    /// The interpreter's PTX fixtures against a recording of their outputs.
    Parity {
        #[command(subcommand)]
        action: ParityAction,
    },
    /// Scaffold an exercise: stub, solution, a known-wrong template and a curriculum entry,
    /// each marked where the lesson is to be written (check-solutions lists what is left).
    New {
        /// Where and what: MODULE/NAME, e.g. 01_basics/saxpy (the module must exist).
        #[arg(value_name = "MODULE/NAME")]
        target: String,
        /// A `.cu` kernel or a `.rs` host program.
        #[arg(long, value_enum, default_value_t = NewKind::Cuda)]
        kind: NewKind,
        /// The registered check that grades it; an exercise using it already is the start.
        #[arg(long, value_name = "NAME")]
        check: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ParityAction {
    /// Run every fixture in DIR on the backend in use; write its outputs and/or compare them
    /// with a recording (exact, or within the tolerance a fixture states).
    Run {
        /// The directory of `.ptx` fixtures with their `// parity:` lines.
        #[arg(long, value_name = "DIR")]
        fixtures: PathBuf,
        /// Write the outputs here, one line per 8 elements, as hex bit patterns.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Compare the outputs with this recording; exit non-zero on a difference.
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
        /// Differences from --check that are known and accepted: one `<fixture>/<kernel> <op>
        /// thread N: <reason>` per line (# comments). A listed one that no longer differs is
        /// an error too, so the list stays true.
        #[arg(long, value_name = "FILE", requires = "check")]
        allow: Option<PathBuf>,
    },
}

/// The model behind `kernlings serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServeModel {
    /// The deterministic fake the graders use: instant, tokens read as ` t123`.
    Fake,
    /// SmolLM2-135M-Instruct on the CPU (candle, greedy): real text.
    Smollm2,
    /// SmolLM2-135M-Instruct on a GPU with your rmsnorm_residual, rope, paged_decode, gemv_q4
    /// (decode) and sgemm_2d_blocktile (prompts) kernels, its KV cache paged in the
    /// scheduler's blocks.
    Smollm2Gpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewKind {
    Cuda,
    Rust,
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// List the kept copies, newest first, with how many exercises each has done.
    List,
    /// Make a kept copy the progress state again (the newest, or NAME as `list` shows it);
    /// the state it replaces is kept in turn.
    Restore { name: Option<String> },
}

#[derive(Debug, Clone, Args)]
pub struct Prebuilt {
    /// Use grader binaries built by `kernlings build-graders DIR` for `.rs` exercises.
    #[arg(long, value_name = "DIR")]
    pub prebuilt: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_watch_and_globals_go_anywhere() {
        let cli = Cli::try_parse_from(["kernlings"]).unwrap();
        assert!(cli.command.is_none());
        let cli =
            Cli::try_parse_from(["kernlings", "run", "x", "--seed", "5", "--no-speed"]).unwrap();
        assert_eq!(cli.global.seed, Some(5));
        assert!(cli.global.no_speed);
        assert!(Cli::try_parse_from(["kernlings", "--backend", "tpu"]).is_err());
    }

    #[test]
    fn dev_commands_parse_but_stay_out_of_the_learners_help() {
        let args = [
            "kernlings",
            "dev",
            "parity",
            "run",
            "--fixtures",
            "d",
            "--check",
            "f",
        ];
        assert!(Cli::try_parse_from(args).is_ok());
        let help = Cli::command().render_help().to_string();
        assert!(!help.contains("dev") && !help.contains("parity"), "{help}");
    }

    #[test]
    fn dev_is_not_in_the_learners_help() {
        let help = Cli::command().render_help().to_string();
        assert!(!help.contains("dev"), "{help}");
        let cli = Cli::try_parse_from(["kernlings", "dev", "new", "m/x", "--check", "c"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Dev {
                action: DevAction::New {
                    kind: NewKind::Cuda,
                    ..
                }
            })
        ));
    }
}
