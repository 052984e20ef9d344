//! Real Redis topologies on loopback for the tests: a 3-master Redis Cluster and a
//! Sentinel-watched master with a replica, each node a `redis-server` in a temporary
//! directory on free ports, every process killed and directory removed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use deadpool_redis::redis;

/// A port nothing listens on now: bound to port 0, then released.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(what: &str) -> PathBuf {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("gatehouse-{what}-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One `redis-server` process.
pub struct RedisNode {
    pub port: u16,
    /// The node's `requirepass`, if any.
    password: Option<&'static str>,
    child: Option<Child>,
    dir: PathBuf,
}

impl RedisNode {
    /// Starts `redis-server` with `args` after the port, bind and no persistence, and
    /// waits until it accepts connections.
    fn start(what: &str, port: u16, args: &[String]) -> Self {
        let dir = temp_dir(what);
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        Self::started(port, child, dir)
    }

    fn started(port: u16, child: Child, dir: PathBuf) -> Self {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis on {port} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            password: None,
            child: Some(child),
            dir,
        }
    }

    pub fn url(&self) -> String {
        match self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// SIGKILL: the node is gone at once, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }
}

impl Drop for RedisNode {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Three masters, no replicas, every slot covered.
pub struct RedisCluster {
    pub nodes: Vec<RedisNode>,
}

impl RedisCluster {
    pub fn start() -> Self {
        let nodes: Vec<RedisNode> = (0..3)
            .map(|_| {
                let args = [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                    "--cluster-port",
                    &free_port().to_string(),
                ]
                .map(str::to_owned);
                RedisNode::start("cluster", free_port(), &args)
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed");
        assert!(
            created.status.success(),
            "cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        let cluster = Self { nodes };
        cluster.wait_until_ok();
        cluster
    }

    /// Every node sees every slot served (`cluster_state:ok`).
    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &self.nodes {
            loop {
                let info = redis::Client::open(node.url())
                    .unwrap()
                    .get_connection()
                    .and_then(|mut c| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut c));
                if info.is_ok_and(|i| i.contains("cluster_state:ok")) {
                    break;
                }
                assert!(Instant::now() < deadline, "the cluster did not form");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// The seed list for `redis.url` in cluster mode: every node, comma-separated.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.nodes.iter().map(RedisNode::url).collect();
        urls.join(",")
    }

    /// One cluster for the tests running now (each uses its own key prefix); it stops when
    /// the last of them lets go, and the next test starts another.
    pub fn shared() -> Arc<Self> {
        static SHARED: Mutex<Weak<RedisCluster>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap();
        if let Some(cluster) = shared.upgrade() {
            return cluster;
        }
        let cluster = Arc::new(Self::start());
        *shared = Arc::downgrade(&cluster);
        cluster
    }
}

/// A master, its replica and three sentinels (quorum 2) watching it as `mymaster`; the
/// master and the replica require [`NODE_PASSWORD`], the sentinels no password.
pub struct RedisSentinels {
    pub master: RedisNode,
    pub replica: RedisNode,
    sentinels: Vec<RedisNode>,
}

pub const MASTER_NAME: &str = "mymaster";
pub const NODE_PASSWORD: &str = "node-secret";

fn with_password(what: &str, args: &[String]) -> RedisNode {
    let auth = [
        "--requirepass",
        NODE_PASSWORD,
        "--masterauth",
        NODE_PASSWORD,
    ]
    .map(str::to_owned);
    let mut node = RedisNode::start(what, free_port(), &[&auth[..], args].concat());
    node.password = Some(NODE_PASSWORD);
    node
}

impl RedisSentinels {
    pub fn start() -> Self {
        let master = with_password("master", &[]);
        let replica_of = ["--replicaof".into(), format!("127.0.0.1 {}", master.port)];
        let replica = with_password("replica", &replica_of);
        let sentinels = (0..3).map(|_| sentinel(master.port)).collect();
        let topology = Self {
            master,
            replica,
            sentinels,
        };
        topology.wait_until_watched();
        topology
    }

    /// The sentinels' URLs, for `redis.url` in sentinel mode.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.sentinels.iter().map(RedisNode::url).collect();
        urls.join(",")
    }

    /// Each sentinel knows the replica and the two other sentinels: a failover can happen.
    fn wait_until_watched(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for sentinel in &self.sentinels {
            loop {
                let fields = sentinel_master(sentinel);
                let count = |k: &str| fields.get(k).and_then(|v| v.parse::<u32>().ok());
                if count("num-slaves") == Some(1) && count("num-other-sentinels") == Some(2) {
                    break;
                }
                assert!(Instant::now() < deadline, "the sentinels did not meet");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// Waits until the replica has every write the master has, then kills the master.
    pub async fn kill_master_after_replication(&mut self) {
        let mut conn = self.master.connection().await;
        // Past the client's default 500 ms: a busy machine may take longer to acknowledge.
        conn.set_response_timeout(Duration::from_secs(10));
        let acked: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(5000)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(acked, 1, "the replica acknowledged the writes");
        self.master.kill();
    }

    /// Waits until the sentinels name the replica master, and it says so itself.
    pub async fn wait_for_failover(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let named = self.sentinels.iter().all(|s| {
                let addr: Option<(String, String)> = redis::Client::open(s.url())
                    .unwrap()
                    .get_connection()
                    .and_then(|mut c| {
                        redis::cmd("SENTINEL")
                            .arg("GET-MASTER-ADDR-BY-NAME")
                            .arg(MASTER_NAME)
                            .query(&mut c)
                    })
                    .ok();
                addr.is_some_and(|(_, port)| port == self.replica.port.to_string())
            });
            let mut conn = self.replica.connection().await;
            let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut conn).await.unwrap();
            let master =
                matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master");
            if named && master {
                return;
            }
            assert!(Instant::now() < deadline, "no failover");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn sentinel(master_port: u16) -> RedisNode {
    let port = free_port();
    let dir = temp_dir("sentinel");
    let config = dir.join("sentinel.conf");
    let text = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\n\
         sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
         sentinel auth-pass {MASTER_NAME} {NODE_PASSWORD}\n\
         sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
         sentinel failover-timeout {MASTER_NAME} 10000\n\
         sentinel parallel-syncs {MASTER_NAME} 1\n",
        dir.display()
    );
    std::fs::write(&config, text).unwrap();
    let child = Command::new("redis-server")
        .arg(&config)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed");
    RedisNode::started(port, child, dir)
}

fn sentinel_master(sentinel: &RedisNode) -> std::collections::HashMap<String, String> {
    redis::Client::open(sentinel.url())
        .unwrap()
        .get_connection()
        .and_then(|mut c| {
            redis::cmd("SENTINEL")
                .arg("MASTER")
                .arg(MASTER_NAME)
                .query(&mut c)
        })
        .unwrap_or_default()
}
