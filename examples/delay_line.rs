//! A TCP relay that holds every chunk for a fixed time in each direction, for benchmarks where the
//! kernel has no `netem` qdisc: `delay_line LISTEN TARGET DELAY_MS` forwards each connection to
//! LISTEN to TARGET, and a byte read at time t is written at t + DELAY_MS (bandwidth is not
//! limited; chunks queue as they would on a long link).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// One read's worth of bytes on the line.
const CHUNK: usize = 256 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, target, delay] = args.as_slice() else {
        eprintln!("usage: delay_line LISTEN_ADDR:PORT TARGET_ADDR:PORT DELAY_MS");
        std::process::exit(2);
    };
    let delay = Duration::from_millis(delay.parse().unwrap_or_else(|_| {
        eprintln!("DELAY_MS must be a number of milliseconds, got {delay:?}");
        std::process::exit(2)
    }));
    let listener = TcpListener::bind(listen).unwrap_or_else(|e| {
        eprintln!("cannot listen on {listen}: {e}");
        std::process::exit(1)
    });
    for client in listener.incoming().flatten() {
        let Ok(server) = TcpStream::connect(target) else { continue };
        for stream in [&client, &server] {
            let _ = stream.set_nodelay(true);
        }
        let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else { continue };
        relay(client, server, delay);
        relay(server2, client2, delay);
    }
}

/// Copies `from` to `to`, each chunk held until `delay` after it was read.
fn relay(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buf = vec![0u8; CHUNK];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    thread::spawn(move || {
        for (due, bytes) in rx {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
