"""A minimal Django site whose login the browser tests share with the Rust
app: same SECRET_KEY, same session directory, same `sessionid` cookie."""
