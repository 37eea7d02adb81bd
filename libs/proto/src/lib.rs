//! `hwx-proto`: the generated contracts of HWX. Nothing here is written by hand but the module
//! tree and the [`Event`] trait; the sources are `proto/hwx/**/v1/*.proto`.

#![allow(
    missing_debug_implementations,
    unused_qualifications,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used
)]

/// The encoded `FileDescriptorSet` of every HWX proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hwx_descriptor.bin"));

pub mod common {
    pub mod v1 {
        tonic::include_proto!("hwx.common.v1");
    }
}
pub mod registration {
    pub mod v1 {
        tonic::include_proto!("hwx.registration.v1");
    }
}
pub mod jobfeed {
    pub mod v1 {
        tonic::include_proto!("hwx.jobfeed.v1");
    }
}
pub mod seekermatching {
    pub mod v1 {
        tonic::include_proto!("hwx.seekermatching.v1");
    }
}
pub mod messaging {
    pub mod v1 {
        tonic::include_proto!("hwx.messaging.v1");
    }
}
pub mod compliance {
    pub mod v1 {
        tonic::include_proto!("hwx.compliance.v1");
    }
}
pub mod reporting {
    pub mod v1 {
        tonic::include_proto!("hwx.reporting.v1");
    }
}
pub mod events {
    pub mod v1 {
        tonic::include_proto!("hwx.events.v1");
    }
}

/// An event message of `hwx.events.v1`: it knows its subject (from its comment in events.proto)
/// and carries an [`events::v1::EventMeta`]. Implemented by the build script for every event.
pub trait Event: prost::Message + Default + Send + Sync + 'static {
    /// `hwx.<service>.<entity>.<fact>`.
    const SUBJECT: &'static str;
    fn meta(&self) -> Option<&events::v1::EventMeta>;
    fn set_meta(&mut self, meta: events::v1::EventMeta);
}

include!(concat!(env!("OUT_DIR"), "/hwx_event_subjects.rs"));
