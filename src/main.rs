fn main() -> std::process::ExitCode {
    didport::cli::main()
}
