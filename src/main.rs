fn main() -> std::process::ExitCode {
    sls::cli::run(std::env::args_os())
}
