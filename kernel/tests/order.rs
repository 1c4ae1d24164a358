//! The kernel over real ZeroMQ (ipc sockets, a signing key), driven by a Rust client built on
//! the `zeromq` crate, a ZMTP implementation independent of the kernel's own (`azq-zmtp`):
//! the message order busy → execute_input → outputs → reply → idle.

use std::time::Duration;

use azq_kernel::wire::Signer;
use jupyter_protocol::{
    ConnectionInfo, ExecuteRequest, JupyterMessageContent, KernelInfoRequest, Transport,
};
use zeromq::{DealerSocket, Socket, SocketRecv, SocketSend, SubSocket, ZmqMessage};

fn connection(dir: &std::path::Path) -> ConnectionInfo {
    serde_json::from_value(serde_json::json!({
        "ip": dir.join("k").to_str().unwrap(),
        "transport": "ipc",
        "shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
        "key": "a-test-key",
        "signature_scheme": "hmac-sha256",
    }))
    .unwrap()
}

struct Client {
    signer: Signer,
    shell: DealerSocket,
    iopub: SubSocket,
}

impl Client {
    async fn connect(info: &ConnectionInfo) -> Client {
        assert!(matches!(info.transport, Transport::IPC));
        let mut iopub = SubSocket::new();
        iopub.subscribe("").await.unwrap();
        let mut shell = DealerSocket::new();
        // The kernel binds; retry until its sockets exist.
        for _ in 0..200 {
            if iopub.connect(&info.iopub_url()).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        shell.connect(&info.shell_url()).await.unwrap();
        Client {
            signer: Signer::new(&info.key, "client".into()),
            shell,
            iopub,
        }
    }

    async fn send(&mut self, content: JupyterMessageContent) -> String {
        let message = self.signer.encode(&[], None, &content);
        let header: serde_json::Value = serde_json::from_slice(&message[2][..]).unwrap();
        let message = ZmqMessage::try_from(message).unwrap();
        self.shell.send(message).await.unwrap();
        header["msg_id"].as_str().unwrap().to_owned()
    }

    /// IOPub message types whose parent is `msg_id`, through its idle.
    async fn iopub_for(&mut self, msg_id: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.iopub.recv())
                .await
                .expect("iopub message in time")
                .unwrap();
            let frames = message.clone().into_vec();
            let delimiter = frames
                .iter()
                .position(|f| f.as_ref() == b"<IDS|MSG>")
                .unwrap();
            let parent: serde_json::Value = serde_json::from_slice(&frames[delimiter + 3]).unwrap();
            let request = self
                .signer
                .decode(message.into_vec())
                .expect("kernel messages are signed");
            if parent["msg_id"] != msg_id {
                continue;
            }
            let kind = match request.content.unwrap() {
                JupyterMessageContent::Status(s) => {
                    format!("status:{:?}", s.execution_state).to_lowercase()
                }
                other => other.message_type().to_owned(),
            };
            seen.push(kind);
            if seen.last().is_some_and(|k| k == "status:idle") {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_message_order_over_real_zeromq() {
    let dir = std::env::temp_dir().join(format!("azq-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let info = connection(&dir);
    tokio::spawn(azq_kernel::run(info.clone()));
    let mut client = Client::connect(&info).await;

    // Until IOPub is seen, re-send kernel_info, as every real front end does.
    let mut ready = false;
    for _ in 0..50 {
        client.send(KernelInfoRequest {}.into()).await;
        let reply = tokio::time::timeout(Duration::from_secs(5), client.shell.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            client.signer.decode(reply.into_vec()).unwrap().content,
            Ok(JupyterMessageContent::KernelInfoReply(_))
        ));
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(100), client.iopub.recv()).await
        {
            ready = true;
            break;
        }
    }
    assert!(ready, "no IOPub message ever arrived");
    // Drain what start-up published.
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(200), client.iopub.recv()).await
    {}

    let msg_id = client
        .send(ExecuteRequest::new("%env AZQ_ORDER=1\n%env AZQ_ORDER".into()).into())
        .await;
    let reply = tokio::time::timeout(Duration::from_secs(10), client.shell.recv())
        .await
        .unwrap()
        .unwrap();
    let reply = client.signer.decode(reply.into_vec()).unwrap();
    let Ok(JupyterMessageContent::ExecuteReply(reply)) = reply.content else {
        panic!("expected an execute_reply");
    };
    assert_eq!(serde_json::to_value(&reply.status).unwrap(), "ok");
    assert_eq!(
        client.iopub_for(&msg_id).await,
        [
            "status:busy",
            "execute_input",
            "stream",
            "execute_result",
            "status:idle"
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}
