//! A real SMTP server on 127.0.0.1:0, speaking just enough of RFC 5321 for lettre: it records
//! every message it accepts, and can refuse transactions (451 to `MAIL FROM`) at run time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A message as it arrived: the envelope and the DATA, dot-stuffing undone.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
struct State {
    /// Transactions still to refuse; `u32::MAX` refuses for good.
    refuse: AtomicU32,
    /// `MAIL FROM` commands seen, refused or not: one per delivery attempt.
    attempts: AtomicU32,
    received: Mutex<Vec<Received>>,
    /// `AUTH PLAIN` responses, decoded: `\0user\0password`.
    logins: Mutex<Vec<String>>,
}

pub struct SmtpServer {
    pub port: u16,
    /// In every refusal, so a test finds its own server's refusals in shared logs.
    pub token: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let state = Arc::new(State::default());
        let (shared, refusal) = (state.clone(), format!("451 4.3.0 busy {token}\r\n"));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, shared.clone(), refusal.clone()));
            }
        });
        Self {
            port,
            token,
            state,
            task,
        }
    }

    /// Refuses the next `n` transactions (`u32::MAX`: all of them), then accepts again.
    pub fn refuse_next(&self, n: u32) {
        self.state.refuse.store(n, Ordering::SeqCst);
    }

    pub fn attempts(&self) -> u32 {
        self.state.attempts.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn logins(&self) -> Vec<String> {
        self.state.logins.lock().unwrap().clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes one refusal if any are left.
fn refuses(state: &State) -> bool {
    let take = |n: u32| match n {
        0 => None,
        u32::MAX => Some(u32::MAX),
        n => Some(n - 1),
    };
    state
        .refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, take)
        .is_ok()
}

/// One client connection, command by command, until QUIT or a closed socket.
async fn converse(stream: TcpStream, state: Arc<State>, refusal: String) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut envelope = Received {
        from: String::new(),
        to: Vec::new(),
        data: String::new(),
    };
    let _ = write.write_all(b"220 test.localhost ESMTP\r\n").await;
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" => "250-test.localhost\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n".to_owned(),
            "AUTH" => {
                state.logins.lock().unwrap().push(plain_login(&line));
                "235 2.7.0 accepted\r\n".to_owned()
            }
            "HELO" | "RSET" | "NOOP" => "250 OK\r\n".to_owned(),
            "MAIL" => {
                state.attempts.fetch_add(1, Ordering::SeqCst);
                if refuses(&state) {
                    refusal.clone()
                } else {
                    envelope.from = line.get(10..).unwrap_or("").to_owned();
                    envelope.to.clear();
                    "250 OK\r\n".to_owned()
                }
            }
            "RCPT" => {
                envelope.to.push(line.get(8..).unwrap_or("").to_owned());
                "250 OK\r\n".to_owned()
            }
            "DATA" => {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                envelope.data = read_data(&mut lines).await;
                state.received.lock().unwrap().push(envelope.clone());
                "250 OK queued\r\n".to_owned()
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => "502 not implemented\r\n".to_owned(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// `AUTH PLAIN <base64>` (RFC 4616), decoded.
fn plain_login(line: &str) -> String {
    use base64::Engine;
    let encoded = line.rsplit(' ').next().unwrap_or("");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap_or_default();
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The lines up to the lone `.`, with the leading dot of a stuffed line removed (RFC 5321
/// §4.5.2).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut tokio::io::Lines<R>) -> String {
    let mut data = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if line == "." {
            break;
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
        data.push_str("\r\n");
    }
    data
}
