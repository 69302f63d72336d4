//! Published CUDA idioms compile and run: a cooperative-groups version of reduce_warp's
//! solution (tests/fixtures/cooperative_groups/) graded by reduce_warp's own check, in a
//! one-exercise course made from the real curriculum entry. `--backend auto`: on a GPU box it
//! compiles with the toolkit's headers and runs on the GPU, elsewhere with the cached wheels'
//! headers on the CPU backend. Both need include/cccl on NVRTC's include path.

use std::path::Path;
use std::process::Command;

#[test]
fn a_cooperative_groups_reduction_compiles_and_passes_reduce_warps_check() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let curriculum: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo.join("curriculum.toml")).unwrap()).unwrap();
    let pick = |list: &str, key: &str, value: &str| {
        curriculum[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t[key].as_str() == Some(value))
            .unwrap_or_else(|| panic!("curriculum.toml has no {list} with {key} = {value}"))
            .clone()
    };
    let exercise = pick("exercises", "name", "reduce_warp");
    let module = pick("modules", "id", exercise["module"].as_str().unwrap());
    let mut course = toml::Table::new();
    course.insert("format".into(), curriculum["format"].clone());
    course.insert("modules".into(), toml::Value::Array(vec![module]));
    course.insert(
        "exercises".into(),
        toml::Value::Array(vec![exercise.clone()]),
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("curriculum.toml"),
        toml::to_string(&course).unwrap(),
    )
    .unwrap();
    let file = dir
        .path()
        .join("exercises")
        .join(exercise["file"].as_str().unwrap());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::copy(
        repo.join("harness/tests/fixtures/cooperative_groups/reduce_warp.cu"),
        &file,
    )
    .unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_kernlings"))
        .args(["run", "reduce_warp", "--no-speed", "--root"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("running kernlings");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("reduce_warp passed"),
        "the cooperative-groups reduction did not pass (exit {:?}):\n{stdout}\n{stderr}",
        output.status.code()
    );
}
