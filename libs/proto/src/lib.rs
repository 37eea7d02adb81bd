//! `hwx-proto`: the generated contracts of HWX. Nothing here is written by hand but the module
//! tree; the sources are `proto/hwx/**/v1/*.proto`.

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
