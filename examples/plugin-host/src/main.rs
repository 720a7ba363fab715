//! `sessionbox-plugin-host --sessions DIR PLUGIN.wasm [ARGS...]`: runs one
//! command of a plugin component with its sessions in DIR. The secret key
//! comes from `$SESSIONBOX_SECRET_KEY`; the plugin never sees it.

use sessionbox_plugin_host::{Limits, PluginHost};
use std::process::ExitCode;

const USAGE: &str = "usage: SESSIONBOX_SECRET_KEY=... sessionbox-plugin-host --sessions DIR PLUGIN.wasm [ARGS...]";

fn main() -> ExitCode {
    match run() {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("sessionbox-plugin-host: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, plugin, command) = match args.as_slice() {
        [flag, dir, plugin, command @ ..] if flag == "--sessions" => (dir, plugin, command),
        _ => return Err(USAGE.into()),
    };
    let secret = std::env::var("SESSIONBOX_SECRET_KEY").map_err(|e| format!("$SESSIONBOX_SECRET_KEY: {e}\n{USAGE}"))?;
    let sessions = sessionbox::Store::open(dir, sessionbox::Settings::new(secret)).map_err(|e| e.to_string())?;
    let wasm = std::fs::read(plugin).map_err(|e| format!("{plugin}: {e}"))?;
    let host = PluginHost::new(Limits::default()).map_err(|e| format!("{e:#}"))?;
    let plugin = host.load(&wasm, sessions).map_err(|e| format!("{plugin}: {e:#}"))?;
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    host.run(&plugin, &command).map_err(|e| format!("the plugin failed: {e:#}"))?
}
