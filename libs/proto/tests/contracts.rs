//! The compiled contracts hold every service and event the architecture names.

#![allow(clippy::unwrap_used)]

use prost::Message;
use prost_types::FileDescriptorSet;

fn set() -> FileDescriptorSet {
    FileDescriptorSet::decode(hwx_proto::FILE_DESCRIPTOR_SET).unwrap()
}

#[test]
fn every_service_is_in_the_descriptor_set() {
    let services: Vec<String> = set()
        .file
        .iter()
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect();
    for expected in [
        "hwx.registration.v1.RegistrationService",
        "hwx.jobfeed.v1.JobFeedService",
        "hwx.seekermatching.v1.SeekerMatchingService",
        "hwx.messaging.v1.MessagingService",
        "hwx.compliance.v1.ComplianceService",
        "hwx.reporting.v1.ReportingService",
    ] {
        assert!(
            services.iter().any(|s| s == expected),
            "{expected} missing from {services:?}"
        );
    }
}

#[test]
fn every_event_of_the_design_has_a_message() {
    let events: Vec<String> = set()
        .file
        .iter()
        .filter(|f| f.package() == "hwx.events.v1")
        .flat_map(|f| f.message_type.iter().map(|m| m.name().to_owned()))
        .collect();
    for expected in [
        "OrgRegistered",
        "OrgApproved",
        "MandatoryInfoChanged",
        "EnrolmentEnded",
        "AccountLocked",
        "PostingPublished",
        "PostingWithdrawn",
        "SeekerAcquired",
        "AcquisitionAccepted",
        "DeletionRequested",
        "MessageSent",
        "ConversationBlocked",
        "PromotionFlagged",
        "SanctionImposed",
        "SanctionLifted",
        "DeletionOrdered",
        "ReportFiled",
        "ReportOverdue",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "event {expected} missing"
        );
    }
    // Every event but the envelope carries the meta block (event id = Nats-Msg-Id).
    for f in set().file.iter().filter(|f| f.package() == "hwx.events.v1") {
        for m in f.message_type.iter().filter(|m| m.name() != "EventMeta") {
            assert_eq!(
                m.field.first().map(|x| x.name()),
                Some("meta"),
                "{} has no meta first",
                m.name()
            );
        }
    }
}

#[test]
fn generated_types_round_trip() {
    use hwx_proto::registration::v1::{Application, ApplicationStatus};
    let a = Application {
        id: "a1".into(),
        status: ApplicationStatus::Submitted as i32,
        ..Default::default()
    };
    let back = Application::decode(a.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back, a);
}
