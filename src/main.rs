//! The `chatspace` binary: read the configuration, start logging, serve until stopped.

use clap::Parser;

use chatspace::config::Config;
use chatspace::startup::Application;
use chatspace::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = Config::parse();
    let node_id = config.node_id().to_owned();
    telemetry::init(config.log_format, &node_id);
    let app = Application::build(config).await?;
    app.run_until_stopped().await
}
