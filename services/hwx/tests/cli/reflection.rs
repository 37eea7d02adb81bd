//! Every gRPC port answers reflection in both versions: `v1alpha` (grpcurl 1.8, the one PyPI
//! ships, asks only this one) and `v1`; and, where grpcurl is installed, `grpcurl list` works.

use hwx_testkit::Stack;
use tokio_stream::StreamExt;

/// `list_v1alpha` and `list_v1`: the services a port lists, asked over one reflection version
/// (the two versions are the same messages in two packages).
macro_rules! lister {
    ($name:ident, $version:ident) => {
        async fn $name(url: &str) -> Vec<String> {
            use tonic_reflection::pb::$version::ServerReflectionRequest;
            use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
            use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
            use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
            // The project's one client constructor.
            let mut client =
                ServerReflectionClient::new(hwx_platform::grpc::client(url, None).unwrap());
            let ask = ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            };
            let mut answers = client
                .server_reflection_info(tokio_stream::iter([ask]))
                .await
                .unwrap()
                .into_inner();
            match answers.next().await.unwrap().unwrap().message_response {
                Some(MessageResponse::ListServicesResponse(l)) => {
                    l.service.into_iter().map(|s| s.name).collect()
                }
                other => panic!("not a list of services: {other:?}"),
            }
        }
    };
}

lister!(list_v1alpha, v1alpha);
lister!(list_v1, v1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grpc_port_answers_both_reflection_versions_and_grpcurl_list() {
    let stack = Stack::start(&[&hwx_registration::SERVICE, &hwx_job_feed::SERVICE]).await;
    let grpcurl = std::process::Command::new("grpcurl")
        .arg("-version")
        .output()
        .is_ok();
    for (name, service, other) in [
        (
            "registration",
            "hwx.registration.v1.RegistrationService",
            "hwx.jobfeed.v1.JobFeedService",
        ),
        (
            "job-feed",
            "hwx.jobfeed.v1.JobFeedService",
            "hwx.registration.v1.RegistrationService",
        ),
    ] {
        let url = stack.url(name);
        for listed in [list_v1alpha(&url).await, list_v1(&url).await] {
            assert!(listed.iter().any(|s| s == service), "{name}: {listed:?}");
            // Only what this port serves: another service's contract is not advertised here.
            assert!(!listed.iter().any(|s| s == other), "{name}: {listed:?}");
            assert!(
                listed.iter().any(|s| s == "grpc.health.v1.Health"),
                "{name}: {listed:?}"
            );
        }
        if grpcurl {
            let out = std::process::Command::new("grpcurl")
                .args(["-plaintext", &stack.addr(name).to_string(), "list"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.lines().any(|l| l == service),
                "grpcurl list {name}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            eprintln!("grpcurl is not installed here: checked reflection with a Rust client only");
        }
    }
    stack.stop().await;
}
