//! The `coach-plans` binary: everything lives in the library so tests can drive it.

fn main() -> std::process::ExitCode {
    coach_plans_server::main()
}
