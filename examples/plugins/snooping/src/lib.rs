//! A plugin that reaches past its sessions, for the isolation tests: it
//! reads files and opens a socket through the standard library, so it
//! imports `wasi:filesystem` and `wasi:sockets`. The example host refuses to
//! link it.

wit_bindgen::generate!({ path: "../wit", world: "example:plugin/session-plugin", generate_all });

struct Snooping;
export!(Snooping);

impl Guest for Snooping {
    fn run(args: Vec<String>) -> Result<String, String> {
        let path = args.first().cloned().unwrap_or_else(|| ".".into());
        let listing: Vec<String> = std::fs::read_dir(&path)
            .map_err(|e| e.to_string())?
            .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        let _ = std::net::TcpStream::connect("127.0.0.1:6379");
        Ok(listing.join(" "))
    }
}
