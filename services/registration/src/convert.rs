//! Between the wire (hwx-proto) and the store's rows. Enums go through their one table in
//! `hwx_platform::codes`; this module has the messages, dates and pages.

use chrono::{DateTime, NaiveDate, Utc};
use hwx_platform::codes::Code;
use hwx_platform::grpc::{self, ServiceError};
use hwx_proto::common::v1 as common;
use hwx_proto::registration::v1 as pb;

use crate::store::{
    AccountRow, ApplicationRow, EnrolmentRow, MandatoryInfo, OrganisationRow, Person, PublicRow,
};

pub fn date(d: NaiveDate) -> Option<common::Date> {
    Some(grpc::date(d))
}

pub fn opt_date(d: Option<NaiveDate>) -> Option<common::Date> {
    d.and_then(date)
}

pub fn from_date(d: Option<&common::Date>, field: &str) -> Result<Option<NaiveDate>, ServiceError> {
    match d {
        None => Ok(None),
        Some(d) if d.year == 0 && d.month == 0 && d.day == 0 => Ok(None),
        Some(d) => grpc::day(d).map(Some).ok_or_else(|| {
            ServiceError::invalid(format!(
                "{field}: {}-{}-{} is not a date",
                d.year, d.month, d.day
            ))
        }),
    }
}

pub fn timestamp(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(grpc::timestamp(t))
}

pub fn account(a: &AccountRow, now: DateTime<Utc>) -> pb::Account {
    pb::Account {
        id: a.id.to_string(),
        email: a.email.clone(),
        role: a.role.to_proto(),
        organisation_id: a.organisation_id.map(|u| u.to_string()).unwrap_or_default(),
        bureau_code: a.bureau_code.clone().unwrap_or_default(),
        locked: a.locked_until.is_some_and(|t| t > now),
        created_at: timestamp(a.created_at),
    }
}

pub fn person(p: &Person) -> pb::ResponsiblePerson {
    pb::ResponsiblePerson {
        name: p.name.clone(),
        contact: p.contact.clone(),
        full_time: p.full_time,
    }
}

pub fn person_in(p: Option<&pb::ResponsiblePerson>) -> Person {
    p.map(|p| Person {
        name: p.name.clone(),
        contact: p.contact.clone(),
        full_time: p.full_time,
    })
    .unwrap_or_default()
}

pub fn mandatory(m: &MandatoryInfo, version: i32) -> pb::MandatoryInfo {
    pb::MandatoryInfo {
        placement_record: m.placement_record.clone(),
        occupations: m.occupations.clone(),
        industries: m.industries.clone(),
        regions: m.regions.clone(),
        seeker_fees: m.seeker_fees.clone(),
        pi_manager_name: m.pi_manager_name.clone(),
        pi_manager_contact: m.pi_manager_contact.clone(),
        contacts: m.contacts.clone(),
        version,
    }
}

pub fn mandatory_in(m: pb::MandatoryInfo) -> MandatoryInfo {
    MandatoryInfo {
        placement_record: m.placement_record,
        occupations: m.occupations,
        industries: m.industries,
        regions: m.regions,
        seeker_fees: m.seeker_fees,
        pi_manager_name: m.pi_manager_name,
        pi_manager_contact: m.pi_manager_contact,
        contacts: m.contacts,
    }
}

pub fn organisation(o: &OrganisationRow, info: Option<(i32, MandatoryInfo)>) -> pb::Organisation {
    pb::Organisation {
        id: o.id.to_string(),
        name: o.name.clone(),
        kind: o.kind.to_proto(),
        school: o.school.map_or(0, Code::to_proto),
        licence_number: o.licence_number.clone(),
        licence_expiry: opt_date(o.licence_expiry),
        address: o.address.clone(),
        prefecture_code: o.prefecture_code.clone(),
        handles_subsidies: o.handles_subsidies,
        certifications: o.certifications.clone(),
        contact_person: Some(person(&o.contact_person)),
        pi_manager: Some(person(&o.pi_manager)),
        mandatory_info: info.map(|(v, m)| mandatory(&m, v)),
        registered_on: date(o.registered_on),
        bureau_email_due: date(o.bureau_email_due),
        bureau_email_sent: o.bureau_email_sent_on.is_some(),
        revoked_on: opt_date(o.revoked_on),
    }
}

pub fn application(a: &ApplicationRow) -> pb::Application {
    pb::Application {
        id: a.id.to_string(),
        organisation_id: a.organisation_id.to_string(),
        service: a.service.to_proto(),
        kind: a.kind.to_proto(),
        status: a.status.to_proto(),
        registered_on: date(a.registered_on),
        submission_deadline: date(a.submission_deadline),
        submitted_on: opt_date(a.submitted_on),
        decided_on: opt_date(a.decided_on),
        decided_by: a.decided_by.map(|u| u.to_string()).unwrap_or_default(),
        decision_note: a.decision_note.clone().unwrap_or_default(),
        regular_placements_3m: a.regular_placements_3m,
    }
}

pub fn enrolment(e: &EnrolmentRow) -> pb::Enrolment {
    pb::Enrolment {
        organisation_id: e.organisation_id.to_string(),
        service: e.service.to_proto(),
        status: e.status.to_proto(),
        valid_from: date(e.valid_from),
        valid_until: date(e.valid_until),
    }
}

pub fn public(o: PublicRow) -> pb::PublicOrganisation {
    pb::PublicOrganisation {
        name: o.name,
        address: o.address,
        licence_number: o.licence_number,
        handles_subsidies: o.handles_subsidies,
        certifications: o.certifications,
        suspended: o.suspended,
    }
}

/// Offset paging: the token is the offset of the next page. `page_size` is 1–500 (0: the
/// default, 50); anything else is refused rather than quietly changed (docs/API.md).
pub fn page(p: Option<&common::PageRequest>) -> Result<(i64, i64), ServiceError> {
    let size = match p.map_or(0, |p| p.page_size) {
        0 => 50,
        n @ 1..=500 => n,
        n => {
            return Err(ServiceError::invalid(format!(
                "page_size {n}: 1 to 500 (50 when left out)"
            )));
        }
    };
    let offset = match p.map(|p| p.page_token.as_str()) {
        None | Some("") => 0,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| ServiceError::invalid("page_token is not one we gave"))?,
    };
    Ok((i64::from(size), offset))
}

/// Rows are fetched one past the page (`size + 1`): the extra row, dropped here, says a next
/// page exists, so the last page carries no token even when it is full.
pub fn next_token<T>(offset: i64, size: i64, rows: &mut Vec<T>) -> String {
    if rows.len() as i64 > size {
        rows.truncate(size as usize);
        (offset + size).to_string()
    } else {
        String::new()
    }
}
