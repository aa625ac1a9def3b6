//! The command line (docs/contract.md §1). Exit status: 0 success, 2 usage or configuration error,
//! 1 any other failure; each problem is one line on stderr.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::app::{self, StartOptions};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Overrides, ProcessEnv};
use crate::domain::Role;
use crate::domain::plan::{PlanInput, PlanNumberType};
use crate::integrations::mail::{Mailer, OutgoingMail, SmtpMailer};
use crate::integrations::telinta::{Credential, Telinta, TelintaClient, TelintaClientConfig};
use crate::store::{self, Store};
use crate::workflow::{Services, accounts, mail_sender};

#[derive(Parser)]
#[command(
    name = "didport",
    version,
    about = "Phone-number shop and self-care portal for VoIP resellers",
    long_about = "Phone-number shop and self-care portal for VoIP resellers.\n\n\
                  Configuration comes from DIDPORT_* environment variables; see the README.\n\
                  Without a command, didport runs the portal (serve)."
)]
struct Cli {
    /// Database file (env DIDPORT_DB).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8080 or :0 (env DIDPORT_LISTEN).
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default); migrates the database first.
    Serve,
    /// Run a sandbox portal with demo data and simulated upstreams.
    #[cfg(feature = "demo")]
    Demo,
    /// Create or upgrade the database, then exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage plans.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Manage the inventory of numbers for sale.
    Numbers {
        #[command(subcommand)]
        command: NumbersCommand,
    },
    /// Monthly renewals.
    Billing {
        #[command(subcommand)]
        command: BillingCommand,
    },
    /// Write a consistent copy of the live database to DEST.
    Backup {
        dest: PathBuf,
        /// Then open the copy and check its integrity and row counts against the live database.
        #[arg(long)]
        verify: bool,
    },
    /// Print the effective configuration (secrets hidden); exit 2 on problems.
    CheckConfig,
    /// Send one message through the configured SMTP server.
    SendTestEmail { to: String },
    /// Check, read-only, that the configured Telinta and PayPal accept the settings and
    /// allow every call the flows make; one line per check. Exit 0 all ok, 1 any failure,
    /// 2 configuration problems.
    CheckUpstream,
}

#[derive(Subcommand)]
enum BillingCommand {
    /// Run the renewal cycle once, as if today were --as-of; safe to run any number of times.
    Run {
        /// The day to judge every number against, YYYY-MM-DD (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<String>,
        /// Print what would be done and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Turn two-factor sign-in off for a user who lost their device (they can enrol again).
    #[command(name = "reset-2fa")]
    ResetTwoFactor {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Create a plan.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "CENTS")]
        setup_cents: i64,
        #[arg(long, value_name = "CENTS")]
        monthly_cents: i64,
        #[arg(long, default_value = "")]
        description: String,
        /// Which numbers the plan may be bought for.
        #[arg(long, value_enum, default_value = "any")]
        number_type: NumberTypeArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum NumberTypeArg {
    Any,
    Local,
    Tollfree,
}

impl From<NumberTypeArg> for PlanNumberType {
    fn from(a: NumberTypeArg) -> Self {
        match a {
            NumberTypeArg::Any => PlanNumberType::Any,
            NumberTypeArg::Local => PlanNumberType::Local,
            NumberTypeArg::Tollfree => PlanNumberType::TollFree,
        }
    }
}

#[derive(Subcommand)]
enum NumbersCommand {
    /// Import numbers from a CSV file with a header row (number,state,rate_center,type);
    /// `-` reads standard input.
    Import { file: PathBuf },
    /// Pull the free numbers of the Telinta DID inventory into the local inventory.
    Sync,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Customer,
}

/// A failure with its exit status.
enum Fail {
    Usage(Vec<String>),
    Other(String),
}

impl From<store::Error> for Fail {
    fn from(e: store::Error) -> Self {
        Fail::Other(e.to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(lines)) => {
            for l in lines {
                eprintln!("didport: {l}");
            }
            ExitCode::from(2)
        }
        Err(Fail::Other(line)) => {
            eprintln!("didport: {line}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<(), Fail> {
    let over = Overrides {
        db: cli.db.clone(),
        listen: cli.listen.clone(),
    };
    let command = cli.command.unwrap_or(Command::Serve);
    let config = match Config::from_env(&ProcessEnv, &over) {
        Ok(c) => c,
        Err(problems) => {
            if matches!(command, Command::CheckConfig) {
                println!("configuration problems:");
            }
            return Err(Fail::Usage(problems));
        }
    };
    match command {
        Command::Serve => serve(config),
        #[cfg(feature = "demo")]
        Command::Demo => crate::demo::run(config, cli.db.is_some()).map_err(Fail::Other),
        Command::Migrate => {
            let store = Store::open(&config.db, 2)?;
            drop(store);
            println!(
                "{}: schema version {}",
                config.db.display(),
                store::migrate::CURRENT
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    role,
                    name,
                    password_stdin,
                },
        } => user_add(config, &email, role, &name, password_stdin),
        Command::User {
            command: UserCommand::ResetTwoFactor { email },
        } => reset_two_factor(config, &email),
        Command::Plan {
            command:
                PlanCommand::Add {
                    name,
                    setup_cents,
                    monthly_cents,
                    description,
                    number_type,
                },
        } => plan_add(
            config,
            &name,
            &description,
            setup_cents,
            monthly_cents,
            number_type.into(),
        ),
        Command::Numbers {
            command: NumbersCommand::Import { file },
        } => numbers_import(&config, &file),
        Command::Numbers {
            command: NumbersCommand::Sync,
        } => numbers_sync(config),
        Command::Billing {
            command: BillingCommand::Run { as_of, dry_run },
        } => billing_run(config, as_of.as_deref(), dry_run),
        Command::Backup { dest, verify } => {
            if !config.db.exists() {
                return Err(Fail::Other(format!(
                    "no database at {}",
                    config.db.display()
                )));
            }
            let store = Store::open(&config.db, 2)?;
            store.backup_to(&dest)?;
            println!("backed up {} to {}", config.db.display(), dest.display());
            if verify {
                let report = store.verify_copy(&dest)?;
                for t in &report.tables {
                    println!("{:<22} live {:>9}  copy {:>9}", t.name, t.live, t.copy);
                }
                if !report.problems.is_empty() {
                    return Err(Fail::Other(format!(
                        "the copy does not check out: {}",
                        report.problems.join("; ")
                    )));
                }
                println!("verified: integrity ok, every table present with its rows");
            }
            Ok(())
        }
        Command::CheckConfig => {
            for (k, v) in config.describe() {
                println!("{k:<34} {v}");
            }
            // Admins without two-factor sign-in are a warning, not a problem: the portal runs.
            // The database is only read: checking must not create or upgrade it.
            if config.db.exists() {
                let without = store::users::admins_without_totp_in(&config.db)?.unwrap_or_default();
                if !without.is_empty() {
                    println!(
                        "warning: admins without two-factor sign-in (they can turn it on at \
                         /account/2fa; DIDPORT_ADMIN_2FA=required makes them): {}",
                        without.join(", ")
                    );
                }
            }
            if config.db.exists() && !replicated(&config.db) {
                println!(
                    "note: {} is not replicated (no Litestream state beside it): a lost disk \
                     loses every order since the last backup; see \"Replication and restore\" \
                     in the README",
                    config.db.display()
                );
            }
            let problems = config.problems_for_serve();
            if problems.is_empty() {
                println!("configuration OK");
                Ok(())
            } else {
                Err(Fail::Usage(problems))
            }
        }
        Command::SendTestEmail { to } => send_test_email(&config, &to),
        Command::CheckUpstream => check_upstream(config),
    }
}

fn check_upstream(config: Config) -> Result<(), Fail> {
    if config.telinta.is_none() && config.paypal.is_none() {
        return Err(Fail::Usage(vec![
            "neither DIDPORT_TELINTA_URL nor DIDPORT_PAYPAL_CLIENT_ID is set: nothing to check"
                .into(),
        ]));
    }
    let payments = paypal_client(&config)?;
    let store = Store::open(&config.db, 2)?;
    let mut s = services(config, store)?;
    s.payments = payments;
    let report = crate::workflow::upstream::check(&s);
    for line in &report.lines {
        println!("{line}");
    }
    if let Err(e) = crate::workflow::upstream::record(&s, &report) {
        eprintln!("didport: the result could not be stored for the dashboard: {e}");
    }
    if report.ok() {
        println!("upstream OK");
        Ok(())
    } else {
        let failed = report.lines.iter().filter(|l| l.failure.is_some()).count();
        Err(Fail::Other(format!("{failed} upstream check(s) failed")))
    }
}

/// Whether Litestream replicates the database: it keeps its state in a folder beside it
/// (`.<name>-litestream` since Litestream 0.5, `<name>-litestream` before).
fn replicated(db: &std::path::Path) -> bool {
    let (Some(dir), Some(name)) = (db.parent(), db.file_name()) else {
        return false;
    };
    let name = name.to_string_lossy();
    [format!(".{name}-litestream"), format!("{name}-litestream")]
        .iter()
        .any(|d| dir.join(d).is_dir())
}

fn services(config: Config, store: Store) -> Result<Services, Fail> {
    let url = config.public_url(config.listen);
    let telinta = telinta_client(&config)?;
    let run = crate::workflow::runs::Run::begin(&store, SystemClock.now())?;
    Ok(Services {
        run,
        store,
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
        public_url: url,
        mail: mail_sender::Waker::default(),
        telinta,
        payments: None,
    })
}

/// The real Telinta client, when `DIDPORT_TELINTA_URL` is set.
fn telinta_client(config: &Config) -> Result<Option<Arc<dyn Telinta>>, Fail> {
    let Some(t) = &config.telinta else {
        return Ok(None);
    };
    let credential = match (&t.token, &t.password) {
        (Some(token), _) => Credential::Token(token.clone()),
        (None, Some(pw)) => Credential::Password(pw.clone()),
        (None, None) => {
            return Err(Fail::Usage(vec![
                "DIDPORT_TELINTA_PASSWORD or DIDPORT_TELINTA_TOKEN is required".into(),
            ]));
        }
    };
    let mut cfg = TelintaClientConfig::new(t.url.clone(), t.login.clone(), credential);
    cfg.voicemail_url = t.voicemail_url.clone();
    cfg.voicemail_domain = t.voicemail_domain.clone();
    let client = TelintaClient::new(cfg).map_err(|e| Fail::Usage(vec![e.to_string()]))?;
    Ok(Some(Arc::new(client)))
}

/// The real PayPal client, when `DIDPORT_PAYPAL_CLIENT_ID` is set.
fn paypal_client(
    config: &Config,
) -> Result<Option<Arc<dyn crate::integrations::paypal::Payments>>, Fail> {
    let Some(p) = &config.paypal else {
        return Ok(None);
    };
    let mut cfg = crate::integrations::paypal::PayPalClientConfig::new(
        &p.api,
        &p.client_id,
        p.secret.clone(),
    );
    cfg.webhook_id = p.webhook_id.clone();
    let client = crate::integrations::paypal::PayPalClient::new(cfg)
        .map_err(|e| Fail::Usage(vec![e.to_string()]))?;
    Ok(Some(Arc::new(client)))
}

fn numbers_sync(config: Config) -> Result<(), Fail> {
    if config.telinta.is_none() {
        return Err(Fail::Usage(vec![
            "DIDPORT_TELINTA_URL is not set: there is no Telinta to sync with".into(),
        ]));
    }
    let store = Store::open(&config.db, 2)?;
    let s = services(config, store)?;
    let r = crate::workflow::inventory::sync(&s, "command line")
        .map_err(|e| Fail::Other(e.to_string()))?;
    println!(
        "{} numbers free at Telinta: {} added, {} adopted, {} withdrawn, {} frozen skipped",
        r.free_upstream, r.added, r.adopted, r.removed, r.frozen_skipped
    );
    Ok(())
}

fn billing_run(config: Config, as_of: Option<&str>, dry_run: bool) -> Result<(), Fail> {
    use crate::domain::billing::{day_of, format_day, parse_day};
    let today = match as_of {
        Some(d) => parse_day(d).ok_or_else(|| {
            Fail::Usage(vec![format!(
                "--as-of: {d:?} is not a date; write it as YYYY-MM-DD"
            )])
        })?,
        None => day_of(SystemClock.now()),
    };
    if !config.db.exists() {
        return Err(Fail::Other(format!(
            "no database at {}",
            config.db.display()
        )));
    }
    let store = Store::open(&config.db, 2)?;
    let mut s = if dry_run {
        let url = config.public_url(config.listen);
        Services {
            run: crate::workflow::runs::Run::read_only(),
            store,
            clock: Arc::new(SystemClock),
            telinta: None,
            config: Arc::new(config),
            public_url: url,
            mail: mail_sender::Waker::default(),
            payments: None,
        }
    } else {
        services(config, store)?
    };
    if let Some(base) = s.config.base_url.clone() {
        s.public_url = base.trim_end_matches('/').to_string();
    }
    let report = crate::workflow::billing::run(&s, today, dry_run)
        .map_err(|e| Fail::Other(e.to_string()))?;
    for a in &report.actions {
        println!("{}{a}", if dry_run { "would: " } else { "" });
    }
    println!(
        "{} {}: {}",
        if dry_run {
            "dry run for"
        } else {
            "renewals for"
        },
        format_day(today),
        report.summary()
    );
    Ok(())
}

fn serve(config: Config) -> Result<(), Fail> {
    let problems = config.problems_for_serve();
    if !problems.is_empty() {
        return Err(Fail::Usage(problems));
    }
    crate::logging::init_with(&config.log, config.log_format);
    let mailer: Option<Arc<dyn Mailer>> = match &config.smtp {
        Some(s) => Some(Arc::new(SmtpMailer::new(s.clone()).map_err(Fail::Other)?)),
        None => {
            log::warn!("no SMTP server configured (DIDPORT_SMTP_HOST): mail waits in the outbox");
            None
        }
    };
    let mut opts = StartOptions::new(Arc::new(SystemClock));
    opts.mailer = mailer;
    opts.telinta = telinta_client(&config)?;
    opts.payments = paypal_client(&config)?;
    let portal = app::start(config, opts).map_err(Fail::Other)?;
    log::info!(
        "didport {} serving {}",
        env!("CARGO_PKG_VERSION"),
        portal.url
    );
    // SIGTERM (systemctl stop/restart) and SIGINT (Ctrl-C) stop the portal gracefully: no new
    // connections, the requests in flight finish (each bounded by the upstream timeouts), the
    // mail sender finishes the message it is sending, and the process exits 0.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| Fail::Other(format!("cannot watch for signals: {e}")))?;
    }
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    log::info!("stopping: finishing the requests in flight");
    let started = std::time::Instant::now();
    portal.stop();
    log::info!("stopped cleanly in {} ms", started.elapsed().as_millis());
    Ok(())
}

fn reset_two_factor(config: Config, email: &str) -> Result<(), Fail> {
    let email = crate::domain::EmailAddress::parse(email)
        .map_err(|e| Fail::Usage(vec![format!("--email: {e}")]))?;
    let store = Store::open(&config.db, 2)?;
    let s = services(config, store)?;
    if crate::workflow::twofactor::reset(&s, &email).map_err(|e| Fail::Other(e.0))? {
        println!(
            "two-factor sign-in is off for {email}; they can turn it on again at /account/2fa"
        );
        Ok(())
    } else {
        Err(Fail::Other(format!("no user with the email {email}")))
    }
}

fn user_add(
    config: Config,
    email: &str,
    role: RoleArg,
    name: &str,
    password_stdin: bool,
) -> Result<(), Fail> {
    if !password_stdin {
        return Err(Fail::Usage(vec![
            "user add needs --password-stdin: the password is read from standard input, never from the command line".into(),
        ]));
    }
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| Fail::Other(format!("cannot read the password from standard input: {e}")))?;
    let password = password.trim_end_matches(['\r', '\n']);
    let role = match role {
        RoleArg::Admin => Role::Admin,
        RoleArg::Customer => Role::Customer,
    };
    let store = Store::open(&config.db, 2)?;
    let s = services(config, store)?;
    let user = accounts::add_user(&s, email, name, role, password).map_err(Fail::Other)?;
    println!("created {} user {} (id {})", user.role, user.email, user.id);
    Ok(())
}

fn plan_add(
    config: Config,
    name: &str,
    description: &str,
    setup: i64,
    monthly: i64,
    number_type: PlanNumberType,
) -> Result<(), Fail> {
    let plan =
        PlanInput::check(name, description, setup, monthly, number_type).map_err(|errs| {
            Fail::Usage(
                errs.into_iter()
                    .map(|(f, m)| format!("--{}: {m}", f.replace('_', "-")))
                    .collect(),
            )
        })?;
    let store = Store::open(&config.db, 2)?;
    let now = SystemClock.now();
    let id = store
        .write(|tx| {
            store::plans::insert(
                tx,
                &store::plans::NewPlan {
                    name: &plan.name,
                    description: &plan.description,
                    setup_cents: plan.setup_cents,
                    monthly_cents: plan.monthly_cents,
                    number_type: plan.number_type,
                },
                now,
            )
        })
        .map_err(|e| {
            if e.is_constraint() {
                Fail::Other(format!("a plan named {:?} already exists", plan.name))
            } else {
                Fail::from(e)
            }
        })?;
    println!(
        "created plan {:?} (id {id}) for {}",
        plan.name,
        plan.number_type.label().to_lowercase()
    );
    Ok(())
}

fn send_test_email(config: &Config, to: &str) -> Result<(), Fail> {
    let Some(smtp) = &config.smtp else {
        return Err(Fail::Usage(vec![
            "DIDPORT_SMTP_HOST is not set: there is no SMTP server to send through".into(),
        ]));
    };
    let to = crate::domain::EmailAddress::parse(to)
        .map_err(|m| Fail::Usage(vec![format!("{to:?}: {m}")]))?;
    let url = config.public_url(config.listen);
    let mailer = SmtpMailer::new(smtp.clone()).map_err(Fail::Other)?;
    let mail = OutgoingMail {
        from: config.sender(&url),
        to: to.to_string(),
        subject: format!("{}: test message", config.site_name),
        body: format!(
            "This is a test message from {}. If you can read it, email delivery works.\n",
            config.site_name
        ),
        html: None,
        event: "test".into(),
        message_id: format!("test-{}@didport", crate::secure::short_id()),
    };
    mailer
        .send(&mail)
        .map_err(|e| Fail::Other(format!("sending through {} failed: {e}", mailer.describe())))?;
    println!("sent a test message to {to} through {}", mailer.describe());
    Ok(())
}

fn numbers_import(config: &Config, file: &std::path::Path) -> Result<(), Fail> {
    use std::io::IsTerminal;
    let (input, size): (Box<dyn std::io::Read>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| Fail::Other(format!("cannot open {}: {e}", file.display())))?;
        let size = f.metadata().ok().map(|m| m.len());
        (
            Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            size,
        )
    };
    let store = Store::open(&config.db, 2)?;
    let started = std::time::Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut last_shown = 0u64;
    let mut progress = |p: crate::workflow::inventory::Progress| {
        use crate::workflow::inventory::Progress;
        let Some(total) = size.filter(|t| *t > 1_000_000) else {
            return;
        };
        // Reading is the first half of the work, writing the second.
        let (pct, what) = match p {
            Progress::Reading(bytes) => ((bytes * 50 / total.max(1)).min(50), "checking rows"),
            Progress::Writing(done, all) => (50 + done * 50 / all.max(1), "writing"),
        };
        if tty {
            let filled = (pct / 5) as usize;
            eprint!(
                "\r[{}{}] {pct:>3}%  {what}   ",
                "#".repeat(filled),
                ".".repeat(20 - filled)
            );
        } else if pct >= last_shown + 10 {
            last_shown = pct;
            eprintln!("{pct}%  {what}");
        }
    };
    let report =
        crate::workflow::inventory::import_csv(&store, input, SystemClock.now(), &mut progress)
            .map_err(|e| match e {
                crate::workflow::inventory::ImportError::BadFile(m) => {
                    Fail::Other(format!("{}: {m}", file.display()))
                }
                other => Fail::Other(other.to_string()),
            })?;
    if tty && size.is_some_and(|t| t > 1_000_000) {
        eprintln!();
    }
    let now = SystemClock.now();
    store.write(|tx| store::imports::record(tx, &report.as_run(now, "command line", "cli")))?;
    for (line, reason) in &report.problems {
        eprintln!("line {line}: {reason} (skipped)");
    }
    if report.bad > report.problems.len() as u64 {
        eprintln!(
            "… and {} more bad rows",
            report.bad - report.problems.len() as u64
        );
    }
    if !report.ignored_columns.is_empty() {
        eprintln!("ignored columns: {}", report.ignored_columns.join(", "));
    }
    println!(
        "{} added, {} updated, {} unchanged, {} bad rows skipped ({:.1}s)",
        report.added,
        report.updated,
        report.unchanged,
        report.bad,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
