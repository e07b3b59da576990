//! The `chatspace` binary: read the command line; run an operator command, or start logging and
//! serve until stopped.

use clap::Parser;

use chatspace::operator::{self, Cli};
use chatspace::startup::Application;
use chatspace::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli {
        mut config,
        command,
    } = Cli::parse();
    if let Some(command) = command {
        return operator::run(&config, command).await;
    }
    let node_id = config.node_id().to_owned();
    telemetry::init(config.log_format, &node_id);
    let app = Application::build(config).await?;
    app.run_until_stopped().await
}
