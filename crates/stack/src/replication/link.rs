//! The network between the two regions, as far as replication sees it: a TCP relay on loopback that
//! holds every chunk of bytes for the one-way latency before passing it on, in both directions and in
//! order. The replica's replication connection goes through one, so every replicated change pays the
//! distance between us-east-1 and us-west-1 as an Aurora global database's storage-level
//! replication does. Dropping the link cuts every connection through it at once.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// A relay from a port of its own to `127.0.0.1:target`.
pub struct DelayLink {
    port: u16,
    task: JoinHandle<()>,
}

impl DelayLink {
    /// Listens on a free loopback port; each connection accepted there is joined to a new
    /// connection to `target`, bytes held `one_way` in each direction.
    pub async fn start(target: u16, one_way: Duration) -> Result<Self, String> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("the inter-region link cannot listen: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("the inter-region link's address: {e}"))?
            .port();
        let task = tokio::spawn(async move {
            // Dropped with this task: aborting the link aborts every connection through it.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((inbound, _)) = accepted else { continue };
                        connections.spawn(relay(inbound, target, one_way));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(DelayLink { port, task })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for DelayLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(inbound: TcpStream, target: u16, one_way: Duration) {
    let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    // Either direction ending ends the connection.
    tokio::select! {
        () = delayed_pipe(in_read, out_write, one_way) => {}
        () = delayed_pipe(out_read, in_write, one_way) => {}
    }
}

async fn delayed_pipe(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin + Send + 'static,
    one_way: Duration,
) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = receiver.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if sender
                    .send((Instant::now() + one_way, buffer[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(sender);
    // What was read before the end still arrives, late as everything else.
    let _ = writer.await;
}
