//! A rendezvous peer on rust-libp2p (`libp2p` 0.57, `libp2p-rendezvous` 0.18) for the cross-implementation
//! matrix of libp2p-rendezvous-discovery. It follows the command-line contract every peer of the matrix follows
//! (test/interop/README.md):
//!
//!   rendezvous-peer server [--listen <multiaddr>] [--lifetime <seconds>]
//!   rendezvous-peer client --point <multiaddr> [--listen <multiaddr>] [--lifetime <seconds>]
//!
//! Both print `{"event":"listening",...}` with their multiaddr once ready. A client then reads one JSON command
//! per line on stdin (`register`, `discover`, `unregister`, `stop`) and prints one JSON line per command. Both
//! exit when stdin closes, on `stop`, or after the lifetime, so that a failed test leaves nothing running.
//!
//! Nothing here changes what the library sends: records are sealed and opened by `libp2p-rendezvous` itself,
//! which is the point of the matrix.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use libp2p::{
    identify, noise, rendezvous,
    swarm::{NetworkBehaviour, SwarmEvent},
    tcp, yamux, Multiaddr, PeerId, Swarm,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long Rust's client gets for one request before the command is reported as failed
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

/// Rust's client emits no event for UNREGISTER (it has no reply): the command waits this long for the request to
/// leave before it reports it sent
const UNREGISTER_SETTLE: Duration = Duration::from_millis(300);

#[derive(NetworkBehaviour)]
struct ServerBehaviour {
    identify: identify::Behaviour,
    rendezvous: rendezvous::server::Behaviour,
}

#[derive(NetworkBehaviour)]
struct ClientBehaviour {
    identify: identify::Behaviour,
    rendezvous: rendezvous::client::Behaviour,
}

struct Args {
    mode: String,
    listen: Multiaddr,
    point: Option<Multiaddr>,
    lifetime: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: rendezvous-peer server|client [--point <multiaddr>] [--listen <multiaddr>] [--lifetime <s>]")?;
    let mut listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
    let mut point = None;
    let mut lifetime = Duration::from_secs(300);

    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.trim_start_matches('-') {
            "listen" => listen = value.parse().map_err(|e| format!("bad --listen: {e}"))?,
            "point" => point = Some(value.parse().map_err(|e| format!("bad --point: {e}"))?),
            "lifetime" => lifetime = Duration::from_secs(value.parse().map_err(|e| format!("bad --lifetime: {e}"))?),
            other => return Err(format!("unknown flag --{other}")),
        }
    }

    if mode != "server" && mode != "client" {
        return Err(format!("mode must be server or client, got {mode}"));
    }
    if mode == "client" && point.is_none() {
        return Err("client mode needs --point <multiaddr ending in /p2p/<id>>".into());
    }

    Ok(Args { mode, listen, point, lifetime })
}

fn print(value: Value) {
    println!("{value}");
}

fn identify_config(key: &libp2p::identity::Keypair) -> identify::Config {
    // the agent version stays the library's default, `rust-libp2p/<version>`: servers may recognise it
    identify::Config::new("/ipfs/id/1.0.0".to_string(), key.public())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err("odd-length hex".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// The wire name of a status, as every peer of the matrix reports it
fn status_name(code: rendezvous::ErrorCode) -> &'static str {
    use rendezvous::ErrorCode::*;
    match code {
        InvalidNamespace => "E_INVALID_NAMESPACE",
        InvalidSignedPeerRecord => "E_INVALID_SIGNED_PEER_RECORD",
        InvalidTtl => "E_INVALID_TTL",
        InvalidCookie => "E_INVALID_COOKIE",
        NotAuthorized => "E_NOT_AUTHORIZED",
        InternalError => "E_INTERNAL_ERROR",
        Unavailable => "E_UNAVAILABLE",
    }
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("rendezvous-peer: {e}");
            std::process::exit(2);
        }
    };

    let result = if args.mode == "server" { run_server(args).await } else { run_client(args).await };

    if let Err(e) = result {
        eprintln!("rendezvous-peer: {e}");
        std::process::exit(1);
    }
}

async fn run_server(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
        .with_behaviour(|key| ServerBehaviour {
            identify: identify::Behaviour::new(identify_config(key)),
            rendezvous: rendezvous::server::Behaviour::new(rendezvous::server::Config::default()),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();

    swarm.listen_on(args.listen)?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let deadline = tokio::time::sleep(args.lifetime);
    tokio::pin!(deadline);

    loop {
        tokio::select! {
            _ = &mut deadline => return Ok(()),
            line = stdin.next_line() => match line {
                Ok(Some(text)) if text.contains("\"stop\"") => return Ok(()),
                Ok(Some(_)) => {}
                _ => return Ok(()),
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    let full = address.with(libp2p::multiaddr::Protocol::P2p(*swarm.local_peer_id()));
                    print(json!({ "event": "listening", "peerId": swarm.local_peer_id().to_string(), "multiaddr": full.to_string() }));
                }
                SwarmEvent::Behaviour(ServerBehaviourEvent::Rendezvous(event)) => {
                    eprintln!("server: {event:?}");
                }
                _ => {}
            }
        }
    }
}

/// A command read from stdin and what it is waiting for
struct Pending {
    id: Value,
    op: String,
    deadline: tokio::time::Instant,
}

async fn run_client(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let point_addr = args.point.clone().unwrap();
    let point = peer_of(&point_addr).ok_or("--point must end with /p2p/<peer id>")?;

    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
        .with_behaviour(|key| ClientBehaviour {
            identify: identify::Behaviour::new(identify_config(key)),
            rendezvous: rendezvous::client::Behaviour::new(key.clone()),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();

    swarm.listen_on(args.listen)?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let lifetime = tokio::time::sleep(args.lifetime);
    tokio::pin!(lifetime);

    let mut listening: Option<Multiaddr> = None;
    let mut connected = false;
    let mut announced = false;
    let mut queue: VecDeque<Value> = VecDeque::new();
    let mut pending: Option<Pending> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));

    loop {
        if !announced && connected {
            if let Some(addr) = &listening {
                let full = addr.clone().with(libp2p::multiaddr::Protocol::P2p(*swarm.local_peer_id()));
                print(json!({ "event": "listening", "peerId": swarm.local_peer_id().to_string(), "multiaddr": full.to_string() }));
                announced = true;
            }
        }

        if announced && pending.is_none() {
            if let Some(command) = queue.pop_front() {
                pending = start_command(&mut swarm, point, command).await;
            }
        }

        tokio::select! {
            _ = &mut lifetime => return Ok(()),
            _ = tick.tick() => {
                if let Some(p) = &pending {
                    if tokio::time::Instant::now() > p.deadline {
                        print(json!({ "id": p.id, "op": p.op, "ok": false, "error": "timeout: no answer from the point" }));
                        pending = None;
                    }
                }
            }
            line = stdin.next_line() => match line {
                Ok(Some(text)) if text.trim().is_empty() => {}
                Ok(Some(text)) => match serde_json::from_str::<Value>(&text) {
                    Ok(command) if command["op"] == "stop" => return Ok(()),
                    Ok(command) => queue.push_back(command),
                    Err(e) => print(json!({ "ok": false, "error": format!("bad command: {e}") })),
                },
                _ => return Ok(()),
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    // Rust registers only external addresses: the loopback listen address is the one to reach us at
                    swarm.add_external_address(address.clone());
                    listening = Some(address);
                    if !connected {
                        swarm.dial(point_addr.clone())?;
                    }
                }
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == point => connected = true,
                SwarmEvent::OutgoingConnectionError { peer_id: Some(peer_id), error, .. } if peer_id == point => {
                    return Err(format!("cannot reach the point: {error}").into());
                }
                SwarmEvent::Behaviour(ClientBehaviourEvent::Rendezvous(event)) => {
                    if let Some(p) = pending.take() {
                        match finish_command(&p, event) {
                            Some(line) => print(line),
                            None => pending = Some(p),
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Sends the request of a command; `None` when the command finished at once (an error, or UNREGISTER)
async fn start_command(swarm: &mut Swarm<ClientBehaviour>, point: PeerId, command: Value) -> Option<Pending> {
    let id = command["id"].clone();
    let op = command["op"].as_str().unwrap_or("").to_string();
    let fail = |error: String| {
        print(json!({ "id": id, "op": op, "ok": false, "error": error }));
        None
    };
    let namespace = match command["ns"].as_str() {
        None => None,
        Some(ns) => match rendezvous::Namespace::new(ns.to_string()) {
            Ok(ns) => Some(ns),
            Err(e) => return fail(format!("bad namespace: {e}")),
        },
    };
    let deadline = tokio::time::Instant::now() + COMMAND_TIMEOUT;

    match op.as_str() {
        "register" => {
            let Some(ns) = namespace else { return fail("register needs ns".into()) };
            let ttl = command["ttl"].as_u64();
            if let Err(e) = swarm.behaviour_mut().rendezvous.register(ns, point, ttl) {
                return fail(format!("{e}"));
            }
        }
        "unregister" => {
            let Some(ns) = namespace else { return fail("unregister needs ns".into()) };
            swarm.behaviour_mut().rendezvous.unregister(ns, point);
            // no reply and no event: let the request leave, driving the swarm meanwhile
            let settle = tokio::time::sleep(UNREGISTER_SETTLE);
            tokio::pin!(settle);
            loop {
                tokio::select! {
                    _ = &mut settle => break,
                    _ = swarm.select_next_some() => {}
                }
            }
            print(json!({ "id": id, "op": op, "ok": true }));
            return None;
        }
        "discover" => {
            let cookie = match command["cookie"].as_str() {
                None | Some("") => None,
                Some(text) => match unhex(text).ok().and_then(|bytes| rendezvous::Cookie::from_wire_encoding(bytes).ok()) {
                    Some(cookie) => Some(cookie),
                    None => return fail("the cookie is not one Rust's client can send (it needs 8 bytes and a UTF-8 namespace)".into()),
                },
            };
            let limit = command["limit"].as_u64();
            swarm.behaviour_mut().rendezvous.discover(namespace, cookie, limit, point);
        }
        other => return fail(format!("rust client has no command {other}")),
    }

    Some(Pending { id, op, deadline })
}

/// The line that ends a pending command, or `None` when the event is not about it
fn finish_command(p: &Pending, event: rendezvous::client::Event) -> Option<Value> {
    use rendezvous::client::Event::*;
    match (p.op.as_str(), event) {
        ("register", Registered { ttl, .. }) => Some(json!({ "id": p.id, "op": p.op, "ok": true, "ttl": ttl })),
        ("register", RegisterFailed { error, .. }) => Some(json!({ "id": p.id, "op": p.op, "ok": false, "error": status_name(error) })),
        ("discover", Discovered { registrations, cookie, .. }) => {
            let registrations: Vec<Value> = registrations
                .iter()
                .map(|r| json!({
                    "peerId": r.record.peer_id().to_string(),
                    "ns": r.namespace.to_string(),
                    "ttl": r.ttl,
                    "addrs": r.record.addresses().iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                }))
                .collect();
            Some(json!({ "id": p.id, "op": p.op, "ok": true, "registrations": registrations, "cookie": hex(&cookie.into_wire_encoding()) }))
        }
        // an undecodable response and a dropped stream both end here, as Unavailable
        ("discover", DiscoverFailed { error, .. }) => Some(json!({ "id": p.id, "op": p.op, "ok": false, "error": status_name(error) })),
        _ => None,
    }
}
